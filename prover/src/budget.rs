//! Memory estimates, checked against a budget before keys or proofs are
//! built: a shard too large for the machine is refused with a clear error
//! instead of being killed by the operating system half-way.
//!
//! halo2 keeps, per committed column, its values, its coefficients and
//! its evaluations on the extended domain (`2^(k + e)` points with `2^e` ≥
//! the constraint degree − 1): fixed and permutation columns in the proving
//! key, advice columns while proving; each lookup adds about five columns
//! (permuted input and table, their products). The estimate is that count
//! times 32-byte field elements, plus the process's own base.

use crate::error::{ProveError, Step};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::ConstraintSystem;

/// What a process needs besides the circuit (code, SRS prefix, buffers).
const BASE_BYTES: u64 = 16 << 20;

/// Estimated peak memory, in bytes, to generate keys for or prove a circuit
/// of `2^k` rows with constraint system `cs`.
pub fn memory_estimate(cs: &ConstraintSystem<Fr>, k: u32) -> u64 {
    let degree = cs.degree().max(3) as u64;
    // extended domain: the smallest power of two >= degree - 1
    let ext = (degree - 1).next_power_of_two();
    let columns = cs.num_advice_columns()
        + cs.num_fixed_columns()
        + cs.num_selectors()
        + cs.num_instance_columns()
        + cs.permutation().get_columns().len()
        + 5 * cs.lookups().len();
    let per_column = (2 + ext) << k; // values, coefficients, extended evaluations
    BASE_BYTES + 32 * per_column * columns as u64
}

/// Parses a size: bytes, or a number with K, M, G or T (powers of 1024;
/// `KiB`/`KB` spellings accepted), e.g. `512M`, `8G`, `1.5GiB`.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1u64,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return None,
    };
    let v = n * mult as f64;
    (v < u64::MAX as f64).then_some(v as u64)
}

/// Bytes as a short human string (`1.5 GiB`).
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GiB", b / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MiB", (b / (1u64 << 20) as f64).ceil())
    }
}

/// The default budget: `$ZKINF_MEMORY_BUDGET` if set, else 90% of the
/// machine's memory (Linux `/proc/meminfo`), else none.
pub fn default_budget() -> Result<Option<u64>, ProveError> {
    if let Ok(v) = std::env::var("ZKINF_MEMORY_BUDGET") {
        return parse_size(&v).map(Some).ok_or(ProveError::BudgetEnv(v));
    }
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
    });
    Ok(total.map(|kib| kib * 1024 / 10 * 9))
}

/// The budget for `--memory-budget ARG`, else the default.
pub fn memory_budget(arg: Option<&str>) -> Result<Option<u64>, ProveError> {
    match arg {
        Some(a) => parse_size(a)
            .map(Some)
            .ok_or_else(|| ProveError::BudgetArg(a.to_string())),
        None => default_budget(),
    }
}

/// Refuses shard `shard` (of `2^k` rows) when its estimated memory for
/// `step` exceeds the budget.
pub fn check(
    step: Step,
    shard: usize,
    k: u32,
    estimate: u64,
    budget: Option<u64>,
) -> Result<(), ProveError> {
    match budget {
        Some(b) if estimate > b => Err(ProveError::MemoryBudget {
            shard,
            k,
            step,
            need: estimate,
            budget: b,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("2 kb"), Some(2048));
        for bad in ["", "G", "-1G", "8X", "1e3", "nan"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(human(3 << 29), "1.5 GiB");
        assert_eq!(human(12 << 20), "12 MiB");
    }
}

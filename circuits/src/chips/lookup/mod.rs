//! Table lookups `y = table[x - in_lo]` (sigmoid, tanh, softmax's
//! exponentials, ... precomputed by the compiler) on the range chip's lane
//! 0: every `(FUNCTION_TAGS + tag, x, y)` row must appear in the one
//! table that holds the limb entries and the entries of every function of
//! the circuit, each under its own tag ([`RangeConfig::load_tables`]). A
//! function row's tag and `next` coefficient are fixed, so its input cell
//! cannot pass as a limb, nor a limb row's output (0 on every limb entry)
//! as a function value.

#[cfg(test)]
pub(crate) mod tests;

use crate::chips::poseidon::Wire;
use crate::chips::range::RangeConfig;
use crate::field::fe;
use halo2_proofs::circuit::Region;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed};

#[derive(Clone, Debug)]
pub struct LookupConfig {
    /// lane 0 of these range lanes holds the lookups (it has an output
    /// column)
    pub range: RangeConfig,
}

impl LookupConfig {
    /// A one-lane range chip over `z`, `next` with the output column `out`
    /// (a circuit without other range checks).
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        z: Column<Advice>,
        next: Column<Fixed>,
        out: Column<Advice>,
    ) -> LookupConfig {
        LookupConfig {
            range: RangeConfig::configure_lanes_with_output(meta, &[(z, next)], Some(out)),
        }
    }

    /// Looks up each input wire (with its integer value) in table `tag`
    /// (loaded with [`RangeConfig::load_tables`]) in lane 0's rows from
    /// `offset`; `forge` replaces an output (tests). Returns the outputs.
    #[allow(clippy::too_many_arguments)]
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        tag: u64,
        in_lo: i64,
        table: &[i64],
        xs: &[(Wire, i64)],
        forge: Option<(usize, i64)>,
    ) -> Result<Vec<Wire>, Error> {
        let mut ys = Vec::with_capacity(xs.len());
        for (i, (w, x)) in xs.iter().enumerate() {
            let idx = (*x as i128 - in_lo as i128).clamp(0, table.len().saturating_sub(1) as i128)
                as usize;
            let y = match forge {
                Some((k, v)) if k == i => v,
                _ => table.get(idx).copied().unwrap_or(0),
            };
            let value = w.value.map(|_| fe(y as i128));
            ys.push(self.range.lookup_row(region, offset + i, tag, w, value)?);
        }
        Ok(ys)
    }
}

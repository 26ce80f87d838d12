//! `zkinf compile`: an ONNX model compiled (lowered, quantized, cut into
//! shards: `zkinf_compiler`) and written as a compiled folder (`plan.bin`,
//! `report.json`, `shards.json`), atomically.

use crate::error::ProveError;
use crate::folder::{write_dir_atomic, PLAN_FILE, REPORT_FILE, SHARDS_FILE};
use std::path::Path;
use zkinf_compiler::{compile_file, CompileOptions, Compiled};

/// Compiles `model` into the folder `out`, refusing (and writing nothing)
/// a model of more than `max_rows` constraint rows in all.
pub fn compile_to_folder(
    model: &Path,
    opts: &CompileOptions,
    max_rows: u64,
    out: &Path,
) -> Result<Compiled, ProveError> {
    let compiled = compile_file(model, opts)?;
    let report = &compiled.report;
    if let Some(rows) = report.total_rows.filter(|&r| r as u64 > max_rows) {
        return Err(ProveError::TooManyRows {
            rows: rows as u64,
            max: max_rows,
        });
    }
    write_dir_atomic(
        out,
        &[
            (PLAN_FILE, compiled.plan.to_bytes()),
            (REPORT_FILE, pretty(report)),
            (SHARDS_FILE, pretty(&report.shards)),
        ],
    )?;
    Ok(compiled)
}

fn pretty(v: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap_or_default()
}

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
    let json = |v: &dyn erased::Json| v.to_json();
    write_dir_atomic(
        out,
        &[
            (PLAN_FILE, compiled.plan.to_bytes()),
            (REPORT_FILE, json(report)),
            (SHARDS_FILE, json(&report.shards)),
        ],
    )?;
    Ok(compiled)
}

mod erased {
    /// Pretty JSON of a serializable value.
    pub trait Json {
        fn to_json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec_pretty(self).unwrap_or_default()
        }
    }
}

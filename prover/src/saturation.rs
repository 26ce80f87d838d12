//! Saturation is never silent: a value outside the range its tensor was
//! calibrated on is clamped by the plan (the proof is then of another
//! answer than the float model's). The compile report lists the bounds that
//! end a calibrated range (`report.json`'s `saturation`); a run counts the
//! values each such bound clamped by more than one step (less is rounding
//! at the range's edge), per tensor, and `--strict` refuses any.

use crate::error::ProveError;
use crate::folder::Folder;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zkinf_circuits::{clamped, input_clamped, CheckedPlan, Op, Trace};
use zkinf_compiler::SatBound;

/// Steps beyond a bound a value may be rounded to and still count as
/// inside its range: a real value at the calibrated edge can round one step
/// past it (that clamp changes it by less than one step, as rounding does).
pub const SLACK: i64 = 1;

/// Values of one tensor clamped outside its calibrated range in one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clamped {
    /// the plan node's name (the ONNX node, or the graph input)
    pub tensor: String,
    pub node: u32,
    /// how many values fell below / above the range
    pub below: usize,
    pub above: usize,
}

impl Clamped {
    pub fn count(&self) -> usize {
        self.below + self.above
    }
}

/// The saturation bounds of a compiled folder (none for a folder compiled
/// before they were recorded, or for an int8 model that has none).
pub fn saturation_bounds(folder: &Folder) -> Result<Vec<SatBound>, ProveError> {
    #[derive(Deserialize)]
    struct Partial {
        #[serde(default)]
        saturation: Vec<SatBound>,
    }
    let path = folder.report_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(ProveError::read(&path, e)),
    };
    let partial: Partial =
        serde_json::from_str(&text).map_err(|source| ProveError::ReportFile { path, source })?;
    Ok(partial.saturation)
}

/// The values each saturation bound clamped in the run `trace` of the raw
/// (float) inputs `raw`; only tensors with at least one.
pub fn count_clamped(
    plan: &CheckedPlan,
    bounds: &[SatBound],
    raw: &BTreeMap<String, Vec<f64>>,
    trace: &Trace,
) -> Vec<Clamped> {
    let mut out = Vec::new();
    for b in bounds {
        let Some(node) = plan.nodes.get(b.tensor as usize) else {
            continue;
        };
        let (below, above) = match node.op {
            Op::Input { index } => {
                let input = &plan.inputs[index as usize];
                raw.get(&input.name)
                    .map_or((0, 0), |v| input_clamped(input, v, SLACK))
            }
            _ => clamped(plan, trace, b.tensor, SLACK),
        };
        let (below, above) = (below * b.lo as usize, above * b.hi as usize);
        if below + above > 0 {
            out.push(Clamped {
                tensor: node.name.clone(),
                node: b.tensor,
                below,
                above,
            });
        }
    }
    out
}

/// The side file `infer` writes next to its output: `OUT.json` ->
/// `OUT.saturation.json`.
pub fn side_file(output: &std::path::Path) -> std::path::PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    output.with_file_name(format!("{stem}.saturation.json"))
}

/// The side file's contents.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SaturationFile {
    pub format: u32,
    /// values clamped in all
    pub total: usize,
    pub clamped: Vec<Clamped>,
}

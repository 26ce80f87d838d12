//! Witnesses: an input file (`{"name": nested array}`) quantized as the
//! plan says, run through the integer executor (every tensor of the run is
//! what the shard circuits prove), and the output as the user sees it.

use crate::error::ProveError;
use crate::folder::{write_file_atomic, Folder};
use crate::saturation::{count_clamped, saturation_bounds, side_file, Clamped, SaturationFile};
use ndarray::ArrayD;
use std::path::Path;
use std::path::PathBuf;
use zkinf_circuits::{
    dequantize_output, execute, quantize_input, CheckedPlan, OutputDequant, Trace,
};
use zkinf_compiler::parse_inputs;

/// The plan's inputs quantized from an input file.
pub fn quantized_inputs(plan: &CheckedPlan, path: &Path) -> Result<Vec<ArrayD<i64>>, ProveError> {
    quantize_all(plan, &raw_inputs(plan, path)?)
}

fn quantize_all(
    plan: &CheckedPlan,
    values: &std::collections::BTreeMap<String, Vec<f64>>,
) -> Result<Vec<ArrayD<i64>>, ProveError> {
    plan.inputs
        .iter()
        .map(|pi| Ok(quantize_input(pi, &values[&pi.name])?))
        .collect()
}

/// An input file's values, checked against the plan's inputs.
pub fn raw_inputs(
    plan: &CheckedPlan,
    path: &Path,
) -> Result<std::collections::BTreeMap<String, Vec<f64>>, ProveError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProveError::read(path, e))?;
    let expected: Vec<(String, Vec<usize>)> = plan
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.shape.clone()))
        .collect();
    parse_inputs(&text, &expected).map_err(|source| ProveError::Input {
        path: path.to_path_buf(),
        source,
    })
}

/// One run of the plan on an input file: its values as given, quantized,
/// and every tensor.
pub struct Run {
    pub raw: std::collections::BTreeMap<String, Vec<f64>>,
    pub quantized: Vec<ArrayD<i64>>,
    pub trace: Trace,
}

/// The run of the plan on an input file (read once).
pub fn run_input(plan: &CheckedPlan, input: &Path) -> Result<Run, ProveError> {
    let raw = raw_inputs(plan, input)?;
    let quantized = quantize_all(plan, &raw)?;
    let trace = execute(plan, quantized.clone())?;
    Ok(Run {
        raw,
        quantized,
        trace,
    })
}

/// The run of the plan on an input file: the quantized inputs and every
/// tensor.
pub fn witness(plan: &CheckedPlan, input: &Path) -> Result<(Vec<ArrayD<i64>>, Trace), ProveError> {
    let run = run_input(plan, input)?;
    Ok((run.quantized, run.trace))
}

/// A flat list of values as a nested JSON array of `shape`.
pub fn nested(values: &[f64], shape: &[usize]) -> serde_json::Value {
    if shape.is_empty() {
        return serde_json::json!(values.first().copied().unwrap_or(0.0));
    }
    let step = shape[1..].iter().product::<usize>().max(1);
    serde_json::Value::Array(
        (0..shape[0])
            .map(|i| nested(&values[i * step..(i + 1) * step], &shape[1..]))
            .collect(),
    )
}

/// What `zkinf infer` wrote.
#[derive(Clone, Debug)]
pub struct InferSummary {
    /// values clamped outside their calibrated ranges, per tensor
    pub clamped: Vec<Clamped>,
    /// the side file holding those counts
    pub saturation_file: PathBuf,
}

/// A run's saturation: the counts, or (with `strict`) an error naming the
/// tensors.
pub fn check_saturation(
    folder: &Folder,
    plan: &CheckedPlan,
    run: &Run,
    strict: bool,
) -> Result<Vec<Clamped>, ProveError> {
    if strict && !folder.report_path().is_file() {
        return Err(ProveError::NoReport(folder.report_path()));
    }
    let bounds = saturation_bounds(folder)?;
    let clamped = count_clamped(plan, &bounds, &run.raw, &run.trace);
    if strict && !clamped.is_empty() {
        return Err(ProveError::Saturated(describe(&clamped)));
    }
    Ok(clamped)
}

/// "12 values of 'x', 3 of 'fc1'".
pub fn describe(clamped: &[Clamped]) -> String {
    clamped
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{} {}of '{}'",
                c.count(),
                if i == 0 { "values " } else { "" },
                c.tensor
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `zkinf infer`: runs the plan on an input file and writes every output,
/// dequantized, as `{"name": nested array}`, and the values clamped outside
/// their calibrated ranges to `OUT.saturation.json` (atomically). With
/// `strict`, a clamped value is an error and nothing is written.
pub fn infer(
    folder: &Folder,
    plan: &CheckedPlan,
    input: &Path,
    output: &Path,
    strict: bool,
) -> Result<InferSummary, ProveError> {
    let run = run_input(plan, input)?;
    let clamped = check_saturation(folder, plan, &run, strict)?;
    let trace = run.trace;
    let mut obj = serde_json::Map::new();
    for out in &plan.outputs {
        let t = trace.get(out.tensor);
        let vals: Vec<f64> = dequantize_output(out, t).iter().copied().collect();
        obj.insert(out.name.clone(), nested(&vals, t.shape()));
    }
    let bytes = serde_json::to_vec(&serde_json::Value::Object(obj)).unwrap_or_default();
    let side = side_file(output);
    let record = SaturationFile {
        format: 1,
        total: clamped.iter().map(Clamped::count).sum(),
        clamped: clamped.clone(),
    };
    let side_bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
    // the counts first: an output never sits beside another run's counts
    write_file_atomic(&side, &side_bytes)?;
    write_file_atomic(output, &bytes)?;
    Ok(InferSummary {
        clamped,
        saturation_file: side,
    })
}

/// The integers of a claimed output file (floats, inverting the
/// dequantization).
pub fn output_ints(plan: &CheckedPlan, path: &Path) -> Result<Vec<i64>, ProveError> {
    let out = &plan.outputs[0];
    let text = std::fs::read_to_string(path).map_err(|e| ProveError::read(path, e))?;
    let shape = plan.info(out.tensor).shape.clone();
    let values =
        parse_inputs(&text, &[(out.name.clone(), shape)]).map_err(|source| ProveError::Input {
            path: path.to_path_buf(),
            source,
        })?;
    let v = &values[&out.name];
    Ok(match &out.dequant {
        OutputDequant::Integer => v.iter().map(|&x| x.round() as i64).collect(),
        OutputDequant::Affine {
            scales,
            zero_points,
            ..
        } if scales.len() == 1 => v
            .iter()
            .map(|&x| ((x as f32) / scales[0]).round() as i64 + zero_points[0])
            .collect(),
        OutputDequant::Affine { .. } => {
            return Err(ProveError::PerChannelOutput(path.to_path_buf()))
        }
    })
}

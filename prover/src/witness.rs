//! Witnesses: an input file (`{"name": nested array}`) quantized as the
//! plan says, run through the integer executor (every tensor of the run is
//! what the shard circuits prove), and the output as the user sees it.

use crate::error::ProveError;
use crate::folder::write_file_atomic;
use ndarray::ArrayD;
use std::path::Path;
use zkinf_circuits::{
    dequantize_output, execute, quantize_input, CheckedPlan, OutputDequant, Trace,
};
use zkinf_compiler::parse_inputs;

/// The plan's inputs quantized from an input file.
pub fn quantized_inputs(plan: &CheckedPlan, path: &Path) -> Result<Vec<ArrayD<i64>>, ProveError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProveError::read(path, e))?;
    let expected: Vec<(String, Vec<usize>)> = plan
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.shape.clone()))
        .collect();
    let values = parse_inputs(&text, &expected).map_err(|source| ProveError::Input {
        path: path.to_path_buf(),
        source,
    })?;
    plan.inputs
        .iter()
        .map(|pi| Ok(quantize_input(pi, &values[&pi.name])?))
        .collect()
}

/// The run of the plan on an input file: the quantized inputs and every
/// tensor.
pub fn witness(plan: &CheckedPlan, input: &Path) -> Result<(Vec<ArrayD<i64>>, Trace), ProveError> {
    let q = quantized_inputs(plan, input)?;
    let trace = execute(plan, q.clone())?;
    Ok((q, trace))
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

/// `zkinf infer`: runs the plan on an input file and writes every output,
/// dequantized, as `{"name": nested array}` (atomically).
pub fn infer(plan: &CheckedPlan, input: &Path, output: &Path) -> Result<(), ProveError> {
    let (_, trace) = witness(plan, input)?;
    let mut obj = serde_json::Map::new();
    for out in &plan.outputs {
        let t = trace.get(out.tensor);
        let vals: Vec<f64> = dequantize_output(out, t).iter().copied().collect();
        obj.insert(out.name.clone(), nested(&vals, t.shape()));
    }
    let bytes = serde_json::to_vec(&serde_json::Value::Object(obj)).unwrap_or_default();
    write_file_atomic(output, &bytes)
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

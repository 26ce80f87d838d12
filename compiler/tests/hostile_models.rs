//! Structured mutation of the bundled models: random attribute values,
//! shapes, data types, operands and op types. The compiler must answer every
//! mutant with a plan or a typed error, never a panic; plans it accepts must
//! execute without panicking.

use prost::Message;
use std::panic::{catch_unwind, AssertUnwindSafe};
use zkinf_circuits::{execute, quantize_input};
use zkinf_compiler::onnx::ModelProto;
use zkinf_compiler::{compile, CompileOptions};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn small(&mut self) -> i64 {
        [-2, -1, 0, 1, 2, 3, 4, 7, 8, 64, 100][self.below(11)]
    }
}

const OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Conv",
    "Relu",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Add",
    "Mul",
    "Flatten",
    "Reshape",
    "Transpose",
    "Concat",
    "Softmax",
    "Sigmoid",
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "MatMulInteger",
    "Squeeze",
    "BatchNormalization",
    "Clip",
    "Slice",
    "Split",
    "Pad",
    "Gather",
    "Expand",
    "Tile",
    "ConvTranspose",
    "PRelu",
    "Max",
    "Sum",
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "InstanceNormalization",
    "LogSoftmax",
    "Exp",
    "LeakyRelu",
    "GlobalMaxPool",
    "Pow",
];

fn mutate(m: &mut ModelProto, rng: &mut Rng) {
    let g = m.graph.as_mut().expect("graph");
    for _ in 0..1 + rng.below(3) {
        match rng.below(9) {
            0 if !g.node.is_empty() => {
                let n = rng.below(g.node.len());
                let node = &mut g.node[n];
                if !node.attribute.is_empty() {
                    let a = rng.below(node.attribute.len());
                    let attr = &mut node.attribute[a];
                    attr.i = rng.small();
                    if !attr.ints.is_empty() {
                        let k = rng.below(attr.ints.len());
                        attr.ints[k] = rng.small();
                    }
                    if rng.below(3) == 0 {
                        attr.ints.push(rng.small());
                    }
                    attr.f = [0.0, -1.0, f32::NAN, 1e30][rng.below(4)];
                }
            }
            1 if !g.initializer.is_empty() => {
                let t = rng.below(g.initializer.len());
                let init = &mut g.initializer[t];
                if init.dims.is_empty() || rng.below(2) == 0 {
                    init.dims.push(rng.small());
                } else {
                    let d = rng.below(init.dims.len());
                    init.dims[d] = rng.small();
                }
            }
            2 if !g.initializer.is_empty() => {
                let t = rng.below(g.initializer.len());
                g.initializer[t].data_type = [1, 2, 3, 6, 7, 8, 10, 11, 16][rng.below(9)];
            }
            3 if !g.initializer.is_empty() => {
                let t = rng.below(g.initializer.len());
                let raw = &mut g.initializer[t].raw_data;
                let keep = rng.below(raw.len() + 1);
                raw.truncate(keep);
            }
            4 if !g.node.is_empty() => {
                let n = rng.below(g.node.len());
                if !g.node[n].input.is_empty() {
                    let i = rng.below(g.node[n].input.len());
                    if rng.below(2) == 0 {
                        g.node[n].input.remove(i);
                    } else {
                        g.node[n].input[i] = String::new();
                    }
                }
            }
            5 if !g.node.is_empty() => {
                let n = rng.below(g.node.len());
                g.node[n].op_type = OPS[rng.below(OPS.len())].to_string();
            }
            6 if g.node.len() > 1 => {
                let (a, b) = (rng.below(g.node.len()), rng.below(g.node.len()));
                if !g.node[a].input.is_empty() && !g.node[b].output.is_empty() {
                    g.node[a].input[0] = g.node[b].output[0].clone();
                }
            }
            7 => {
                use zkinf_compiler::onnx::{
                    tensor_shape_proto::dimension::Value as D, type_proto::Value as T,
                };
                if let Some(T::TensorType(tt)) = g
                    .input
                    .first_mut()
                    .and_then(|i| i.r#type.as_mut())
                    .and_then(|t| t.value.as_mut())
                {
                    if let Some(s) = tt.shape.as_mut() {
                        if !s.dim.is_empty() {
                            let d = rng.below(s.dim.len());
                            s.dim[d].value = Some(D::DimValue(rng.small()));
                        }
                    }
                    if rng.below(4) == 0 {
                        tt.elem_type = [2, 3, 6, 7, 11][rng.below(5)];
                    }
                }
            }
            _ => {
                if !g.node.is_empty() {
                    let n = rng.below(g.node.len());
                    g.node.remove(n);
                }
            }
        }
    }
}

#[test]
fn mutated_models_never_panic() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/digits");
    // ZKINF_FUZZ_SEED / ZKINF_FUZZ_CASES widen the search outside CI
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let mut rng = Rng(env("ZKINF_FUZZ_SEED", 0x5eed_1234_abcd_0001) | 1);
    let cases = env("ZKINF_FUZZ_CASES", 300);
    let (mut accepted, mut rejected) = (0, 0);
    for name in [
        "mlp_int8_qdq",
        "mlp_uint8_qop",
        "cnn_int8_qdq",
        "cnn_uint8_qop",
        "mlp_float",
        "cnn_float",
        "mlp_matmul_uint8_qop",
    ] {
        let bytes = std::fs::read(root.join(format!("{name}.onnx"))).unwrap();
        let base = ModelProto::decode(bytes.as_slice()).unwrap();
        for case in 0..cases {
            let mut m = base.clone();
            mutate(&mut m, &mut rng);
            let mutant = m.encode_to_vec();
            let started = std::time::Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let c = compile(&mutant, "mutant.onnx", None, &CompileOptions::default())?;
                for pi in &c.plan.inputs {
                    let n: usize = pi.shape.iter().product();
                    if n > 1 << 20 {
                        return Ok(());
                    }
                }
                let q: Result<Vec<_>, _> = c
                    .plan
                    .inputs
                    .iter()
                    .map(|pi| quantize_input(pi, &vec![0.25; pi.shape.iter().product()]))
                    .collect();
                if let Ok(q) = q {
                    let _ = execute(&c.plan, q);
                }
                Ok::<(), zkinf_compiler::CompileError>(())
            }));
            if started.elapsed().as_secs_f64() > 0.3 {
                eprintln!(
                    "slow: {name} mutant {case}: {:.2} s",
                    started.elapsed().as_secs_f64()
                );
            }
            match outcome {
                Ok(Ok(())) => accepted += 1,
                Ok(Err(e)) => {
                    assert!(!e.to_string().contains('\n'), "one line: {e}");
                    rejected += 1
                }
                Err(_) => {
                    let _ = std::fs::write(
                        std::env::temp_dir().join("zkinf-panicking-mutant.onnx"),
                        &mutant,
                    );
                    panic!("{name} mutant {case} panicked the compiler (saved as zkinf-panicking-mutant.onnx in the temp folder)")
                }
            }
        }
    }
    println!("mutants: {accepted} accepted, {rejected} rejected with an error");
    assert!(rejected > 0 && accepted > 0);
}

#[test]
fn mutated_plan_files_never_panic() {
    use zkinf_circuits::{CheckedPlan, Plan};
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/digits");
    let c =
        zkinf_compiler::compile_file(&root.join("cnn_int8_qdq.onnx"), &CompileOptions::default())
            .unwrap();
    let bytes = c.plan.to_bytes();
    let mut rng = Rng(std::env::var("ZKINF_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xfeed_beef_0000_0001)
        | 1);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len());
            match rng.below(3) {
                0 => b[i] ^= 1 << rng.below(8),
                1 => b[i] = [0x00, 0xff, 0x7f, 0x80][rng.below(4)],
                _ => b.truncate(i.max(12)),
            }
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            match Plan::from_bytes(&b).map(CheckedPlan::new) {
                Ok(Ok(plan)) => {
                    let q: Result<Vec<_>, _> = plan
                        .inputs
                        .iter()
                        .map(|pi| {
                            quantize_input(
                                pi,
                                &vec![0.5; pi.shape.iter().product::<usize>().min(1 << 16)],
                            )
                        })
                        .collect();
                    if let Ok(q) = q {
                        let _ = execute(&plan, q);
                    }
                    true
                }
                _ => false,
            }
        }));
        match outcome {
            Ok(true) => accepted += 1,
            Ok(false) => rejected += 1,
            Err(_) => panic!("a mutated plan panicked"),
        }
    }
    println!("plan mutants: {accepted} accepted, {rejected} rejected");
    assert!(rejected > 0);
}

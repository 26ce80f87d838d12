//! Integer semantics of lowered ops at boundary values, on small ONNX graphs
//! built here: saturation at -128/127 and 0/255, ties rounded to even, zero
//! points at their extremes, and invalid scales rejected.

use prost::Message;
use std::collections::BTreeMap;
use zkinf_circuits::{dequantize_output, execute, quantize_input, Op};
use zkinf_compiler::onnx::{
    self, tensor_shape_proto::dimension, type_proto, AttributeProto, GraphProto, ModelProto,
    NodeProto, TensorProto, ValueInfoProto,
};
use zkinf_compiler::{compile, CompileError, CompileOptions};

const F32: i32 = 1;
const U8: i32 = 2;
const I8: i32 = 3;
const I32: i32 = 6;

fn vi(name: &str, elem: i32, shape: &[usize]) -> ValueInfoProto {
    let dims = shape
        .iter()
        .map(|&d| onnx::tensor_shape_proto::Dimension {
            value: Some(dimension::Value::DimValue(d as i64)),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(onnx::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem,
                shape: Some(onnx::TensorShapeProto { dim: dims }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn tensor(name: &str, elem: i32, shape: &[usize], v: &[f64]) -> TensorProto {
    let mut t = TensorProto {
        name: name.into(),
        data_type: elem,
        dims: shape.iter().map(|&d| d as i64).collect(),
        ..Default::default()
    };
    match elem {
        F32 => t.float_data = v.iter().map(|&x| x as f32).collect(),
        _ => t.int32_data = v.iter().map(|&x| x as i32).collect(),
    }
    t
}

fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        op_type: op.into(),
        name: format!("{op}_node"),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute: attrs,
        ..Default::default()
    }
}

fn model(
    nodes: Vec<NodeProto>,
    inits: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
) -> Vec<u8> {
    let g = GraphProto {
        node: nodes,
        initializer: inits,
        input: inputs,
        output: outputs,
        name: "t".into(),
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![onnx::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(g),
        ..Default::default()
    }
    .encode_to_vec()
}

fn run(bytes: &[u8], x: &[f64]) -> Result<Vec<f64>, CompileError> {
    let c = compile(bytes, "t.onnx", None, &CompileOptions::default())?;
    let q = quantize_input(&c.plan.inputs[0], x).unwrap();
    let t = execute(&c.plan, vec![q]).unwrap();
    let o = &c.plan.outputs[0];
    Ok(dequantize_output(o, t.get(o.tensor))
        .iter()
        .copied()
        .collect())
}

/// QLinearMatMul of a [1, k] uint8 input by a constant [k, 1] weight.
fn qlinear_matmul(k: usize, w: &[f64], scales: [f64; 3], zps: [f64; 3], out_elem: i32) -> Vec<u8> {
    model(
        vec![node(
            "QLinearMatMul",
            &["a", "sa", "za", "b", "sb", "zb", "sy", "zy"],
            "y",
            vec![],
        )],
        vec![
            tensor("sa", F32, &[], &[scales[0]]),
            tensor("za", U8, &[], &[zps[0]]),
            tensor("b", I8, &[k, 1], w),
            tensor("sb", F32, &[], &[scales[1]]),
            tensor("zb", I8, &[], &[zps[1]]),
            tensor("sy", F32, &[], &[scales[2]]),
            tensor("zy", out_elem, &[], &[zps[2]]),
        ],
        vec![vi("a", U8, &[1, k])],
        vec![vi("y", out_elem, &[1, 1])],
    )
}

#[test]
fn requantization_rounds_ties_to_even() {
    // acc * 0.5 for acc = 1, 3, 5, 7: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4
    for (acc, want) in [(1.0, 0.0), (3.0, 2.0), (5.0, 2.0), (7.0, 4.0)] {
        let m = qlinear_matmul(1, &[1.0], [0.5, 1.0, 1.0], [0.0, 0.0, 0.0], U8);
        assert_eq!(run(&m, &[acc]).unwrap(), vec![want], "acc {acc}");
    }
}

#[test]
fn requantization_saturates_at_uint8_and_int8_bounds() {
    // a_zp = 255 with a = 0 gives (0 - 255) * (127 - (-128)) per term
    let m = qlinear_matmul(4, &[127.0; 4], [1.0, 1.0, 1.0], [255.0, -128.0, 0.0], U8);
    assert_eq!(
        run(&m, &[0.0; 4]).unwrap(),
        vec![0.0],
        "negative saturates to 0"
    );
    let m = qlinear_matmul(4, &[127.0; 4], [1.0, 1.0, 1.0], [0.0, -128.0, 0.0], U8);
    assert_eq!(
        run(&m, &[255.0; 4]).unwrap(),
        vec![255.0],
        "positive saturates to 255"
    );
    let m = qlinear_matmul(4, &[-128.0; 4], [1.0, 1.0, 1.0], [0.0, 127.0, 0.0], I8);
    assert_eq!(
        run(&m, &[255.0; 4]).unwrap(),
        vec![-128.0],
        "int8 saturates at -128"
    );
    let m = qlinear_matmul(1, &[1.0], [1.0, 1.0, 1.0], [0.0, 0.0, -128.0], I8);
    assert_eq!(
        run(&m, &[255.0]).unwrap(),
        vec![127.0],
        "zero point -128 shifts 255 past 127"
    );
    let m = qlinear_matmul(1, &[1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 100.0], I8);
    assert_eq!(run(&m, &[27.0]).unwrap(), vec![127.0]);
    assert_eq!(run(&m, &[26.0]).unwrap(), vec![126.0]);
}

#[test]
fn quantize_dequantize_round_trip_with_zero_points() {
    // x -> QuantizeLinear(0.5, zp) -> DequantizeLinear: the float32 path of onnxruntime
    for (elem, zp, lo, hi) in [(U8, 128.0, 0.0, 255.0), (I8, -3.0, -128.0, 127.0)] {
        let m = model(
            vec![
                node("QuantizeLinear", &["x", "s", "z"], "q", vec![]),
                node("DequantizeLinear", &["q", "s", "z"], "y", vec![]),
            ],
            vec![tensor("s", F32, &[], &[0.5]), tensor("z", elem, &[], &[zp])],
            vec![vi("x", F32, &[1, 6])],
            vec![vi("y", F32, &[1, 6])],
        );
        let x = [0.25, 0.75, -0.25, 1000.0, -1000.0, 1.25];
        let got = run(&m, &x).unwrap();
        let want: Vec<f64> = x
            .iter()
            .map(|&v: &f64| (((v / 0.5).round_ties_even() + zp).clamp(lo, hi) - zp) * 0.5)
            .collect();
        assert_eq!(got, want, "{elem}");
    }
}

#[test]
fn invalid_scales_are_rejected() {
    for bad in [-0.5, 0.0, f64::NAN, f64::INFINITY] {
        let m = qlinear_matmul(1, &[1.0], [1.0, 1.0, bad], [0.0, 0.0, 0.0], U8);
        let err = run(&m, &[1.0]).unwrap_err();
        assert!(matches!(err, CompileError::Model { .. }), "{bad}: {err}");
        assert!(
            err.to_string().contains("must be a positive finite number"),
            "{err}"
        );
    }
}

#[test]
fn matmul_integer_is_exact_int32() {
    let m = model(
        vec![node("MatMulInteger", &["a", "b", "za", "zb"], "y", vec![])],
        vec![
            tensor("b", U8, &[2, 2], &[255.0, 0.0, 0.0, 255.0]),
            tensor("za", U8, &[], &[255.0]),
            tensor("zb", U8, &[], &[0.0]),
        ],
        vec![vi("a", U8, &[1, 2])],
        vec![vi("y", I32, &[1, 2])],
    );
    assert_eq!(run(&m, &[0.0, 255.0]).unwrap(), vec![-65025.0, 0.0]);
    // integer inputs must be integers in range
    let c = compile(&m, "t.onnx", None, &CompileOptions::default()).unwrap();
    assert!(quantize_input(&c.plan.inputs[0], &[256.0, 0.0]).is_err());
    assert!(quantize_input(&c.plan.inputs[0], &[0.5, 0.0]).is_err());
}

#[test]
fn relu_folds_into_requantization_clamp() {
    // DequantizeLinear -> Relu -> QuantizeLinear: no separate op, clamp at the zero point
    let m = model(
        vec![
            node("QuantizeLinear", &["x", "s", "z"], "q", vec![]),
            node("DequantizeLinear", &["q", "s", "z"], "d", vec![]),
            node("Relu", &["d"], "r", vec![]),
            node("QuantizeLinear", &["r", "s2", "z2"], "q2", vec![]),
            node("DequantizeLinear", &["q2", "s2", "z2"], "y", vec![]),
        ],
        vec![
            tensor("s", F32, &[], &[0.5]),
            tensor("z", I8, &[], &[0.0]),
            tensor("s2", F32, &[], &[0.25]),
            tensor("z2", I8, &[], &[-10.0]),
        ],
        vec![vi("x", F32, &[1, 4])],
        vec![vi("y", F32, &[1, 4])],
    );
    assert_eq!(
        run(&m, &[-3.0, -0.5, 0.5, 100.0]).unwrap(),
        vec![0.0, 0.0, 0.5, 34.25]
    );
    let c = compile(&m, "t.onnx", None, &CompileOptions::default()).unwrap();
    assert!(
        c.plan
            .nodes
            .iter()
            .all(|n| !matches!(n.op, Op::Clamp { .. })),
        "ReLU is folded"
    );
}

#[test]
fn calibrated_float_model_quantizes_within_its_reported_error() {
    let m = model(
        vec![
            node(
                "Gemm",
                &["x", "w", "b"],
                "h",
                vec![AttributeProto {
                    name: "transB".into(),
                    i: 1,
                    r#type: 2,
                    ..Default::default()
                }],
            ),
            node("Sigmoid", &["h"], "y", vec![]),
        ],
        vec![
            tensor(
                "w",
                F32,
                &[3, 4],
                &[
                    0.5, -1.0, 0.25, 2.0, 1.0, 1.0, 1.0, 1.0, -0.3, 0.2, 0.1, 0.0,
                ],
            ),
            tensor("b", F32, &[3], &[0.1, -0.2, 0.0]),
        ],
        vec![vi("x", F32, &[1, 4])],
        vec![vi("y", F32, &[1, 3])],
    );
    let samples: Vec<BTreeMap<String, Vec<f64>>> = (0..8)
        .map(|i| {
            BTreeMap::from([(
                "x".to_string(),
                vec![i as f64 / 8.0, 0.5, -0.25, 1.0 - i as f64 / 8.0],
            )])
        })
        .collect();
    let c = compile(
        &m,
        "t.onnx",
        None,
        &CompileOptions {
            samples: Some(samples),
            ..CompileOptions::default()
        },
    )
    .unwrap();
    let q = &c.report.quantization;
    assert_eq!(q.mode, "calibrated");
    assert!(
        q.max_abs_error > 0.0 && q.max_abs_error < 0.02,
        "{}",
        q.max_abs_error
    );
    assert!(
        c.plan
            .nodes
            .iter()
            .any(|n| matches!(n.op, Op::Lookup { .. })),
        "sigmoid is a table"
    );
}

#[test]
fn batch_norm_folds_into_the_convolution_requantization() {
    let attr_ints = |name: &str, v: &[i64]| AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: 7,
        ..Default::default()
    };
    let m = model(
        vec![
            node(
                "Conv",
                &["x", "w"],
                "c",
                vec![
                    attr_ints("kernel_shape", &[3, 3]),
                    attr_ints("pads", &[1, 1, 1, 1]),
                ],
            ),
            node(
                "BatchNormalization",
                &["c", "g", "bb", "mu", "var"],
                "n",
                vec![],
            ),
            node("Relu", &["n"], "y", vec![]),
        ],
        vec![
            tensor(
                "w",
                F32,
                &[2, 1, 3, 3],
                &(0..18).map(|i| (i as f64 - 9.0) / 10.0).collect::<Vec<_>>(),
            ),
            tensor("g", F32, &[2], &[1.5, -0.5]),
            tensor("bb", F32, &[2], &[0.1, 0.2]),
            tensor("mu", F32, &[2], &[0.05, -0.1]),
            tensor("var", F32, &[2], &[2.0, 0.5]),
        ],
        vec![vi("x", F32, &[1, 1, 4, 4])],
        vec![vi("y", F32, &[1, 2, 4, 4])],
    );
    let samples: Vec<BTreeMap<String, Vec<f64>>> = (0..4)
        .map(|k| {
            BTreeMap::from([(
                "x".to_string(),
                (0..16)
                    .map(|i| ((i * 7 + k * 3) % 11) as f64 / 11.0)
                    .collect(),
            )])
        })
        .collect();
    let c = compile(
        &m,
        "t.onnx",
        None,
        &CompileOptions {
            samples: Some(samples),
            ..CompileOptions::default()
        },
    )
    .unwrap();
    let kinds: Vec<&str> = c.plan.nodes.iter().map(|n| n.op.kind()).collect();
    assert_eq!(
        kinds,
        ["Input", "Const", "Conv", "Rescale"],
        "BN and ReLU fold into one requantization"
    );
    assert!(
        c.report.quantization.max_abs_error < 0.05,
        "{}",
        c.report.quantization.max_abs_error
    );
}

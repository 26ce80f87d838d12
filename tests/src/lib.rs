//! Shared helpers of zkinf's end-to-end tests.

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A bundled model file under `models/digits/`.
pub fn digits(name: &str) -> PathBuf {
    root().join("models").join("digits").join(name)
}

/// Flattens a nested JSON array of numbers.
pub fn flat(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().expect("number")],
        other => panic!("unexpected JSON {other}"),
    }
}

/// A bundled `<model>.samples.json`: inputs and onnxruntime's outputs.
pub struct Samples {
    pub input: String,
    pub inputs: Vec<Vec<f64>>,
    pub outputs: Vec<Vec<f64>>,
}

pub fn samples(model: &str) -> Samples {
    samples_at(&digits(&format!("{model}.samples.json")))
}

/// A per-op fixture under `models/ops/` (see models/README.md).
pub fn ops_fixture(name: &str) -> PathBuf {
    root().join("models").join("ops").join(name)
}

/// A file of `models/transformer/` (small transformer blocks, committed).
pub fn transformer_fixture(name: &str) -> PathBuf {
    root().join("models").join("transformer").join(name)
}

/// A `samples.json` file: inputs and onnxruntime's outputs.
pub fn samples_at(path: &std::path::Path) -> Samples {
    let text = std::fs::read_to_string(path).expect("samples file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("samples JSON");
    Samples {
        input: v["input"].as_str().expect("input name").to_string(),
        inputs: v["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(flat)
            .collect(),
        outputs: v["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .map(flat)
            .collect(),
    }
}

pub fn argmax(v: &[f64]) -> usize {
    zkinf_circuits::argmax(v).unwrap_or(0)
}

pub mod conformance;

/// Building small ONNX models in tests.
pub mod onnx_build {
    use prost::Message;
    use zkinf_compiler::onnx::{
        self, tensor_shape_proto::dimension, type_proto, AttributeProto, GraphProto, ModelProto,
        NodeProto, TensorProto, ValueInfoProto,
    };

    pub fn float_input(name: &str, shape: &[usize]) -> ValueInfoProto {
        typed_input(name, shape, 1)
    }

    /// A graph input of ONNX element type `elem_type` (7: int64).
    pub fn typed_input(name: &str, shape: &[usize], elem_type: i32) -> ValueInfoProto {
        let dims = shape
            .iter()
            .map(|&d| onnx::tensor_shape_proto::Dimension {
                value: Some(dimension::Value::DimValue(d as i64)),
                ..Default::default()
            })
            .collect();
        let tt = type_proto::Tensor {
            elem_type,
            shape: Some(onnx::TensorShapeProto { dim: dims }),
        };
        ValueInfoProto {
            name: name.into(),
            r#type: Some(onnx::TypeProto {
                value: Some(type_proto::Value::TensorType(tt)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn floats(name: &str, shape: &[usize], v: &[f32]) -> TensorProto {
        TensorProto {
            name: name.into(),
            data_type: 1,
            dims: shape.iter().map(|&d| d as i64).collect(),
            float_data: v.to_vec(),
            ..Default::default()
        }
    }

    /// An integer tensor (`data_type`: 2 uint8, 3 int8, 6 int32).
    pub fn ints(name: &str, data_type: i32, shape: &[usize], v: &[i32]) -> TensorProto {
        TensorProto {
            name: name.into(),
            data_type,
            dims: shape.iter().map(|&d| d as i64).collect(),
            int32_data: v.to_vec(),
            ..Default::default()
        }
    }

    /// An int64 tensor (shapes for Reshape, axes).
    pub fn int64s(name: &str, shape: &[usize], v: &[i64]) -> TensorProto {
        TensorProto {
            name: name.into(),
            data_type: 7,
            dims: shape.iter().map(|&d| d as i64).collect(),
            int64_data: v.to_vec(),
            ..Default::default()
        }
    }

    pub fn node(op: &str, inputs: &[&str], output: &str, attrs: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            op_type: op.into(),
            name: format!("{op}_{output}"),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute: attrs,
            ..Default::default()
        }
    }

    pub fn int_attr(name: &str, i: i64) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            i,
            r#type: 2,
            ..Default::default()
        }
    }

    /// An INTS attribute (kernel_shape, pads, strides, perm, ...).
    pub fn ints_attr(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            ints: v.to_vec(),
            r#type: 7,
            ..Default::default()
        }
    }

    pub fn model(
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
            name: "built".into(),
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
}

//! Loading an ONNX file: protobuf decoding, initializers (inline or external),
//! static input shapes, and the up-front scan for unsupported ops.

use crate::error::{CompileError, Result, UnsupportedOp};
use crate::onnx::{self, decode_tensor, ModelProto, NodeProto};
use crate::value::{ConstTensor, DType};
use prost::Message;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A graph input that is not an initializer, with its static shape.
#[derive(Clone, Debug)]
pub struct GraphInput {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct LoadedModel {
    pub name: String,
    pub opset: i64,
    pub inputs: Vec<GraphInput>,
    pub outputs: Vec<(String, DType)>,
    pub consts: HashMap<String, ConstTensor>,
    pub nodes: Vec<NodeProto>,
    /// the nodes each `zkinf.Elementwise` stands for (by its output), in
    /// order: the fusion pass's one-input elementwise functions
    pub bodies: HashMap<String, Vec<NodeProto>>,
}

/// Ops zkinf lowers, as (domain, op_type); "" is the default ONNX domain.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("", "Gemm"),
    ("", "MatMul"),
    ("", "Conv"),
    ("", "Relu"),
    ("", "Clip"),
    ("", "MaxPool"),
    ("", "AveragePool"),
    ("", "GlobalAveragePool"),
    ("", "GlobalMaxPool"),
    ("", "ConvTranspose"),
    ("", "Add"),
    ("", "Sub"),
    ("", "Mul"),
    ("", "Div"),
    ("", "Pow"),
    ("", "Flatten"),
    ("", "Reshape"),
    ("", "Transpose"),
    ("", "Concat"),
    ("", "Slice"),
    ("", "Split"),
    ("", "Expand"),
    ("", "Tile"),
    ("", "Gather"),
    ("", "Pad"),
    ("", "Squeeze"),
    ("", "Unsqueeze"),
    ("", "Identity"),
    ("", "Cast"),
    ("", "Where"),
    ("", "Constant"),
    ("", "Shape"),
    ("", "BatchNormalization"),
    ("", "Softmax"),
    ("", "Sigmoid"),
    ("", "Tanh"),
    ("", "Exp"),
    ("", "Erf"),
    ("", "Neg"),
    ("", "Abs"),
    ("", "Sign"),
    ("", "Log"),
    ("", "Sqrt"),
    ("", "Reciprocal"),
    ("", "Floor"),
    ("", "Ceil"),
    ("", "Round"),
    ("", "Softplus"),
    ("", "Softsign"),
    ("", "HardSwish"),
    ("", "Mish"),
    ("", "Elu"),
    ("", "Celu"),
    ("", "Selu"),
    ("", "LeakyRelu"),
    ("", "ThresholdedRelu"),
    ("", "HardSigmoid"),
    ("", "Shrink"),
    ("", "PRelu"),
    ("", "Max"),
    ("", "Min"),
    ("", "Sum"),
    ("", "Mean"),
    ("", "ReduceSum"),
    ("", "ReduceMean"),
    ("", "ReduceMax"),
    ("", "ReduceMin"),
    ("", "LogSoftmax"),
    ("", "InstanceNormalization"),
    ("", "LayerNormalization"),
    ("", "RMSNormalization"),
    ("zkinf", "MaskedSoftmax"),
    ("zkinf", "Elementwise"),
    ("", "QuantizeLinear"),
    ("", "DequantizeLinear"),
    ("", "QLinearMatMul"),
    ("", "QLinearConv"),
    ("", "MatMulInteger"),
    ("", "ConvInteger"),
    ("com.microsoft", "QLinearAdd"),
    ("com.microsoft", "QGemm"),
];

/// Ops whose presence makes a model an integer (exact) model.
pub const QUANTIZED_OPS: &[&str] = &[
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearMatMul",
    "QLinearConv",
    "MatMulInteger",
    "ConvInteger",
    "QLinearAdd",
    "QGemm",
];

fn domain(d: &str) -> &str {
    if d == "ai.onnx" {
        ""
    } else {
        d
    }
}

pub fn is_supported(n: &NodeProto) -> bool {
    SUPPORTED
        .iter()
        .any(|(d, op)| *d == domain(&n.domain) && *op == n.op_type)
}

/// Parses and checks a model. `base` is the folder that external data paths
/// are relative to; `shapes` fixes input dimensions (`--input-shape`).
pub fn load(
    bytes: &[u8],
    what: &str,
    base: Option<&Path>,
    shapes: &BTreeMap<String, Vec<usize>>,
) -> Result<LoadedModel> {
    let not_onnx = |reason: String| CompileError::NotOnnx {
        path: what.to_string(),
        reason,
    };
    if bytes.is_empty() {
        return Err(CompileError::Empty {
            path: what.to_string(),
        });
    }
    let model = ModelProto::decode(bytes)
        .map_err(|e| not_onnx(format!("protobuf decoding failed ({e})")))?;
    let graph = model
        .graph
        .ok_or_else(|| not_onnx("it has no graph".into()))?;
    if model.ir_version <= 0 {
        return Err(not_onnx("it has no IR version".into()));
    }
    if graph.output.is_empty() {
        return Err(not_onnx("its graph has no outputs".into()));
    }
    let opset = model
        .opset_import
        .iter()
        .filter(|o| domain(&o.domain).is_empty())
        .map(|o| o.version)
        .max()
        .unwrap_or(0);
    if opset <= 0 {
        return Err(not_onnx(
            "it imports no version of the default ONNX op set".into(),
        ));
    }

    let unsupported: Vec<UnsupportedOp> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| !is_supported(n))
        .map(|(i, n)| UnsupportedOp {
            node: if n.name.is_empty() {
                format!("#{i}")
            } else {
                n.name.clone()
            },
            op: if domain(&n.domain).is_empty() {
                n.op_type.clone()
            } else {
                format!("{}.{}", n.domain, n.op_type)
            },
        })
        .collect();
    if !unsupported.is_empty() {
        return Err(CompileError::UnsupportedOps(unsupported));
    }

    let mut consts = HashMap::new();
    for t in &graph.initializer {
        consts.insert(t.name.clone(), decode_tensor(t, base)?);
    }
    for name in shapes.keys() {
        if !graph
            .input
            .iter()
            .any(|i| &i.name == name && !consts.contains_key(name))
        {
            return Err(CompileError::InputShape(format!(
                "the model has no input named '{name}'"
            )));
        }
    }
    let mut inputs = Vec::new();
    for vi in &graph.input {
        if consts.contains_key(&vi.name) {
            continue;
        }
        let tt = match vi.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(onnx::type_proto::Value::TensorType(tt)) => tt,
            _ => return Err(not_onnx(format!("input '{}' is not a tensor", vi.name))),
        };
        let dims = tt.shape.as_ref().map(|s| s.dim.clone()).unwrap_or_default();
        let shape = match shapes.get(&vi.name) {
            Some(fixed) => {
                if fixed.len() != dims.len() {
                    return Err(CompileError::InputShape(format!(
                        "input '{}' has rank {}, but {} dimensions were given",
                        vi.name,
                        dims.len(),
                        fixed.len()
                    )));
                }
                for (axis, (d, &f)) in dims.iter().zip(fixed).enumerate() {
                    if let Some(onnx::tensor_shape_proto::dimension::Value::DimValue(v)) = d.value {
                        if v > 0 && v as usize != f {
                            return Err(CompileError::InputShape(format!(
                                "input '{}' axis {axis} is fixed to {v} in the model, not {f}",
                                vi.name
                            )));
                        }
                    }
                }
                fixed.clone()
            }
            None => {
                let mut shape = Vec::new();
                for (axis, d) in dims.iter().enumerate() {
                    match &d.value {
                        Some(onnx::tensor_shape_proto::dimension::Value::DimValue(v)) if *v > 0 => {
                            shape.push(*v as usize)
                        }
                        Some(onnx::tensor_shape_proto::dimension::Value::DimParam(p))
                            if !p.is_empty() =>
                        {
                            return Err(CompileError::SymbolicDim {
                                input: vi.name.clone(),
                                axis,
                                param: p.clone(),
                            })
                        }
                        _ => {
                            return Err(CompileError::SymbolicDim {
                                input: vi.name.clone(),
                                axis,
                                param: "?".into(),
                            })
                        }
                    }
                }
                shape
            }
        };
        inputs.push(GraphInput {
            name: vi.name.clone(),
            dtype: DType::from_onnx(tt.elem_type),
            shape,
        });
    }
    let outputs: Vec<(String, DType)> = graph
        .output
        .iter()
        .map(|o| {
            let dt = match o.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                Some(onnx::type_proto::Value::TensorType(tt)) => DType::from_onnx(tt.elem_type),
                _ => DType::F32,
            };
            (o.name.clone(), dt)
        })
        .collect();
    // ONNX requires nodes in topological order; check it so lowering can rely on it.
    let mut defined: std::collections::HashSet<&str> = consts.keys().map(|s| s.as_str()).collect();
    defined.extend(inputs.iter().map(|i| i.name.as_str()));
    for (i, n) in graph.node.iter().enumerate() {
        for inp in &n.input {
            if !inp.is_empty() && !defined.contains(inp.as_str()) {
                return Err(CompileError::Model {
                    node: if n.name.is_empty() {
                        format!("#{i}")
                    } else {
                        n.name.clone()
                    },
                    op: n.op_type.clone(),
                    reason: format!("input '{inp}' is not defined before it is used"),
                });
            }
        }
        defined.extend(n.output.iter().map(|s| s.as_str()));
    }
    for (o, _) in &outputs {
        let o: &String = o;
        if !defined.contains(o.as_str()) {
            return Err(not_onnx(format!("graph output '{o}' is never computed")));
        }
    }
    let nodes = graph.node.clone();
    let mut model = LoadedModel {
        name: graph.name.clone(),
        opset,
        inputs,
        outputs,
        consts,
        nodes,
        bodies: HashMap::new(),
    };
    crate::fuse::fuse(&mut model);
    Ok(model)
}

/// Attribute access on a node.
pub struct Attrs<'a>(pub &'a NodeProto);

impl Attrs<'_> {
    fn get(&self, name: &str) -> Option<&onnx::AttributeProto> {
        self.0.attribute.iter().find(|a| a.name == name)
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.get(name).map_or(default, |a| a.i)
    }
    pub fn float(&self, name: &str, default: f32) -> f32 {
        self.get(name).map_or(default, |a| a.f)
    }
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name).map(|a| a.ints.clone())
    }
    pub fn floats(&self, name: &str) -> Option<Vec<f32>> {
        self.get(name).map(|a| a.floats.clone())
    }
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }
    pub fn tensor(&self, name: &str) -> Option<&onnx::TensorProto> {
        self.get(name).and_then(|a| a.t.as_ref())
    }
}

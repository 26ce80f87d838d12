//! Lowering ONNX nodes to Plan ops. Every ONNX tensor becomes a [`Value`];
//! float results stay symbolic ([`Affine`], [`Lazy`]) until their output
//! quantization is known (a `QuantizeLinear` in int8 models, calibrated
//! parameters in float models), where they become one requantizing op.

mod attention;
mod calibrate;
mod layout;
mod linear;
mod norm;
mod quant;
mod reduce;
mod requant;
mod shape;
mod unary;
mod window;

pub use calibrate::qparams_for_range;
pub use norm::variance_key;

use crate::error::{CompileError, Result};
use crate::model::{Attrs, LoadedModel};
use crate::onnx::NodeProto;
use crate::value::{Affine, ConstTensor, DType, Src, Value};
use std::collections::HashMap;
use zkinf_circuits::arith::Dyadic;
use zkinf_circuits::{
    InputQuant, IntRange, Op, OutputDequant, Plan, PlanInput, PlanOutput, TensorId,
};

/// Bits of the requantization multipliers of models zkinf quantizes itself.
const MULT_BITS: u32 = 16;

/// Output quantization of a tensor: `real = scale * (q - zero)`, `q` in `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QParams {
    pub scale: f64,
    pub zero: i64,
    pub lo: i64,
    pub hi: i64,
}

/// How scales are turned into integer multipliers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// int8 models: scales are float32 and combined in float32 as
    /// onnxruntime does, then used exactly. `ranges` (from calibration
    /// data) quantize the float tensors such a model leaves unquantized (a
    /// float op after its last DequantizeLinear): zkinf's choice, not the
    /// model's, so those tensors are listed in the report.
    Exact { ranges: HashMap<String, (f64, f64)> },
    /// float models: per-tensor ranges from calibration, `bits`-bit activations.
    Calibrated {
        ranges: HashMap<String, (f64, f64)>,
        bits: u32,
        /// bits of the weights (symmetric, per channel) and constant operands
        weight_bits: u32,
    },
}

/// A lowered model: the plan and what the lowering chose for it.
pub struct Lowered {
    pub plan: Plan,
    /// float tensors of an int8 model that zkinf quantized itself
    pub zkinf_quantized: Vec<String>,
    /// (tensor, lower, upper): bounds beyond which a value left its
    /// calibrated range and was clamped
    pub saturating: Vec<(TensorId, bool, bool)>,
    /// ONNX tensors held as narrow per-tensor reals: (name, plan tensor,
    /// scale, zero point), for the per-layer error
    pub layers: Vec<(String, TensorId, f64, i64)>,
    /// ops of an int8 model that onnxruntime computes in float32 and zkinf
    /// approximates in integers
    pub approximated: Vec<String>,
}

pub struct Lowerer<'m> {
    pub plan: Plan,
    pub mode: Mode,
    model: &'m LoadedModel,
    values: HashMap<String, Value>,
    /// op types that read each tensor
    consumers: HashMap<String, Vec<String>>,
    /// tensors read only as an operand of Add, Sub, Mul or Div (as the
    /// dividend) beside a constant: a product's accumulator read so stays
    /// unrounded, and the constants fold into its one requantization
    affine_read: std::collections::HashSet<String>,
    node: String,
    op: String,
    /// tensors of an int8 model that zkinf quantized from calibration data
    pub zkinf_quantized: std::cell::RefCell<Vec<String>>,
    /// requantizations whose bounds are saturation (a value beyond them is
    /// outside its calibrated range): (tensor, lower bound, upper bound)
    pub saturating: Vec<(TensorId, bool, bool)>,
    layers: Vec<(String, TensorId, f64, i64)>,
    pub(crate) approximated: Vec<String>,
}

pub(crate) fn node_name(n: &NodeProto, i: usize) -> String {
    if n.name.is_empty() {
        format!("{}#{i}", n.op_type)
    } else {
        n.name.clone()
    }
}

impl<'m> Lowerer<'m> {
    pub fn new(model: &'m LoadedModel, mode: Mode) -> Lowerer<'m> {
        let mut consumers: HashMap<String, Vec<String>> = HashMap::new();
        for n in &model.nodes {
            for i in &n.input {
                consumers
                    .entry(i.clone())
                    .or_default()
                    .push(n.op_type.clone());
            }
        }
        for (o, _) in &model.outputs {
            consumers
                .entry(o.clone())
                .or_default()
                .push("<output>".into());
        }
        let constant: std::collections::HashSet<&str> = model
            .consts
            .keys()
            .map(String::as_str)
            .chain(
                model
                    .nodes
                    .iter()
                    .filter(|n| n.op_type == "Constant")
                    .flat_map(|n| n.output.iter().map(String::as_str)),
            )
            .collect();
        let mut affine: HashMap<&str, bool> = HashMap::new();
        for n in &model.nodes {
            let binary =
                matches!(n.op_type.as_str(), "Add" | "Sub" | "Mul" | "Div") && n.input.len() == 2;
            for (k, i) in n.input.iter().enumerate() {
                let ok = binary
                    && (n.op_type != "Div" || k == 0)
                    && n.input[1 - k] != *i
                    && constant.contains(n.input[1 - k].as_str());
                *affine.entry(i.as_str()).or_insert(true) &= ok;
            }
        }
        for (o, _) in &model.outputs {
            affine.insert(o.as_str(), false);
        }
        let affine_read = affine
            .into_iter()
            .filter(|&(_, ok)| ok)
            .map(|(t, _)| t.to_string())
            .collect();
        Lowerer {
            plan: Plan {
                name: model.name.clone(),
                ..Plan::default()
            },
            mode,
            model,
            values: HashMap::new(),
            consumers,
            affine_read,
            node: String::new(),
            op: String::new(),
            zkinf_quantized: Default::default(),
            saturating: Vec::new(),
            layers: Vec::new(),
            approximated: Vec::new(),
        }
    }

    pub(crate) fn model_opset(&self) -> i64 {
        self.model.opset
    }

    pub fn exact(&self) -> bool {
        matches!(self.mode, Mode::Exact { .. })
    }

    // ---- errors -------------------------------------------------------

    pub(crate) fn unsupported(&self, reason: impl Into<String>) -> CompileError {
        CompileError::Unsupported {
            node: self.node.clone(),
            op: self.op.clone(),
            reason: reason.into(),
        }
    }

    pub(crate) fn malformed(&self, reason: impl Into<String>) -> CompileError {
        CompileError::Model {
            node: self.node.clone(),
            op: self.op.clone(),
            reason: reason.into(),
        }
    }

    // ---- scale arithmetic -----------------------------------------------

    /// `a * b` as onnxruntime forms a product of scales (float32 in exact mode).
    pub(crate) fn scale_mul(&self, a: f64, b: f64) -> f64 {
        if self.exact() {
            ((a as f32) * (b as f32)) as f64
        } else {
            a * b
        }
    }

    /// `num / den` as an exact dyadic multiplier (float32 in exact mode), or
    /// rounded to a [`MULT_BITS`]-bit multiplier.
    pub(crate) fn ratio(&self, num: f64, den: f64) -> Result<Dyadic> {
        let (v, d) = if self.exact() {
            let v = ((num as f32) / (den as f32)) as f64;
            (v, Dyadic::exact(v))
        } else {
            // a model zkinf quantizes itself: 16-bit multipliers (relative
            // error 2^-16, far below one output step) keep the rounding
            // remainder, and so its range checks, short
            let v = num / den;
            (v, Dyadic::approx(v, MULT_BITS))
        };
        d.ok_or_else(|| self.malformed(format!("scale ratio {v} is not a positive finite number")))
    }

    // ---- plan building ----------------------------------------------------

    pub(crate) fn push(
        &mut self,
        op: Op,
        inputs: Vec<TensorId>,
        shape: Option<Vec<usize>>,
    ) -> Result<TensorId> {
        let name = self.node.clone();
        Ok(self.plan.push(name, op, inputs, shape)?)
    }

    pub(crate) fn push_const(&mut self, c: &ConstTensor) -> Result<TensorId> {
        if c.data
            .iter()
            .any(|v| v.fract() != 0.0 || v.abs() > (1u64 << 53) as f64)
        {
            return Err(self.malformed("expected an integer constant"));
        }
        self.push(
            Op::Const { values: c.ints() },
            vec![],
            Some(c.shape.clone()),
        )
    }

    pub(crate) fn src_id(&mut self, s: &Src) -> Result<TensorId> {
        match s {
            Src::Plan(id) => Ok(*id),
            Src::Const(c) => self.push_const(c),
        }
    }

    pub(crate) fn shape_of(&self, v: &Value) -> Vec<usize> {
        match v {
            Value::Const(c) => c.shape.clone(),
            Value::Int { id, .. } => self.plan.info(*id).shape.clone(),
            Value::FloatInput { shape, .. } => shape.clone(),
            Value::Real(a) => self.affine_shape(a),
            Value::Lazy(l) => self.lazy_shape(l),
        }
    }

    pub(crate) fn affine_shape(&self, a: &Affine) -> Vec<usize> {
        match &a.src {
            Src::Plan(id) => self.plan.info(*id).shape.clone(),
            Src::Const(c) => c.shape.clone(),
        }
    }

    pub(crate) fn lazy_shape(&self, l: &crate::value::Lazy) -> Vec<usize> {
        use crate::value::Lazy;
        match l {
            Lazy::Sum { shape, .. }
            | Lazy::Prod { shape, .. }
            | Lazy::Quotient { shape, .. }
            | Lazy::Extremum { shape, .. } => shape.clone(),
            Lazy::Unary { x, .. }
            | Lazy::Function { x, .. }
            | Lazy::Softmax { x, .. }
            | Lazy::ChannelAffine { x, .. }
            | Lazy::ChannelPRelu { x, .. } => self.affine_shape(x),
            Lazy::AvgPool {
                out_shape: Some(s), ..
            } => s.clone(),
            Lazy::AvgPool {
                x,
                kernel,
                strides,
                pads,
                ..
            } => {
                let s = self.affine_shape(x);
                let dim = |d: usize| {
                    (s[2 + d] + pads[d] + pads[d + 2]).saturating_sub(kernel[d]) / strides[d] + 1
                };
                vec![s[0], s[1], dim(0), dim(1)]
            }
            Lazy::Concat { parts, axis } => {
                let mut s = self.affine_shape(&parts[0]);
                s[*axis] = parts.iter().map(|p| self.affine_shape(p)[*axis]).sum();
                s
            }
        }
    }

    pub(crate) fn range_of(&self, a: &Affine) -> IntRange {
        match &a.src {
            Src::Plan(id) => self.plan.info(*id).range,
            Src::Const(c) => {
                let lo = c.data.iter().cloned().fold(f64::INFINITY, f64::min);
                let hi = c.data.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                IntRange {
                    lo: lo as i64,
                    hi: hi as i64,
                }
            }
        }
    }

    // ---- values -------------------------------------------------------

    pub(crate) fn value(&self, name: &str) -> Result<Value> {
        if let Some(v) = self.values.get(name) {
            return Ok(v.clone());
        }
        if let Some(c) = self.model.consts.get(name) {
            return Ok(Value::Const(c.clone()));
        }
        Err(self.malformed(format!("input '{name}' is not defined")))
    }

    /// Input `k` of the node, `None` when absent or empty.
    pub(crate) fn input(&self, n: &NodeProto, k: usize) -> Result<Option<Value>> {
        match n.input.get(k) {
            Some(s) if !s.is_empty() => self.value(s).map(Some),
            _ => Ok(None),
        }
    }

    pub(crate) fn required(&self, n: &NodeProto, k: usize) -> Result<Value> {
        self.input(n, k)?
            .ok_or_else(|| self.malformed(format!("input {k} is missing")))
    }

    pub(crate) fn const_input(&self, n: &NodeProto, k: usize) -> Result<Option<ConstTensor>> {
        match self.input(n, k)? {
            None => Ok(None),
            Some(Value::Const(c)) => Ok(Some(c)),
            Some(_) => Err(self.unsupported(format!("input {k} must be a constant"))),
        }
    }

    pub(crate) fn scalar_input(&self, n: &NodeProto, k: usize) -> Result<Option<f64>> {
        match self.const_input(n, k)? {
            None => Ok(None),
            Some(c) => c
                .scalar()
                .map(Some)
                .ok_or_else(|| self.unsupported(format!("input {k} must be a scalar"))),
        }
    }

    /// A real tensor as an activation: per tensor, narrow, no pending clip.
    /// Float models requantize with the calibrated parameters of `name`.
    pub(crate) fn activation(&mut self, v: Value, name: &str) -> Result<Affine> {
        match v {
            Value::Real(a) if !a.wide && a.per_tensor() && a.clip.is_none() => Ok(a),
            Value::Real(a)
                if !a.wide && a.per_tensor() && !self.exact() && self.model_has_range(name) =>
            {
                self.requant_calibrated(Value::Real(a), name)
            }
            Value::Real(a) if !a.wide && a.per_tensor() => self.apply_clip(a),
            Value::Real(_) | Value::Lazy(_) => self.requant_calibrated(v, name),
            Value::Const(c) => self.const_affine(&c),
            Value::Int { .. } => Err(self.malformed(format!(
                "'{name}' is an integer tensor where a float is expected"
            ))),
            Value::FloatInput { .. } => {
                let v = self.float_input(v)?;
                self.activation(v, name)
            }
        }
    }

    fn model_has_range(&self, name: &str) -> bool {
        matches!(&self.mode, Mode::Calibrated { ranges, .. } if ranges.contains_key(name))
    }

    /// Materializes a pending clip of a narrow per-tensor activation as a Clamp.
    pub(crate) fn apply_clip(&mut self, mut a: Affine) -> Result<Affine> {
        let Some((rlo, rhi)) = a.clip.take() else {
            return Ok(a);
        };
        let r = self.range_of(&a);
        let (s, z) = (a.scale(), a.zero());
        let lo = if rlo.is_finite() {
            (z as f64 + (rlo / s).ceil()).max(r.lo as f64) as i64
        } else {
            r.lo
        };
        let hi = if rhi.is_finite() {
            (z as f64 + (rhi / s).floor()).min(r.hi as f64) as i64
        } else {
            r.hi
        };
        let x = self.src_id(&a.src)?;
        let id = self.push(Op::Clamp { lo, hi: hi.max(lo) }, vec![x], None)?;
        a.src = Src::Plan(id);
        Ok(a)
    }

    // ---- the pass -----------------------------------------------------

    pub fn run(mut self) -> Result<Lowered> {
        let model = self.model;
        for gi in &model.inputs {
            let v = if gi.dtype.is_float() {
                let v = Value::FloatInput {
                    name: gi.name.clone(),
                    shape: gi.shape.clone(),
                    clip: None,
                };
                if self.exact() {
                    // quantized by its QuantizeLinear (or, read by another op,
                    // from calibration data: `float_input`)
                    v
                } else {
                    self.node = gi.name.clone();
                    self.float_input(v)?
                }
            } else {
                let (lo, hi) = gi
                    .dtype
                    .int_range()
                    .or_else(|| self.token_id_range(&gi.name, gi.dtype))
                    .ok_or_else(|| CompileError::Unsupported {
                        node: gi.name.clone(),
                        op: "input".into(),
                        reason: format!("inputs of type {} are not supported", gi.dtype.name()),
                    })?;
                self.node = gi.name.clone();
                let id = self.add_input(&gi.name, &gi.shape, InputQuant::Integer, lo, hi)?;
                Value::Int {
                    id,
                    dtype: gi.dtype,
                }
            };
            self.values.insert(gi.name.clone(), v);
        }
        for (i, n) in model.nodes.iter().enumerate() {
            self.node = node_name(n, i);
            self.op = n.op_type.clone();
            let outs = self.lower_node(n)?;
            for (name, v) in n.output.iter().zip(outs) {
                if name.is_empty() {
                    continue;
                }
                let v = self.settle(name, v)?;
                if let Value::Real(a) = &v {
                    if let (Src::Plan(id), false, true) = (&a.src, a.wide, a.per_tensor()) {
                        self.layers.push((name.clone(), *id, a.scale(), a.zero()));
                    }
                }
                self.values.insert(name.clone(), v);
            }
        }
        for (name, _) in &model.outputs {
            self.node = name.clone();
            self.op = "output".into();
            let v = self.value(name)?;
            let (tensor, dequant) = self.output(v, name)?;
            self.plan.outputs.push(PlanOutput {
                name: name.clone(),
                tensor,
                dequant,
            });
        }
        Ok(Lowered {
            plan: self.plan,
            zkinf_quantized: self.zkinf_quantized.into_inner(),
            saturating: self.saturating,
            layers: self.layers,
            approximated: self.approximated,
        })
    }

    /// An int64/int32 input read only as the indices of Gathers over
    /// constant tables (token ids into an embedding): `[0, rows - 1]` of
    /// the smallest table (a negative or larger id is refused when the
    /// input is read).
    fn token_id_range(&self, name: &str, dtype: DType) -> Option<(i64, i64)> {
        if !matches!(dtype, DType::I64 | DType::I32) {
            return None;
        }
        let mut rows: Option<usize> = None;
        for n in &self.model.nodes {
            if !n.input.iter().any(|i| i == name) {
                continue;
            }
            let table = (n.op_type == "Gather"
                && n.input.get(1).map(String::as_str) == Some(name)
                && n.input.first().map(String::as_str) != Some(name))
            .then(|| self.model.consts.get(&n.input[0]))
            .flatten()?;
            let axis = Attrs(n).int("axis", 0);
            if axis != 0 || table.shape.is_empty() {
                return None;
            }
            rows = Some(rows.map_or(table.shape[0], |r| r.min(table.shape[0])));
        }
        rows.filter(|&r| r > 0).map(|r| (0, r as i64 - 1))
    }

    fn add_input(
        &mut self,
        name: &str,
        shape: &[usize],
        quant: InputQuant,
        lo: i64,
        hi: i64,
    ) -> Result<TensorId> {
        let index = self.plan.inputs.len() as u32;
        self.plan.inputs.push(PlanInput {
            name: name.to_string(),
            shape: shape.to_vec(),
            range: IntRange { lo, hi },
            quant,
        });
        self.push(Op::Input { index }, vec![], None)
    }

    /// Float models: quantize a result now unless only clip-like ops read it.
    fn settle(&mut self, name: &str, v: Value) -> Result<Value> {
        if self.exact() {
            return Ok(v);
        }
        let readers = self.consumers.get(name);
        let clip_only = readers.is_some_and(|c| c.iter().all(|op| op == "Relu" || op == "Clip"));
        // a convolution/product read only by BatchNormalization folds into it
        let bn_only = readers.is_some_and(|c| c.iter().all(|op| op == "BatchNormalization"));
        let affine = self.affine_read.contains(name);
        match v {
            Value::Lazy(crate::value::Lazy::ChannelAffine { .. }) if clip_only => Ok(v),
            Value::Real(ref a) if a.wide && a.clip.is_none() && (bn_only || affine) => Ok(v),
            Value::Lazy(crate::value::Lazy::ChannelAffine { clip: None, .. }) if affine => Ok(v),
            Value::Lazy(crate::value::Lazy::Softmax { .. }) => {
                // probabilities in [0, 1]: 1/255 steps keep the integer softmax exact in its output
                let q = QParams {
                    scale: (1.0f32 / 255.0) as f64,
                    zero: -128,
                    lo: -128,
                    hi: 127,
                };
                Ok(Value::Real(self.requant_to_affine(v, q)?))
            }
            Value::Lazy(_) => Ok(Value::Real(self.requant_calibrated(v, name)?)),
            Value::Real(ref a) if (a.wide || !a.per_tensor() || a.clip.is_some()) && !clip_only => {
                Ok(Value::Real(self.requant_calibrated(v, name)?))
            }
            v => Ok(v),
        }
    }

    fn output(&mut self, v: Value, name: &str) -> Result<(TensorId, OutputDequant)> {
        match v {
            Value::Int { id, .. } => Ok((id, OutputDequant::Integer)),
            Value::Real(mut a) => {
                if a.clip.is_some() {
                    if a.per_tensor() {
                        a = self.apply_clip(a)?;
                    } else if a.clip == Some((0.0, f64::INFINITY))
                        && a.zeros.iter().all(|&z| z == 0)
                    {
                        let x = self.src_id(&a.src)?;
                        let hi = self.plan.info(x).range.hi.max(0);
                        a.src = Src::Plan(self.push(Op::Clamp { lo: 0, hi }, vec![x], None)?);
                        a.clip = None;
                    } else {
                        return Err(
                            self.unsupported(format!("output '{name}' has a per-channel clip"))
                        );
                    }
                }
                let id = self.src_id(&a.src)?;
                let zero_points = if a.zeros.len() == a.scales.len() {
                    a.zeros.clone()
                } else {
                    vec![a.zero(); a.scales.len()]
                };
                Ok((
                    id,
                    OutputDequant::Affine {
                        scales: a.scales.iter().map(|&s| s as f32).collect(),
                        zero_points,
                        axis: a.axis as u32,
                    },
                ))
            }
            Value::Lazy(_) if self.exact() => {
                let a = self.requant_calibrated(v, name)?;
                self.output(Value::Real(a), name)
            }
            Value::Lazy(_) => Err(self.unsupported(format!(
                "float output '{name}' is not quantized (no QuantizeLinear before it)"
            ))),
            Value::Const(_) => Err(self.unsupported(format!("output '{name}' is a constant"))),
            Value::FloatInput { .. } => {
                Err(self.unsupported(format!("output '{name}' is an unquantized input")))
            }
        }
    }

    fn lower_node(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let a = Attrs(n);
        let out = match n.op_type.as_str() {
            "QuantizeLinear" => self.quantize_linear(n, &a)?,
            "DequantizeLinear" => self.dequantize_linear(n, &a)?,
            "QLinearMatMul" => self.qlinear_matmul(n)?,
            "QLinearConv" => self.qlinear_conv(n, &a)?,
            "QGemm" => self.qgemm(n, &a)?,
            "QLinearAdd" => self.qlinear_add(n)?,
            "MatMulInteger" => self.matmul_integer(n)?,
            "ConvInteger" => self.conv_integer(n, &a)?,
            "Gemm" => self.gemm(n, &a)?,
            "MatMul" => self.matmul(n)?,
            "Conv" => self.conv(n, &a)?,
            "Relu" => self.clip(n, Some(0.0), None)?,
            "Clip" => {
                let (lo, hi) = if self.model.opset < 11 {
                    (
                        Some(a.float("min", f32::MIN) as f64),
                        Some(a.float("max", f32::MAX) as f64),
                    )
                } else {
                    (self.scalar_input(n, 1)?, self.scalar_input(n, 2)?)
                };
                self.clip(n, lo, hi)?
            }
            "MaxPool" | "GlobalMaxPool" => self.max_pool(n, &a)?,
            "ConvTranspose" => self.conv_transpose(n, &a)?,
            "AveragePool" | "GlobalAveragePool" => self.avg_pool(n, &a)?,
            "Add" | "Sub" | "Mul" | "Div" => self.binary(n)?,
            "Pow" => self.pow(n)?,
            "Sigmoid" | "Tanh" | "Exp" | "Erf" | "Neg" | "Abs" | "Sign" | "Log" | "Sqrt"
            | "Reciprocal" | "Floor" | "Ceil" | "Round" | "Softplus" | "Softsign" | "HardSwish"
            | "Mish" | "Elu" | "Celu" | "Selu" | "LeakyRelu" | "ThresholdedRelu"
            | "HardSigmoid" | "Shrink" => self.unary(n, &a)?,
            "PRelu" => self.prelu(n)?,
            "Max" | "Min" | "Sum" | "Mean" => self.variadic(n)?,
            "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" => self.reduce(n, &a)?,
            "LogSoftmax" => self.log_softmax(n, &a)?,
            "InstanceNormalization" => self.instance_norm(n, &a)?,
            "LayerNormalization" => self.layer_norm(n, &a)?,
            "RMSNormalization" => self.rms_norm(n, &a)?,
            "Softmax" => self.softmax(n, &a)?,
            "MaskedSoftmax" => self.masked_softmax(n)?,
            "Elementwise" => self.elementwise(n)?,
            "Cast" => self.cast(n, &a)?,
            "Where" => self.where_(n)?,
            "BatchNormalization" => self.batch_norm(n, &a)?,
            "Flatten" | "Reshape" | "Transpose" | "Squeeze" | "Unsqueeze" | "Identity" => {
                self.layout(n, &a)?
            }
            "Concat" => self.concat(n, &a)?,
            "Slice" => self.slice(n, &a)?,
            "Split" => self.split(n, &a)?,
            "Expand" | "Tile" => self.expand_tile(n)?,
            "Gather" => self.gather(n, &a)?,
            "Pad" => self.pad(n, &a)?,
            "Constant" => self.constant(&a)?,
            "Shape" => {
                let v = self.required(n, 0)?;
                let shape = self.shape_of(&v);
                // opset 15: the dimensions start..end (negative from the end, clamped)
                let r = shape.len() as i64;
                let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let (start, end) = (norm(a.int("start", 0)), norm(a.int("end", r)));
                let dims = &shape[start..end.max(start)];
                vec![Value::Const(ConstTensor {
                    dtype: DType::I64,
                    shape: vec![dims.len()],
                    data: dims.iter().map(|&d| d as f64).collect(),
                })]
            }
            other => return Err(self.unsupported(format!("op {other} has no lowering"))),
        };
        if n.output.iter().skip(out.len()).any(|o| !o.is_empty()) {
            return Err(self.unsupported("optional outputs are not supported"));
        }
        Ok(out)
    }
}

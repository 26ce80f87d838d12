//! Lowering ONNX nodes to Plan ops. Every ONNX tensor becomes a [`Value`];
//! float results stay symbolic ([`Affine`], [`Lazy`]) until their output
//! quantization is known (a `QuantizeLinear` in int8 models, calibrated
//! parameters in float models), where they become one requantizing op.

mod layout;
mod linear;
mod quant;
mod requant;
mod unary;

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
    /// onnxruntime does, then used exactly.
    Exact,
    /// float models: per-tensor ranges from calibration, `bits`-bit activations.
    Calibrated {
        ranges: HashMap<String, (f64, f64)>,
        bits: u32,
    },
}

pub struct Lowerer<'m> {
    pub plan: Plan,
    pub mode: Mode,
    model: &'m LoadedModel,
    values: HashMap<String, Value>,
    /// op types that read each tensor
    consumers: HashMap<String, Vec<String>>,
    node: String,
    op: String,
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
        Lowerer {
            plan: Plan {
                name: model.name.clone(),
                ..Plan::default()
            },
            mode,
            model,
            values: HashMap::new(),
            consumers,
            node: String::new(),
            op: String::new(),
        }
    }

    pub(crate) fn model_opset(&self) -> i64 {
        self.model.opset
    }

    pub fn exact(&self) -> bool {
        matches!(self.mode, Mode::Exact)
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
            Lazy::Sum { shape, .. } | Lazy::Prod { shape, .. } => shape.clone(),
            Lazy::Unary { x, .. } | Lazy::Softmax { x, .. } | Lazy::ChannelAffine { x, .. } => {
                self.affine_shape(x)
            }
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

    // ---- calibration --------------------------------------------------

    /// Calibrated output parameters of tensor `name` (float models).
    pub(crate) fn calibrated(&self, name: &str) -> Result<QParams> {
        let Mode::Calibrated { ranges, bits } = &self.mode else {
            return Err(self.unsupported(format!(
                "float tensor '{name}' is not quantized (no QuantizeLinear follows it)"
            )));
        };
        let (lo, hi) = ranges
            .get(name)
            .copied()
            .ok_or_else(|| self.malformed(format!("no calibration range for '{name}'")))?;
        Ok(qparams_for_range(lo, hi, *bits))
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
                let q = self.calibrated(name)?;
                self.requant_to_affine(Value::Real(a), q)
            }
            Value::Real(a) if !a.wide && a.per_tensor() => self.apply_clip(a),
            Value::Real(_) | Value::Lazy(_) => {
                let q = self.calibrated(name)?;
                self.requant_to_affine(v, q)
            }
            Value::Const(c) => self.const_affine(&c),
            Value::Int { .. } => Err(self.malformed(format!(
                "'{name}' is an integer tensor where a float is expected"
            ))),
            Value::FloatInput { .. } => Err(self.unsupported(format!(
                "float input '{name}' is used without QuantizeLinear"
            ))),
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

    /// Quantizes a float constant symmetrically to int8 (weights of float
    /// models, constant operands).
    pub(crate) fn const_affine(&self, c: &ConstTensor) -> Result<Affine> {
        let max = c.data.iter().fold(0f64, |m, v| m.max(v.abs()));
        if !max.is_finite() {
            return Err(self.malformed("constant holds NaN or infinity"));
        }
        let scale = if max == 0.0 { 1.0 } else { max / 127.0 };
        let data = c
            .data
            .iter()
            .map(|v| (v / scale).round_ties_even().clamp(-127.0, 127.0))
            .collect();
        Ok(Affine {
            src: Src::Const(ConstTensor {
                dtype: DType::I8,
                shape: c.shape.clone(),
                data,
            }),
            scales: vec![scale],
            zeros: vec![0],
            axis: 0,
            clip: None,
            wide: false,
        })
    }

    /// Quantizes a float constant per channel along `axis` (weights).
    pub(crate) fn const_affine_per_channel(&self, c: &ConstTensor, axis: usize) -> Result<Affine> {
        let ch = c.shape[axis];
        let inner: usize = c.shape[axis + 1..].iter().product();
        let mut max = vec![0f64; ch];
        for (i, v) in c.data.iter().enumerate() {
            let k = (i / inner) % ch;
            max[k] = max[k].max(v.abs());
        }
        if max.iter().any(|m| !m.is_finite()) {
            return Err(self.malformed("weights hold NaN or infinity"));
        }
        // a channel far smaller than the largest (a near-dead neuron) is
        // quantized at 1/256 of the largest channel's scale: its weights use
        // fewer levels, and the requantization multipliers of the layer span
        // at most 8 bits (so their shift, and the range checks, stay short)
        let floor = max.iter().cloned().fold(0f64, f64::max) / 127.0 / 256.0;
        let scales: Vec<f64> = max
            .iter()
            .map(|&m| {
                if m == 0.0 {
                    1.0
                } else {
                    (m / 127.0).max(floor)
                }
            })
            .collect();
        let data = c
            .data
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (v / scales[(i / inner) % ch])
                    .round_ties_even()
                    .clamp(-127.0, 127.0)
            })
            .collect();
        Ok(Affine {
            src: Src::Const(ConstTensor {
                dtype: DType::I8,
                shape: c.shape.clone(),
                data,
            }),
            zeros: vec![0; ch],
            scales,
            axis,
            clip: None,
            wide: false,
        })
    }

    // ---- the pass -----------------------------------------------------

    pub fn run(mut self) -> Result<Plan> {
        let model = self.model;
        for gi in &model.inputs {
            let v = if gi.dtype.is_float() {
                if self.exact() {
                    Value::FloatInput {
                        name: gi.name.clone(),
                        shape: gi.shape.clone(),
                    }
                } else {
                    self.node = gi.name.clone();
                    let q = self.calibrated(&gi.name)?;
                    let id = self.add_input(
                        &gi.name,
                        &gi.shape,
                        InputQuant::Affine {
                            scale: q.scale as f32,
                            zero_point: q.zero,
                        },
                        q.lo,
                        q.hi,
                    )?;
                    Value::Real(Affine {
                        src: Src::Plan(id),
                        scales: vec![q.scale as f32 as f64],
                        zeros: vec![q.zero],
                        axis: 0,
                        clip: None,
                        wide: false,
                    })
                }
            } else {
                let (lo, hi) = gi
                    .dtype
                    .int_range()
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
        Ok(self.plan)
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
        match v {
            Value::Lazy(crate::value::Lazy::ChannelAffine { .. }) if clip_only => Ok(v),
            Value::Real(ref a) if a.wide && a.clip.is_none() && bn_only => Ok(v),
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
            Value::Lazy(_) => {
                let q = self.calibrated(name)?;
                Ok(Value::Real(self.requant_to_affine(v, q)?))
            }
            Value::Real(ref a) if (a.wide || !a.per_tensor() || a.clip.is_some()) && !clip_only => {
                let q = self.calibrated(name)?;
                Ok(Value::Real(self.requant_to_affine(v, q)?))
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
            "MaxPool" => self.max_pool(n, &a)?,
            "AveragePool" | "GlobalAveragePool" => self.avg_pool(n, &a)?,
            "Add" | "Sub" | "Mul" | "Div" => self.binary(n)?,
            "Sigmoid" | "Tanh" => self.unary(n)?,
            "Softmax" => self.softmax(n, &a)?,
            "BatchNormalization" => self.batch_norm(n, &a)?,
            "Flatten" | "Reshape" | "Transpose" | "Squeeze" | "Unsqueeze" | "Identity" => {
                self.layout(n, &a)?
            }
            "Concat" => self.concat(n, &a)?,
            "Constant" => self.constant(&a)?,
            "Shape" => {
                let v = self.required(n, 0)?;
                let shape = self.shape_of(&v);
                vec![Value::Const(ConstTensor {
                    dtype: DType::I64,
                    shape: vec![shape.len()],
                    data: shape.iter().map(|&d| d as f64).collect(),
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

/// Asymmetric quantization of a real range `[lo, hi]` (widened to contain 0)
/// onto signed `bits`-bit integers.
pub fn qparams_for_range(lo: f64, hi: f64, bits: u32) -> QParams {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let (qlo, qhi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    let span = (hi - lo).max(1e-8);
    let scale = ((span / (qhi - qlo) as f64) as f32) as f64;
    let zero = ((qlo as f64 - lo / scale).round() as i64).clamp(qlo, qhi);
    QParams {
        scale,
        zero,
        lo: qlo,
        hi: qhi,
    }
}

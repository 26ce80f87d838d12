//! int8 model ops: QuantizeLinear / DequantizeLinear (QDQ) and the QOperator
//! family (QLinearMatMul, QLinearConv, QGemm, QLinearAdd, MatMulInteger,
//! ConvInteger), lowered with onnxruntime's exact integer semantics.

use super::{Lowerer, QParams};
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::value::{Affine, ConstTensor, DType, Src, Value};
use zkinf_circuits::{InputQuant, Op, TensorId};

impl Lowerer<'_> {
    /// Positive finite scales from a constant input.
    pub(crate) fn scales_input(&self, n: &NodeProto, k: usize) -> Result<Vec<f64>> {
        let c = self
            .const_input(n, k)?
            .ok_or_else(|| self.malformed(format!("scale input {k} is missing")))?;
        if c.data.is_empty() {
            return Err(self.malformed("empty scale"));
        }
        for &s in &c.data {
            if !(s.is_finite() && s > 0.0) {
                return Err(self.malformed(format!("scale {s} must be a positive finite number")));
            }
        }
        Ok(c.data.iter().map(|&s| s as f32 as f64).collect())
    }

    /// Zero points (default 0) and the integer type they imply.
    pub(crate) fn zeros_input(
        &self,
        n: &NodeProto,
        k: usize,
        default: DType,
    ) -> Result<(Vec<i64>, DType)> {
        match self.const_input(n, k)? {
            None => Ok((vec![0], default)),
            Some(c) if c.data.is_empty() => Err(self.malformed("empty zero point")),
            Some(c) => Ok((c.ints(), c.dtype)),
        }
    }

    pub(crate) fn int_range(&self, dt: DType) -> Result<(i64, i64)> {
        dt.int_range()
            .ok_or_else(|| self.unsupported(format!("integer type {} is not supported", dt.name())))
    }

    /// An integer operand of a QOperator op, as a plan tensor.
    pub(crate) fn int_operand(&mut self, v: Value) -> Result<TensorId> {
        match v {
            Value::Int { id, .. } => Ok(id),
            Value::Const(c) if !c.dtype.is_float() => self.push_const(&c),
            _ => Err(self.malformed("expected an integer tensor")),
        }
    }

    fn axis_attr(&self, a: &Attrs, rank: usize, default: i64) -> Result<usize> {
        let ax = a.int("axis", default);
        let ax = if ax < 0 { ax + rank as i64 } else { ax };
        if ax < 0 || ax as usize >= rank.max(1) {
            return Err(self.malformed(format!(
                "axis {} out of range for rank {rank}",
                a.int("axis", default)
            )));
        }
        Ok(ax as usize)
    }

    pub(crate) fn quantize_linear(&mut self, n: &NodeProto, a: &Attrs) -> Result<Vec<Value>> {
        if a.has("block_size") && a.int("block_size", 0) != 0 {
            return Err(self.unsupported("blocked quantization"));
        }
        let x = self.required(n, 0)?;
        let scales = self.scales_input(n, 1)?;
        let default = match a.int("output_dtype", 0) {
            0 => DType::U8,
            code => DType::from_onnx(code as i32),
        };
        let (zeros, dtype) = self.zeros_input(n, 2, default)?;
        if zeros.len() > 1 && zeros.len() != scales.len() {
            return Err(self.malformed("zero points and scales differ in number"));
        }
        let (lo, hi) = self.int_range(dtype)?;
        let shape = self.shape_of(&x);
        let axis = if scales.len() > 1 {
            self.axis_attr(a, shape.len(), 1)?
        } else {
            0
        };
        if let Value::Const(c) = &x {
            let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
            let ch = scales.len();
            let data = c
                .data
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let k = if ch > 1 { (i / inner.max(1)) % ch } else { 0 };
                    let z = zeros[if zeros.len() > 1 { k } else { 0 }];
                    let r = ((v as f32) / scales[k] as f32).round_ties_even() as f64 + z as f64;
                    r.clamp(lo as f64, hi as f64)
                })
                .collect();
            return Ok(vec![Value::Const(ConstTensor {
                dtype,
                shape: c.shape.clone(),
                data,
            })]);
        }
        if scales.len() != 1 || zeros.len() != 1 {
            return Err(self.unsupported("per-axis quantization of a computed tensor"));
        }
        let q = QParams {
            scale: scales[0],
            zero: zeros[0],
            lo,
            hi,
        };
        let id = match x {
            Value::FloatInput { name, shape, clip } => {
                let id = self.add_input(
                    &name,
                    &shape,
                    InputQuant::Affine {
                        scale: q.scale as f32,
                        zero_point: q.zero,
                    },
                    lo,
                    hi,
                )?;
                match clip {
                    // quantization is monotone: Q(clip(x)) = clamp(Q(x), Q(lo), Q(hi))
                    Some((rlo, rhi)) => {
                        let quant = |r: f64| {
                            ((r as f32 / q.scale as f32).round_ties_even() as f64 + q.zero as f64)
                                .clamp(lo as f64, hi as f64) as i64
                        };
                        let (l, h) = (
                            if rlo.is_finite() { quant(rlo) } else { lo },
                            if rhi.is_finite() { quant(rhi) } else { hi },
                        );
                        self.push(
                            Op::Clamp {
                                lo: l,
                                hi: h.max(l),
                            },
                            vec![id],
                            None,
                        )?
                    }
                    None => id,
                }
            }
            v => self.requant(v, q)?,
        };
        Ok(vec![Value::Int { id, dtype }])
    }

    pub(crate) fn dequantize_linear(&mut self, n: &NodeProto, a: &Attrs) -> Result<Vec<Value>> {
        if a.has("block_size") && a.int("block_size", 0) != 0 {
            return Err(self.unsupported("blocked quantization"));
        }
        let x = self.required(n, 0)?;
        let scales = self.scales_input(n, 1)?;
        let (zeros, _) = self.zeros_input(n, 2, DType::U8)?;
        let shape = self.shape_of(&x);
        let axis = if scales.len() > 1 {
            self.axis_attr(a, shape.len(), 1)?
        } else {
            0
        };
        if scales.len() > 1 && shape.get(axis) != Some(&scales.len()) {
            return Err(self.malformed("per-axis scales do not match the axis length"));
        }
        if zeros.len() > 1 && zeros.len() != scales.len() {
            return Err(self.malformed("zero points and scales differ in number"));
        }
        let (src, dtype) = match x {
            Value::Const(c) if !c.dtype.is_float() => {
                let dt = c.dtype;
                (Src::Const(c), dt)
            }
            Value::Int { id, dtype } => (Src::Plan(id), dtype),
            _ => return Err(self.malformed("DequantizeLinear needs an integer input")),
        };
        let wide = matches!(dtype, DType::I32);
        Ok(vec![Value::Real(Affine {
            src,
            scales,
            zeros,
            axis,
            clip: None,
            wide,
        })])
    }

    /// Requantizes an accumulator with per-column/channel scales.
    fn requant_acc(
        &mut self,
        acc: TensorId,
        acc_scales: Vec<f64>,
        axis: usize,
        y_scale: f64,
        y_zero: i64,
        dtype: DType,
    ) -> Result<Value> {
        let (lo, hi) = self.int_range(dtype)?;
        let a = Affine {
            src: Src::Plan(acc),
            scales: acc_scales,
            zeros: vec![0],
            axis,
            clip: None,
            wide: true,
        };
        let id = self.requant(
            Value::Real(a),
            QParams {
                scale: y_scale,
                zero: y_zero,
                lo,
                hi,
            },
        )?;
        Ok(Value::Int { id, dtype })
    }

    fn single(&self, v: &[f64], what: &str) -> Result<f64> {
        if v.len() == 1 {
            Ok(v[0])
        } else {
            Err(self.unsupported(format!("per-axis {what}")))
        }
    }

    pub(crate) fn qlinear_matmul(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let (a, b) = (self.required(n, 0)?, self.required(n, 3)?);
        let sa = self.scales_input(n, 1)?;
        let sa = self.single(&sa, "input scale")?;
        let (za, _) = self.zeros_input(n, 2, DType::U8)?;
        let sb = self.scales_input(n, 4)?;
        let (zb, _) = self.zeros_input(n, 5, DType::U8)?;
        let sy = self.scales_input(n, 6)?;
        let sy = self.single(&sy, "output scale")?;
        let (zy, dty) = self.zeros_input(n, 7, DType::U8)?;
        let (a_id, b_id) = (self.int_operand(a)?, self.int_operand(b)?);
        let acc = self.push(
            Op::MatMul {
                a_zero: za[0],
                b_zero: zb,
            },
            vec![a_id, b_id],
            None,
        )?;
        let rank = self.plan.info(acc).shape.len();
        let scales = sb.iter().map(|&s| self.scale_mul(sa, s)).collect();
        Ok(vec![self.requant_acc(
            acc,
            scales,
            rank - 1,
            sy,
            zy[0],
            dty,
        )?])
    }

    pub(crate) fn qlinear_conv(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let (x, w) = (self.required(n, 0)?, self.required(n, 3)?);
        let sx = self.scales_input(n, 1)?;
        let sx = self.single(&sx, "input scale")?;
        let (zx, _) = self.zeros_input(n, 2, DType::U8)?;
        let sw = self.scales_input(n, 4)?;
        let (zw, _) = self.zeros_input(n, 5, DType::U8)?;
        let sy = self.scales_input(n, 6)?;
        let sy = self.single(&sy, "output scale")?;
        let (zy, dty) = self.zeros_input(n, 7, DType::U8)?;
        let bias = self.input(n, 8)?;
        let (x_id, w_id) = (self.int_operand(x)?, self.int_operand(w)?);
        let mut ins = vec![x_id, w_id];
        if let Some(b) = bias {
            ins.push(self.int_operand(b)?);
        }
        let acc = self.conv_node(at, zx[0], zw, ins)?;
        let scales = sw.iter().map(|&s| self.scale_mul(sx, s)).collect();
        Ok(vec![self.requant_acc(acc, scales, 1, sy, zy[0], dty)?])
    }

    pub(crate) fn qgemm(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        if at.int("transA", 0) != 0 {
            return Err(self.unsupported("QGemm with transA"));
        }
        let alpha = at.float("alpha", 1.0) as f64;
        let a = self.required(n, 0)?;
        let sa = self.scales_input(n, 1)?;
        let sa = self.single(&sa, "input scale")?;
        let (za, _) = self.zeros_input(n, 2, DType::U8)?;
        let b = self.required(n, 3)?;
        let sb = self.scales_input(n, 4)?;
        let (zb, _) = self.zeros_input(n, 5, DType::U8)?;
        let c = self.input(n, 6)?;
        let a_id = self.int_operand(a)?;
        let b_id = match (b, at.int("transB", 0) != 0) {
            (Value::Const(c), true) => {
                let t = super::layout::transpose_const(&c, &[1, 0])
                    .ok_or_else(|| self.malformed("QGemm weights must be a matrix"))?;
                self.push_const(&t)?
            }
            (v, true) => {
                let id = self.int_operand(v)?;
                self.push(Op::Transpose { perm: vec![1, 0] }, vec![id], None)?
            }
            (v, false) => self.int_operand(v)?,
        };
        let mut ins = vec![a_id, b_id];
        if let Some(c) = c {
            let id = self.int_operand(c)?;
            let ncols = *self.plan.info(b_id).shape.last().unwrap_or(&0);
            let shape = self.plan.info(id).shape.clone();
            let id = if shape != [ncols] {
                self.push(Op::Reshape, vec![id], Some(vec![ncols]))?
            } else {
                id
            };
            ins.push(id);
        }
        let acc = self.push(
            Op::MatMul {
                a_zero: za[0],
                b_zero: zb,
            },
            ins,
            None,
        )?;
        let scales: Vec<f64> = sb
            .iter()
            .map(|&s| self.scale_mul(self.scale_mul(alpha, sa), s))
            .collect();
        match self.input(n, 7)? {
            Some(_) => {
                let sy = self.scales_input(n, 7)?;
                let sy = self.single(&sy, "output scale")?;
                let (zy, dty) = self.zeros_input(n, 8, DType::U8)?;
                Ok(vec![self.requant_acc(acc, scales, 1, sy, zy[0], dty)?])
            }
            None => Ok(vec![Value::Real(Affine {
                src: Src::Plan(acc),
                scales,
                zeros: vec![0],
                axis: 1,
                clip: None,
                wide: true,
            })]),
        }
    }

    pub(crate) fn qlinear_add(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let (a, b) = (self.required(n, 0)?, self.required(n, 3)?);
        let sa = self.scales_input(n, 1)?;
        let (za, _) = self.zeros_input(n, 2, DType::U8)?;
        let sb = self.scales_input(n, 4)?;
        let (zb, _) = self.zeros_input(n, 5, DType::U8)?;
        let sc = self.scales_input(n, 6)?;
        let (zc, dtc) = self.zeros_input(n, 7, DType::U8)?;
        let (sa, sb, sc) = (
            self.single(&sa, "scale")?,
            self.single(&sb, "scale")?,
            self.single(&sc, "scale")?,
        );
        let (a_id, b_id) = (self.int_operand(a)?, self.int_operand(b)?);
        let (lo, hi) = self.int_range(dtc)?;
        let da = self.ratio(sa, sc)?;
        let db = self.ratio(sb, sc)?;
        let (m, shift) = zkinf_circuits::arith::common_shift(&[da, db])
            .ok_or_else(|| self.unsupported("scale ratios span too many powers of two"))?;
        let id = self.push(
            Op::Add {
                a_zero: za[0],
                b_zero: zb[0],
                a_mult: m[0],
                b_mult: m[1],
                shift,
                out_zero: zc[0],
                lo,
                hi,
            },
            vec![a_id, b_id],
            None,
        )?;
        Ok(vec![Value::Int { id, dtype: dtc }])
    }

    pub(crate) fn matmul_integer(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let (a, b) = (self.required(n, 0)?, self.required(n, 1)?);
        let (za, _) = self.zeros_input(n, 2, DType::U8)?;
        let (zb, _) = self.zeros_input(n, 3, DType::U8)?;
        if za.len() != 1 {
            return Err(self.unsupported("per-row zero points of A"));
        }
        let (a_id, b_id) = (self.int_operand(a)?, self.int_operand(b)?);
        let id = self.push(
            Op::MatMul {
                a_zero: za[0],
                b_zero: zb,
            },
            vec![a_id, b_id],
            None,
        )?;
        Ok(vec![Value::Int {
            id,
            dtype: DType::I32,
        }])
    }

    pub(crate) fn conv_integer(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let (x, w) = (self.required(n, 0)?, self.required(n, 1)?);
        let (zx, _) = self.zeros_input(n, 2, DType::U8)?;
        let (zw, _) = self.zeros_input(n, 3, DType::U8)?;
        let (x_id, w_id) = (self.int_operand(x)?, self.int_operand(w)?);
        let id = self.conv_node(at, zx[0], zw, vec![x_id, w_id])?;
        Ok(vec![Value::Int {
            id,
            dtype: DType::I32,
        }])
    }
}

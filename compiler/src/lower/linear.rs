//! Gemm, MatMul and Conv on real tensors (QDQ and float models): integer
//! products with zero points, the bias folded in at the accumulator's scale.

use super::Lowerer;
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::value::{Affine, ConstTensor, Src, Value};
use zkinf_circuits::{Op, TensorId};

impl Lowerer<'_> {
    /// Weights: a dequantized constant, a float constant quantized per
    /// channel along `axis`, or a computed activation.
    fn weights(&mut self, v: Value, name: &str, axis: usize) -> Result<Affine> {
        match v {
            Value::Real(a) if !a.wide && a.clip.is_none() => Ok(a),
            Value::Const(c) if c.dtype.is_float() => {
                if c.shape.len() <= axis {
                    return Err(self.malformed(format!("weights of shape {:?}", c.shape)));
                }
                self.const_affine_per_channel(&c, axis)
            }
            v => self.activation(v, name),
        }
    }

    /// Zero points of `b` as MatMul needs them: one, or one per column.
    fn column_zeros(&self, b: &Affine, col_axis: usize) -> Result<Vec<i64>> {
        if b.zeros.len() <= 1 || b.zeros.iter().all(|&z| z == b.zeros[0]) {
            return Ok(vec![b.zero()]);
        }
        if b.axis != col_axis {
            return Err(self.unsupported("per-axis weights along a reduced axis"));
        }
        Ok(b.zeros.clone())
    }

    fn check_scale_axis(&self, b: &Affine, want: usize) -> Result<()> {
        if b.scales.len() > 1 && b.axis != want {
            return Err(self.unsupported("per-axis weights along a reduced axis"));
        }
        Ok(())
    }

    /// Bias at the accumulator's scales, as an integer constant `[n]`.
    pub(crate) fn bias(
        &mut self,
        c: Option<Value>,
        acc_scales: &[f64],
        n: usize,
        beta: f64,
    ) -> Result<Option<TensorId>> {
        let Some(c) = c else { return Ok(None) };
        let (reals, given): (Vec<f64>, Vec<Option<i64>>) = match c {
            Value::Real(Affine {
                src: Src::Const(q),
                scales,
                zeros,
                ..
            }) => {
                let at = |v: &Vec<f64>, j: usize| if v.len() == 1 { v[0] } else { v[j] };
                let zs: Vec<f64> = zeros.iter().map(|&z| z as f64).collect();
                let zs = if zs.is_empty() { vec![0.0] } else { zs };
                q.data
                    .iter()
                    .enumerate()
                    .map(|(j, &v)| {
                        let s = at(&scales, j);
                        let z = at(&zs, j);
                        let acc = acc_scales[if acc_scales.len() == 1 {
                            0
                        } else {
                            j.min(acc_scales.len() - 1)
                        }];
                        let same = (s - acc).abs() <= 1e-6 * acc;
                        ((v - z) * s, same.then_some((v - z) as i64))
                    })
                    .unzip()
            }
            Value::Const(c) if c.dtype.is_float() => (
                c.data.iter().map(|v| v * beta).collect(),
                vec![None; c.data.len()],
            ),
            _ => return Err(self.unsupported("a computed bias")),
        };
        let len = reals.len();
        if len != n && len != 1 {
            return Err(self.unsupported(format!("bias of {len} values for {n} outputs")));
        }
        let mut out = Vec::with_capacity(n);
        for j in 0..n {
            let k = if len == 1 { 0 } else { j };
            let acc = acc_scales[if acc_scales.len() == 1 { 0 } else { j }];
            let v = match given[k] {
                Some(q) => q as f64,
                None => (reals[k] / acc).round_ties_even(),
            };
            if !v.is_finite() || v.abs() > 2f64.powi(40) {
                return Err(self.malformed("bias does not fit at the accumulator's scale"));
            }
            out.push(v);
        }
        let id = self.push_const(&ConstTensor {
            dtype: crate::value::DType::I32,
            shape: vec![n],
            data: out,
        })?;
        Ok(Some(id))
    }

    pub(crate) fn acc_scales(&self, a: &Affine, b: &Affine, alpha: f64) -> Vec<f64> {
        let sa = self.scale_mul(alpha, a.scale());
        b.scales.iter().map(|&s| self.scale_mul(sa, s)).collect()
    }

    pub(crate) fn gemm(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let (alpha, beta) = (at.float("alpha", 1.0) as f64, at.float("beta", 1.0) as f64);
        let (trans_a, trans_b) = (at.int("transA", 0) != 0, at.int("transB", 0) != 0);
        if self.exact() && (alpha != 1.0 || (beta != 1.0 && n.input.len() > 2)) {
            return Err(self.unsupported("Gemm with alpha or beta other than 1 in an int8 model"));
        }
        let a = self.required(n, 0)?;
        let mut a = self.activation(a, &n.input[0])?;
        if trans_a {
            let id = self.src_id(&a.src)?;
            a.src = Src::Plan(self.push(Op::Transpose { perm: vec![1, 0] }, vec![id], None)?);
        }
        let b = self.required(n, 1)?;
        let b = self.weights(b, &n.input[1], if trans_b { 0 } else { 1 })?;
        let b = if trans_b {
            self.transpose_affine(b, &[1, 0])?
        } else {
            b
        };
        self.check_scale_axis(&b, 1)?;
        let b_zero = self.column_zeros(&b, 1)?;
        let (a_id, b_id) = (self.src_id(&a.src)?, self.src_id(&b.src)?);
        let ncols = self.plan.info(b_id).shape[1];
        let scales = self.acc_scales(&a, &b, alpha);
        let mut ins = vec![a_id, b_id];
        // a computed bias (not a constant, nor one behind a DequantizeLinear)
        // is added after the product, as an activation
        let computed = match self.input(n, 2)? {
            Some(Value::Const(_)) | None => None,
            Some(Value::Real(Affine {
                src: Src::Const(_), ..
            })) => None,
            Some(v) => Some(v),
        };
        if computed.is_none() {
            if let Some(bias) = self.bias(self.input(n, 2)?, &scales, ncols, beta)? {
                ins.push(bias);
            }
        }
        if self.plan.info(a_id).shape.len() != 2 || self.plan.info(b_id).shape.len() != 2 {
            return Err(self.malformed("Gemm operands must be matrices"));
        }
        let acc = self.push(
            Op::MatMul {
                a_zero: a.zero(),
                b_zero,
            },
            ins,
            None,
        )?;
        let shape = self.plan.info(acc).shape.clone();
        let acc = Affine {
            src: Src::Plan(acc),
            scales,
            zeros: vec![0],
            axis: 1,
            clip: None,
            wide: true,
        };
        let Some(c) = computed else {
            return Ok(vec![Value::Real(acc)]);
        };
        if !acc.per_tensor() {
            return Err(self.unsupported("a computed Gemm bias with per-channel weights"));
        }
        let mut c = self.activation(c, &n.input[2])?;
        if beta == 0.0 || !beta.is_finite() {
            return Ok(vec![Value::Real(acc)]);
        }
        c.scales = vec![c.scale() * beta.abs()];
        Ok(vec![Value::Lazy(crate::value::Lazy::Sum {
            a: acc,
            b: c,
            b_sign: if beta < 0.0 { -1 } else { 1 },
            shape,
        })])
    }

    pub(crate) fn matmul(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let a = self.required(n, 0)?;
        let b = self.required(n, 1)?;
        let a = self.activation(a, &n.input[0])?;
        let b_rank = self.shape_of(&b).len();
        if b_rank < 2 || self.affine_shape(&a).len() < 2 {
            return Err(self.unsupported("MatMul with a 1-D operand"));
        }
        let b = self.weights(b, &n.input[1], b_rank - 1)?;
        self.check_scale_axis(&b, b_rank - 1)?;
        let b_zero = self.column_zeros(&b, b_rank - 1)?;
        let (a_id, b_id) = (self.src_id(&a.src)?, self.src_id(&b.src)?);
        let scales = self.acc_scales(&a, &b, 1.0);
        let acc = self.push(
            Op::MatMul {
                a_zero: a.zero(),
                b_zero,
            },
            vec![a_id, b_id],
            None,
        )?;
        let rank = self.plan.info(acc).shape.len();
        Ok(vec![Value::Real(Affine {
            src: Src::Plan(acc),
            scales,
            zeros: vec![0],
            axis: rank - 1,
            clip: None,
            wide: true,
        })])
    }

    pub(crate) fn conv(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let x = self.activation(x, &n.input[0])?;
        let w = self.required(n, 1)?;
        let w = self.weights(w, &n.input[1], 0)?;
        self.check_scale_axis(&w, 0)?;
        let w_zero = self.column_zeros(&w, 0)?;
        let rank = self.affine_shape(&x).len();
        let scales = self.acc_scales(&x, &w, 1.0);
        let acc = if rank == 4 {
            let (x_id, w_id) = (self.src_id(&x.src)?, self.src_id(&w.src)?);
            let c_out = self.plan.info(w_id).shape.first().copied().unwrap_or(0);
            let mut ins = vec![x_id, w_id];
            if let Some(bias) = self.bias(self.input(n, 2)?, &scales, c_out, 1.0)? {
                ins.push(bias);
            }
            self.conv_node(at, x.zero(), w_zero, ins)?
        } else {
            // 1-D and 3-D: see window.rs
            let x_id = self.src_id(&x.src)?;
            let c_out = self.affine_shape(&w).first().copied().unwrap_or(0);
            let bias = self.bias(self.input(n, 2)?, &scales, c_out, 1.0)?;
            self.conv_nd(at, x_id, x.zero(), &w, w_zero, bias)?
        };
        Ok(vec![Value::Real(Affine {
            src: Src::Plan(acc),
            scales,
            zeros: vec![0],
            axis: 1,
            clip: None,
            wide: true,
        })])
    }

    /// Parses Conv attributes (2-D only) and pushes the Conv op.
    pub(crate) fn conv_node(
        &mut self,
        at: &Attrs,
        x_zero: i64,
        w_zero: Vec<i64>,
        ins: Vec<TensorId>,
    ) -> Result<TensorId> {
        let xs = self.plan.info(ins[0]).shape.clone();
        let ws = self.plan.info(ins[1]).shape.clone();
        if xs.len() != ws.len() || !(3..=5).contains(&xs.len()) {
            return Err(self.unsupported(format!(
                "convolutions of a rank-{} input by rank-{} weights (1-D to 3-D are supported)",
                xs.len(),
                ws.len()
            )));
        }
        if xs.len() != 4 {
            // 1-D and 3-D (QLinearConv, ConvInteger): see window.rs
            let Op::Const { values } = &self.plan.nodes[ins[1] as usize].op else {
                return Err(self.unsupported("computed weights for a 1-D or 3-D convolution"));
            };
            let w = Affine {
                src: Src::Const(ConstTensor {
                    dtype: crate::value::DType::I32,
                    shape: ws.clone(),
                    data: values.iter().map(|&v| v as f64).collect(),
                }),
                scales: vec![1.0],
                zeros: vec![0],
                axis: 0,
                clip: None,
                wide: false,
            };
            return self.conv_nd(at, ins[0], x_zero, &w, w_zero, ins.get(2).copied());
        }
        if let Some(k) = at.ints("kernel_shape") {
            if k.len() != 2 || k[0] as usize != ws[2] || k[1] as usize != ws[3] {
                return Err(
                    self.malformed(format!("kernel_shape {k:?} does not match weights {ws:?}"))
                );
            }
        }
        let (strides, pads, dilations) = self.window_attrs(at, [ws[2], ws[3]], &xs)?;
        let group = at.int("group", 1);
        if group < 1 {
            return Err(self.malformed("group must be positive"));
        }
        self.push(
            Op::Conv {
                x_zero,
                w_zero,
                strides,
                pads,
                dilations,
                group: group as usize,
            },
            ins,
            None,
        )
    }

    /// strides, pads (resolving auto_pad) and dilations of a 2-D window op.
    pub(crate) fn window_attrs(
        &self,
        at: &Attrs,
        kernel: [usize; 2],
        xs: &[usize],
    ) -> Result<crate::shapes::Window> {
        crate::shapes::window_attrs(at, kernel, xs).map_err(|e| self.window_error(e))
    }
}

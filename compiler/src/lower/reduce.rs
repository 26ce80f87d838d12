//! Variadic elementwise ops (Max, Min, Sum, Mean) and reductions
//! (ReduceSum, ReduceMean): exact integer arithmetic on existing Plan ops.
//! - `max(a, b) = a + max(b - a, 0)` with both at the output's quantization
//!   (an Add, a Clamp, an Add: exact in integers), `min` likewise;
//! - a sum of `k` real tensors is `k - 1` Adds (intermediate sums at 16
//!   bits), a mean the same with every scale divided by `k`;
//! - a reduction over axes is a MatMul by a column of ones after moving the
//!   reduced axes last (an exact integer sum at the input's scale).

use super::{qparams_for_range, Lowerer};
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::value::{Affine, ConstTensor, DType, Lazy, Src, Value};
use zkinf_circuits::plan::infer::broadcast;
use zkinf_circuits::{Op, TensorId};

impl Lowerer<'_> {
    /// `Σ_k (rows[m, k] - a_zero)` for a plan tensor `rows` of shape
    /// `[M, K]`: a MatMul by a column of ones (`[M, 1]`), an exact sum.
    pub(crate) fn row_sums(&mut self, rows: TensorId, a_zero: i64) -> Result<TensorId> {
        let k = self.plan.info(rows).shape.last().copied().unwrap_or(1);
        let ones = self.push_const(&ConstTensor {
            dtype: DType::I8,
            shape: vec![k, 1],
            data: vec![1.0; k],
        })?;
        self.push(
            Op::MatMul {
                a_zero,
                b_zero: vec![0],
            },
            vec![rows, ones],
            None,
        )
    }

    /// A constant input as real values: a float constant, or a constant
    /// behind a DequantizeLinear (dequantized as onnxruntime does, in float32
    /// for int8 models).
    pub(crate) fn const_real_input(&self, n: &NodeProto, k: usize) -> Result<Option<ConstTensor>> {
        Ok(match self.input(n, k)? {
            None => None,
            Some(Value::Const(c)) => Some(c),
            Some(Value::Real(Affine {
                src: Src::Const(c),
                scales,
                zeros,
                axis,
                clip: None,
                ..
            })) => {
                let inner: usize = c.shape.get(axis + 1..).map_or(1, |s| s.iter().product());
                let at = |v: &[f64], i: usize| {
                    if v.len() == 1 {
                        v[0]
                    } else {
                        v[(i / inner.max(1)) % v.len()]
                    }
                };
                let zs: Vec<f64> = if zeros.is_empty() {
                    vec![0.0]
                } else {
                    zeros.iter().map(|&z| z as f64).collect()
                };
                let data = c
                    .data
                    .iter()
                    .enumerate()
                    .map(|(i, &q)| {
                        let (s, z) = (at(&scales, i), at(&zs, i));
                        if self.exact() {
                            ((q - z) as f32 * s as f32) as f64
                        } else {
                            (q - z) * s
                        }
                    })
                    .collect();
                Some(ConstTensor {
                    dtype: DType::F32,
                    shape: c.shape,
                    data,
                })
            }
            Some(_) => return Err(self.unsupported(format!("input {k} must be a constant"))),
        })
    }

    /// The real range a narrow activation can hold.
    fn real_range(&self, a: &Affine) -> (f64, f64) {
        let r = self.range_of(a);
        let s = a.scale();
        (s * (r.lo - a.zero()) as f64, s * (r.hi - a.zero()) as f64)
    }

    pub(crate) fn variadic(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let mut vals = Vec::new();
        for k in 0..n.input.len() {
            vals.push(self.required(n, k)?);
        }
        if vals.is_empty() {
            return Err(self.malformed("no operands"));
        }
        let mut shape = self.shape_of(&vals[0]);
        for v in &vals[1..] {
            shape = broadcast(&shape, &self.shape_of(v))
                .ok_or_else(|| self.malformed("operands do not broadcast"))?;
        }
        if vals.iter().all(|v| matches!(v, Value::Const(_))) {
            return Err(self.unsupported(format!("{} of constants only", n.op_type)));
        }
        if vals.iter().all(|v| matches!(v, Value::Int { .. }))
            && matches!(n.op_type.as_str(), "Max" | "Min")
        {
            return self.int_extremum(n.op_type == "Max", &vals);
        }
        if vals.iter().any(|v| matches!(v, Value::Int { .. })) {
            return Err(self.unsupported(format!("{} of integer tensors", n.op_type)));
        }
        let mut parts = Vec::new();
        for (k, v) in vals.into_iter().enumerate() {
            parts.push(self.activation(v, &n.input[k])?);
        }
        if parts.len() == 1 && n.op_type != "Mean" {
            return Ok(vec![Value::Real(parts.remove(0))]);
        }
        match n.op_type.as_str() {
            "Max" | "Min" => Ok(vec![Value::Lazy(Lazy::Extremum {
                parts,
                max: n.op_type == "Max",
                shape,
            })]),
            _ => {
                if (n.op_type == "Mean" && parts.len() > 1) || parts.len() > 2 {
                    self.note_approximated(&n.op_type);
                }
                if n.op_type == "Mean" {
                    let k = parts.len() as f64;
                    for p in &mut parts {
                        p.scales = vec![p.scale() / k];
                    }
                }
                if parts.len() == 1 {
                    // a mean of one tensor: itself
                    return Ok(vec![Value::Real(parts.remove(0))]);
                }
                let mut acc = parts.remove(0);
                while parts.len() > 1 {
                    let b = parts.remove(0);
                    let (alo, ahi) = self.real_range(&acc);
                    let (blo, bhi) = self.real_range(&b);
                    let q = qparams_for_range(alo + blo, ahi + bhi, 16);
                    let sum_shape = broadcast(&self.affine_shape(&acc), &self.affine_shape(&b))
                        .ok_or_else(|| self.malformed("operands do not broadcast"))?;
                    acc = self.requant_to_affine(
                        Value::Lazy(Lazy::Sum {
                            a: acc,
                            b,
                            b_sign: 1,
                            shape: sum_shape,
                        }),
                        q,
                    )?;
                }
                Ok(vec![Value::Lazy(Lazy::Sum {
                    a: acc,
                    b: parts.remove(0),
                    b_sign: 1,
                    shape,
                })])
            }
        }
    }

    /// ReduceSum and ReduceMean: an exact integer sum at the input's scale.
    pub(crate) fn reduce(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let rank = shape.len();
        let axes_in = if at.has("axes") {
            at.ints("axes")
        } else {
            self.const_input(n, 1)?
                .map(|c| c.data.iter().map(|&v| v as i64).collect())
        };
        let keep = at.int("keepdims", 1) != 0;
        let mut axes: Vec<usize> = match axes_in {
            Some(a) if !a.is_empty() => a
                .iter()
                .map(|&v| {
                    let v = if v < 0 { v + rank as i64 } else { v };
                    if v < 0 || v >= rank as i64 {
                        Err(self.malformed(format!("axis {v} out of range")))
                    } else {
                        Ok(v as usize)
                    }
                })
                .collect::<Result<_>>()?,
            _ if at.int("noop_with_empty_axes", 0) != 0 => return Ok(vec![x]),
            _ => (0..rank).collect(),
        };
        axes.sort_unstable();
        axes.dedup();
        let kept: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
        let out_shape: Vec<usize> = (0..rank)
            .filter_map(|d| {
                if axes.contains(&d) {
                    keep.then_some(1)
                } else {
                    Some(shape[d])
                }
            })
            .collect();
        let count: usize = axes.iter().map(|&d| shape[d]).product();
        if let Value::Const(c) = &x {
            let arr = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&c.shape), c.data.clone())
                .map_err(|e| self.malformed(e.to_string()))?;
            let mut perm = kept.clone();
            perm.extend(&axes);
            let t = arr.permuted_axes(ndarray::IxDyn(&perm));
            let flat: Vec<f64> = t.iter().copied().collect();
            let data = flat
                .chunks(count.max(1))
                .map(|ch| {
                    let s: f64 = ch.iter().sum();
                    match n.op_type.as_str() {
                        "ReduceMean" => s / count as f64,
                        "ReduceMax" => ch.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        "ReduceMin" => ch.iter().copied().fold(f64::INFINITY, f64::min),
                        _ => s,
                    }
                })
                .collect();
            return Ok(vec![Value::Const(ConstTensor {
                dtype: c.dtype,
                shape: out_shape,
                data,
            })]);
        }
        if matches!(n.op_type.as_str(), "ReduceMax" | "ReduceMin") {
            return self.reduce_extremum(n, x, &kept, &axes, count, out_shape);
        }
        self.note_approximated(&n.op_type);
        let a = self.activation(x, &n.input[0])?;
        let mut id = self.src_id(&a.src)?;
        let mut perm: Vec<u32> = kept.iter().map(|&d| d as u32).collect();
        perm.extend(axes.iter().map(|&d| d as u32));
        if perm.iter().enumerate().any(|(i, &p)| i as u32 != p) {
            id = self.push(Op::Transpose { perm }, vec![id], None)?;
        }
        let m: usize = kept.iter().map(|&d| shape[d]).product();
        id = self.push(Op::Reshape, vec![id], Some(vec![m, count]))?;
        let acc = self.row_sums(id, a.zero())?;
        let acc = self.push(Op::Reshape, vec![acc], Some(out_shape))?;
        let scale = if n.op_type == "ReduceMean" {
            a.scale() / count as f64
        } else {
            a.scale()
        };
        Ok(vec![Value::Real(Affine {
            src: Src::Plan(acc),
            scales: vec![scale],
            zeros: vec![0],
            axis: 0,
            clip: None,
            wide: true,
        })])
    }
}

impl Lowerer<'_> {
    /// Max / Min of integer tensors: `a + clamp(b - a, 0, ·)` (or `≤ 0`),
    /// exact.
    fn int_extremum(&mut self, max: bool, vals: &[Value]) -> Result<Vec<Value>> {
        let mut acc: Option<(TensorId, crate::value::DType)> = None;
        for v in vals {
            let Value::Int { id: b, dtype } = *v else {
                continue;
            };
            let Some((a, _)) = acc else {
                acc = Some((b, dtype));
                continue;
            };
            let (ra, rb) = (self.plan.info(a).range, self.plan.info(b).range);
            let add = |a_mult, b_mult, lo, hi| Op::Add {
                a_zero: 0,
                b_zero: 0,
                a_mult,
                b_mult,
                shift: 0,
                out_zero: 0,
                lo,
                hi,
            };
            let d = self.push(add(1, -1, rb.lo - ra.hi, rb.hi - ra.lo), vec![b, a], None)?;
            let (dlo, dhi) = (rb.lo - ra.hi, rb.hi - ra.lo);
            let c = if max {
                self.push(
                    Op::Clamp {
                        lo: 0,
                        hi: dhi.max(0),
                    },
                    vec![d],
                    None,
                )?
            } else {
                self.push(
                    Op::Clamp {
                        lo: dlo.min(0),
                        hi: 0,
                    },
                    vec![d],
                    None,
                )?
            };
            let (lo, hi) = if max {
                (ra.lo.max(rb.lo), ra.hi.max(rb.hi))
            } else {
                (ra.lo.min(rb.lo), ra.hi.min(rb.hi))
            };
            let y = self.push(add(1, 1, lo, hi), vec![a, c], None)?;
            acc = Some((y, dtype));
        }
        let (id, dtype) = acc.ok_or_else(|| self.malformed("no operands"))?;
        Ok(vec![Value::Int { id, dtype }])
    }

    /// ReduceMax and ReduceMin: the reduced axes moved last, a MaxPool over
    /// each lane (`[1, 1, M, K]` by `[1, K]`); a minimum is the maximum of
    /// the values reflected about the zero point (`2z - x`, exact), reflected
    /// back. Values keep their quantization (and a pending clip: it commutes).
    fn reduce_extremum(
        &mut self,
        n: &NodeProto,
        x: Value,
        kept: &[usize],
        axes: &[usize],
        count: usize,
        out_shape: Vec<usize>,
    ) -> Result<Vec<Value>> {
        let shape = self.shape_of(&x);
        let (id, zero, wrap): (TensorId, i64, Box<dyn Fn(TensorId) -> Value>) = match x {
            Value::Int { id, dtype } => (id, 0, Box::new(move |t| Value::Int { id: t, dtype })),
            v => {
                let a = match v {
                    Value::Real(a) if a.per_tensor() => a,
                    v => self.activation(v, &n.input[0])?,
                };
                let id = self.src_id(&a.src)?;
                (
                    id,
                    a.zero(),
                    Box::new(move |t| {
                        Value::Real(Affine {
                            src: Src::Plan(t),
                            ..a.clone()
                        })
                    }),
                )
            }
        };
        let min = n.op_type == "ReduceMin";
        let reflect = |lw: &mut Self, t: TensorId| -> Result<TensorId> {
            let r = lw.plan.info(t).range;
            lw.push(
                Op::Rescale {
                    in_zero: zero,
                    mult: vec![-1],
                    bias: vec![],
                    shift: 0,
                    axis: 0,
                    out_zero: zero,
                    lo: 2 * zero - r.hi,
                    hi: 2 * zero - r.lo,
                },
                vec![t],
                None,
            )
        };
        let mut t = if min { reflect(self, id)? } else { id };
        let mut perm: Vec<u32> = kept.iter().map(|&d| d as u32).collect();
        perm.extend(axes.iter().map(|&d| d as u32));
        if perm.iter().enumerate().any(|(i, &p)| i as u32 != p) {
            t = self.push(Op::Transpose { perm }, vec![t], None)?;
        }
        let m: usize = kept.iter().map(|&d| shape[d]).product();
        t = self.push(Op::Reshape, vec![t], Some(vec![1, 1, m, count]))?;
        t = self.push(
            Op::MaxPool {
                kernel: [1, count],
                strides: [1, count],
                pads: [0; 4],
                dilations: [1, 1],
                ceil_mode: false,
            },
            vec![t],
            None,
        )?;
        t = self.push(Op::Reshape, vec![t], Some(out_shape))?;
        if min {
            t = reflect(self, t)?;
        }
        Ok(vec![wrap(t)])
    }

    /// LogSoftmax along `axis`: `y = d·s - log Σ exp(d·s)` with `d = x - max`
    /// (exact integers at the input's scale `s`). The maximum is a MaxPool
    /// over the axis; `exp` a table with 8 fractional bits (`e = rhe(2^8
    /// exp(d s))`, so the maximum contributes exactly 256); the sum a
    /// MatMul by ones; `log(Σe / 256)`, a table over `[256, 256 L]` with 8
    /// fractional bits; the difference one requantizing Add. The error is
    /// under `L/512` (in log units) plus the output's rounding.
    pub(crate) fn log_softmax(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let rank = shape.len() as i64;
        let default = if self.model_opset() >= 13 { -1 } else { 1 };
        let ax = at.int("axis", default);
        let ax = if ax < 0 { ax + rank } else { ax };
        if ax < 0 || ax >= rank {
            return Err(self.malformed("LogSoftmax axis out of range"));
        }
        if self.model_opset() < 13 && ax != rank - 1 {
            return Err(self.unsupported("opset < 13 LogSoftmax over flattened trailing axes"));
        }
        let axis = ax as usize;
        self.note_approximated("LogSoftmax");
        let a = self.activation(x, &n.input[0])?;
        let x_id = self.src_id(&a.src)?;
        let r = self.plan.info(x_id).range;
        let len = shape[axis];
        // axis last: [M, L]
        let mut perm: Vec<u32> = (0..shape.len() as u32)
            .filter(|&d| d as usize != axis)
            .collect();
        perm.push(axis as u32);
        let last = |lw: &mut Self, id| -> Result<TensorId> {
            let moved = if axis + 1 == shape.len() {
                id
            } else {
                lw.push(Op::Transpose { perm: perm.clone() }, vec![id], None)?
            };
            let m = lw.plan.info(moved).len() / len.max(1);
            lw.push(Op::Reshape, vec![moved], Some(vec![1, 1, m, len]))
        };
        let mut one = shape.clone();
        one[axis] = 1;
        let rows = last(self, x_id)?;
        let max = self.push(
            Op::MaxPool {
                kernel: [1, len],
                strides: [1, len],
                pads: [0; 4],
                dilations: [1, 1],
                ceil_mode: false,
            },
            vec![rows],
            None,
        )?;
        let max = self.push(Op::Reshape, vec![max], Some(one.clone()))?;
        let span = r.hi - r.lo;
        let d = self.push(
            Op::Add {
                a_zero: 0,
                b_zero: 0,
                a_mult: 1,
                b_mult: -1,
                shift: 0,
                out_zero: 0,
                lo: -span,
                hi: 0,
            },
            vec![x_id, max],
            None,
        )?;
        let s = a.scale();
        let exp_table = (-span..=0)
            .map(|v| ((v as f64 * s).exp() * 256.0).round_ties_even() as i64)
            .collect();
        let e = self.push(
            Op::Lookup {
                in_lo: -span,
                table: exp_table,
            },
            vec![d],
            None,
        )?;
        let rows = last(self, e)?;
        let m = self.plan.info(rows).len() / len.max(1);
        let rows = self.push(Op::Reshape, vec![rows], Some(vec![m, len]))?;
        let sum = self.row_sums(rows, 0)?;
        let sum = self.push(Op::Reshape, vec![sum], Some(one))?;
        let sr = self.plan.info(sum).range;
        let (lo, hi) = (sr.lo.max(256), sr.hi.max(256));
        if hi - lo >= 1 << 16 {
            return Err(self.unsupported(format!("LogSoftmax over {len} values (at most 256)")));
        }
        let sum = if sr.lo < lo {
            self.push(Op::Clamp { lo, hi }, vec![sum], None)?
        } else {
            sum
        };
        let log_table = (lo..=hi)
            .map(|v| ((v as f64 / 256.0).ln() * 256.0).round_ties_even() as i64)
            .collect();
        let l = self.push(
            Op::Lookup {
                in_lo: lo,
                table: log_table,
            },
            vec![sum],
            None,
        )?;
        let affine = |id, scale| Affine {
            src: Src::Plan(id),
            scales: vec![scale],
            zeros: vec![0],
            axis: 0,
            clip: None,
            wide: true,
        };
        Ok(vec![Value::Lazy(Lazy::Sum {
            a: affine(d, s),
            b: affine(l, 1.0 / 256.0),
            b_sign: -1,
            shape,
        })])
    }
}

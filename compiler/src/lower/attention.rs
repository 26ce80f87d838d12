//! Attention's masked softmax (`zkinf.MaskedSoftmax`, which the fusion pass
//! makes of a Softmax over `Where(mask, s, -∞)` or `s + mask`): a softmax
//! over each lane's kept entries, the masked ones exactly 0.

use super::Lowerer;
use crate::error::Result;
use crate::onnx::NodeProto;
use crate::value::{Affine, DType, Lazy, Src, Value};
use std::collections::BTreeMap;
use zkinf_circuits::{Op, TensorId};

/// Row-major indices into an operand of shape `s` broadcast to `out`.
fn broadcast_map(s: &[usize], out: &[usize]) -> Vec<Option<usize>> {
    let mut padded = vec![1; out.len() - s.len().min(out.len())];
    padded.extend_from_slice(s);
    let lists: Vec<Vec<Option<usize>>> = out
        .iter()
        .zip(&padded)
        .map(|(&o, &d)| (0..o).map(|i| Some(if d == 1 { 0 } else { i })).collect())
        .collect();
    super::shape::product_map(&padded, &lists)
}

impl Lowerer<'_> {
    /// Where with a constant condition (a mask the fusion pass did not fold
    /// into a softmax): both branches at the output's calibrated scale (a
    /// constant branch quantized, a computed one requantized) and the output
    /// gathered from them. A computed condition is refused.
    pub(crate) fn where_(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let cond = self
            .const_input(n, 0)
            .ok()
            .flatten()
            .ok_or_else(|| self.unsupported("Where with a computed condition"))?;
        let (a, b) = (self.required(n, 1)?, self.required(n, 2)?);
        if let (Value::Const(x), Value::Const(y)) = (&a, &b) {
            let shape = zkinf_circuits::plan::infer::broadcast(&cond.shape, &x.shape)
                .and_then(|s| zkinf_circuits::plan::infer::broadcast(&s, &y.shape))
                .ok_or_else(|| self.malformed("Where operands do not broadcast"))?;
            let (c, xv, yv) = (
                crate::lower::unary::broadcast_const(&cond, &shape),
                crate::lower::unary::broadcast_const(x, &shape),
                crate::lower::unary::broadcast_const(y, &shape),
            );
            let data = c
                .iter()
                .zip(xv.iter().zip(&yv))
                .map(|(&c, (&p, &q))| if c != 0.0 { p } else { q })
                .collect();
            return Ok(vec![Value::Const(crate::value::ConstTensor {
                dtype: x.dtype,
                shape,
                data,
            })]);
        }
        let shape = zkinf_circuits::plan::infer::broadcast(&cond.shape, &self.shape_of(&a))
            .and_then(|s| zkinf_circuits::plan::infer::broadcast(&s, &self.shape_of(&b)))
            .ok_or_else(|| self.malformed("Where operands do not broadcast"))?;
        let q = self.calibrated(&n.output[0])?;
        let mut ids = Vec::new();
        let mut maps = Vec::new();
        let mut offset = 0;
        for v in [a, b] {
            let s = self.shape_of(&v);
            let id = match v {
                Value::Const(c) => {
                    let data = c
                        .data
                        .iter()
                        .map(|&r| {
                            (q.zero as f64 + (r / q.scale).round_ties_even())
                                .clamp(q.lo as f64, q.hi as f64)
                        })
                        .collect();
                    self.push_const(&crate::value::ConstTensor {
                        dtype: DType::I64,
                        shape: c.shape.clone(),
                        data,
                    })?
                }
                Value::Int { .. } => return Err(self.unsupported("Where over integer tensors")),
                v => self.requant(v, q)?,
            };
            maps.push(
                broadcast_map(&s, &shape)
                    .into_iter()
                    .map(|m| m.map(|i| i + offset))
                    .collect::<Vec<_>>(),
            );
            offset += self.plan.info(id).len();
            ids.push(id);
        }
        let c = crate::lower::unary::broadcast_const(&cond, &shape);
        let map: Vec<u32> = c
            .iter()
            .enumerate()
            .map(|(i, &c)| maps[if c != 0.0 { 0 } else { 1 }][i].unwrap_or(0) as u32)
            .collect();
        let out = self.push(Op::Gather { map }, ids, Some(shape))?;
        Ok(vec![Value::Real(Affine {
            src: Src::Plan(out),
            scales: vec![q.scale],
            zeros: vec![q.zero],
            axis: 0,
            clip: None,
            wide: false,
        })])
    }

    /// Cast: float to float keeps the real tensor (zkinf's quantization is
    /// the only rounding), integer to integer keeps the integers when they
    /// fit the new type, a constant converts as ONNX says; a float tensor
    /// cast to an integer type is refused.
    pub(crate) fn cast(&mut self, n: &NodeProto, at: &crate::model::Attrs) -> Result<Vec<Value>> {
        let to = DType::from_onnx(at.int("to", 0) as i32);
        let v = self.required(n, 0)?;
        Ok(vec![match v {
            Value::Const(mut c) => {
                if !to.is_float() {
                    let (lo, hi) = to.int_range().unwrap_or((i64::MIN, i64::MAX));
                    for e in c.data.iter_mut() {
                        *e = if to == DType::Bool {
                            (*e != 0.0) as u8 as f64
                        } else {
                            e.trunc().clamp(lo as f64, hi as f64)
                        };
                    }
                }
                c.dtype = to;
                Value::Const(c)
            }
            Value::Int { id, .. } if !to.is_float() => {
                let r = self.plan.info(id).range;
                match to
                    .int_range()
                    .or((to == DType::I64).then_some((i64::MIN, i64::MAX)))
                {
                    Some((lo, hi)) if r.lo >= lo && r.hi <= hi => Value::Int { id, dtype: to },
                    _ => {
                        return Err(self.unsupported(format!(
                            "Cast of integers in [{}, {}] to {}",
                            r.lo,
                            r.hi,
                            to.name()
                        )))
                    }
                }
            }
            v if to.is_float() && !matches!(v, Value::Int { .. }) => v,
            _ => {
                return Err(self.unsupported(format!(
                    "Cast between float and integer tensors (to {})",
                    to.name()
                )))
            }
        }])
    }

    /// Lanes (rows of the last axis) grouped by how many entries they keep:
    /// each group's kept entries gathered into `[lanes, kept]`, one integer
    /// softmax per group at the output's calibrated scale, and the result
    /// gathered back with the output's zero point where the mask is.
    pub(crate) fn masked_softmax(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let keep = self
            .const_input(n, 1)?
            .ok_or_else(|| self.malformed("MaskedSoftmax needs a constant mask"))?;
        let t = *shape
            .last()
            .ok_or_else(|| self.malformed("MaskedSoftmax of a scalar"))?;
        let full = zkinf_circuits::plan::infer::broadcast(&shape, &keep.shape)
            .filter(|b| *b == shape)
            .ok_or_else(|| self.malformed("the attention mask does not broadcast to the scores"))?;
        let mask = crate::lower::unary::broadcast_const(&keep, &full);
        let lanes = mask.len() / t.max(1);
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for lane in 0..lanes {
            let kept = (0..t).filter(|&j| mask[lane * t + j] != 0.0).count();
            if kept == 0 {
                return Err(self.unsupported("a softmax row whose every entry is masked"));
            }
            groups.entry(kept).or_default().push(lane);
        }
        let a = self.activation(x, &n.input[0])?;
        let q = self.calibrated(&n.output[0])?;
        let x_id = self.src_id(&a.src)?;
        // each group's softmax, flattened, then all of them in one tensor
        let mut pieces = Vec::new();
        let mut at = vec![None; mask.len()];
        let mut offset = 0;
        for (&kept, ls) in &groups {
            let mut map = Vec::with_capacity(ls.len() * kept);
            for &lane in ls {
                for j in (0..t).filter(|&j| mask[lane * t + j] != 0.0) {
                    at[lane * t + j] = Some(offset + map.len());
                    map.push(Some(lane * t + j));
                }
            }
            offset += map.len();
            let g = self.gather_id(x_id, vec![ls.len(), kept], &map, 0)?;
            let soft = self.requant(
                Value::Lazy(Lazy::Softmax {
                    x: Affine {
                        src: Src::Plan(g),
                        ..a.clone()
                    },
                    axis: 1,
                }),
                q,
            )?;
            pieces.push(self.push(Op::Reshape, vec![soft], Some(vec![map.len()]))?);
        }
        let all: TensorId = if pieces.len() == 1 {
            pieces[0]
        } else {
            self.push(Op::Concat { axis: 0 }, pieces, None)?
        };
        let out = self.gather_id(all, shape, &at, q.zero)?;
        Ok(vec![Value::Real(Affine {
            src: Src::Plan(out),
            scales: vec![q.scale],
            zeros: vec![q.zero],
            axis: 0,
            clip: None,
            wide: false,
        })])
    }
}

impl Lowerer<'_> {
    /// `a / b` at the output parameters `q`, for a computed divisor whose
    /// integer range lies above its zero point (`b > 0`; where it reaches
    /// the zero point, a clamp to one step, counted): with
    /// `s_a / (s_b s_q) = m / 2^k`,
    /// `y = rhe((a - z_a) m / ((b - z_b) 2^k)) + z_q` (`Op::Div`, the
    /// divisor exact after one requantization by `2^k`). The divisor is one per row (`a`'s last axis) when its shape
    /// allows, else one per element (broadcast by wiring).
    pub(crate) fn quotient(
        &mut self,
        a: Affine,
        b: Affine,
        shape: &[usize],
        q: super::QParams,
    ) -> Result<TensorId> {
        let (a_id, b_id) = (self.src_id(&a.src)?, self.src_id(&b.src)?);
        let (ar, br) = (self.plan.info(a_id).range, self.plan.info(b_id).range);
        let zb = b.zero();
        if br.hi - zb < 1 {
            return Err(self.unsupported(format!(
                "division by a tensor that is never above 0 (its largest value is {})",
                (br.hi - zb) as f64 * b.scale()
            )));
        }
        // a divisor whose quantized range reaches 0 or below (a square
        // root's zero point, say): divided by one step there instead, a
        // clamp counted as a saturation (infer and prove warn, --strict
        // refuses)
        let floor = br.lo - zb < 1;
        let d = self.ratio(a.scale(), self.scale_mul(b.scale(), q.scale))?;
        let wide = |lo: i128, hi: i128| {
            (lo.abs().max(hi.abs()) < 1 << 60).then_some((lo as i64, hi as i64))
        };
        let (blo, bhi) = wide(
            ((br.lo - zb).max(1) as i128) << d.shift,
            ((br.hi - zb) as i128) << d.shift,
        )
        .ok_or_else(|| self.unsupported("division by a tensor: the scale ratio is too small"))?;
        let den = self.push(
            Op::Rescale {
                in_zero: zb,
                mult: vec![1i64 << d.shift],
                bias: vec![],
                shift: 0,
                axis: 0,
                out_zero: 0,
                lo: blo,
                hi: bhi,
            },
            vec![b_id],
            None,
        )?;
        if floor {
            self.saturating.push((den, true, false));
        }
        let za = a.zero();
        let num = if za == 0 {
            a_id
        } else {
            self.push(
                Op::Rescale {
                    in_zero: za,
                    mult: vec![1],
                    bias: vec![],
                    shift: 0,
                    axis: 0,
                    out_zero: 0,
                    lo: ar.lo - za,
                    hi: ar.hi - za,
                },
                vec![a_id],
                None,
            )?
        };
        // the numerator at the output's shape; the divisor per row or per
        // element
        let a_shape = self.plan.info(num).shape.clone();
        let num = if a_shape == shape {
            num
        } else {
            let map = broadcast_map(&a_shape, shape);
            self.gather_id(num, shape.to_vec(), &map, 0)?
        };
        let b_shape = self.plan.info(den).shape.clone();
        let mut rows = shape.to_vec();
        if let Some(l) = rows.last_mut() {
            *l = 1;
        }
        let mut padded = vec![1; shape.len().saturating_sub(b_shape.len())];
        padded.extend_from_slice(&b_shape);
        let den = if padded == shape {
            self.push(Op::Reshape, vec![den], Some(shape.to_vec()))?
        } else if padded == rows {
            self.push(Op::Reshape, vec![den], Some(rows))?
        } else if padded.last() == Some(&1) {
            let map = broadcast_map(&b_shape, &rows);
            self.gather_id(den, rows, &map, 0)?
        } else {
            let map = broadcast_map(&b_shape, shape);
            self.gather_id(den, shape.to_vec(), &map, 0)?
        };
        self.push(
            Op::Div {
                mult: d.mult,
                out_zero: q.zero,
                lo: q.lo,
                hi: q.hi,
            },
            vec![num, den],
            None,
        )
    }
}

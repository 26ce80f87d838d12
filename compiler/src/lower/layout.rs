//! Data movement (Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Identity,
//! Concat) and constants. Constant inputs are folded at compile time.

use super::Lowerer;
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::{decode_tensor, NodeProto};
use crate::value::{Affine, ConstTensor, DType, Lazy, Src, Value};
use zkinf_circuits::Op;

/// Transposes a constant; `None` unless `perm` permutes its axes.
pub(crate) fn transpose_const(c: &ConstTensor, perm: &[usize]) -> Option<ConstTensor> {
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    if sorted != (0..c.shape.len()).collect::<Vec<_>>() {
        return None;
    }
    let arr = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&c.shape), c.data.clone()).ok()?;
    let t = arr.permuted_axes(ndarray::IxDyn(perm));
    Some(ConstTensor {
        dtype: c.dtype,
        shape: t.shape().to_vec(),
        data: t.iter().copied().collect(),
    })
}

impl Lowerer<'_> {
    pub(crate) fn transpose_affine(&mut self, mut a: Affine, perm: &[usize]) -> Result<Affine> {
        a.src = match a.src {
            Src::Const(c) => Src::Const(transpose_const(&c, perm).ok_or_else(|| {
                self.malformed(format!("cannot transpose {:?} by {perm:?}", c.shape))
            })?),
            Src::Plan(id) => Src::Plan(self.push(
                Op::Transpose {
                    perm: perm.iter().map(|&p| p as u32).collect(),
                },
                vec![id],
                None,
            )?),
        };
        if a.scales.len() > 1 || a.zeros.len() > 1 {
            a.axis = perm.iter().position(|&p| p == a.axis).unwrap_or(a.axis);
        }
        Ok(a)
    }

    fn target_shape(&self, n: &NodeProto, at: &Attrs, shape: &[usize]) -> Result<Vec<usize>> {
        let second = if at.has("axes") {
            None
        } else {
            self.const_input(n, 1)?
        };
        crate::shapes::layout_shape(
            &n.op_type,
            at,
            shape,
            second.as_ref().map(|c| c.data.as_slice()),
        )
        .map_err(|e| self.malformed(e))
    }

    pub(crate) fn layout(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        if n.op_type == "Transpose" {
            let perm: Vec<usize> = match at.ints("perm") {
                Some(p) => p.iter().map(|&v| v as usize).collect(),
                None => (0..shape.len()).rev().collect(),
            };
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..shape.len()).collect::<Vec<_>>() {
                return Err(self.malformed(format!("perm {perm:?} is not a permutation")));
            }
            return Ok(vec![match x {
                Value::Const(c) => Value::Const(
                    transpose_const(&c, &perm).ok_or_else(|| self.malformed("bad permutation"))?,
                ),
                Value::Int { id, dtype } => Value::Int {
                    id: self.push(
                        Op::Transpose {
                            perm: perm.iter().map(|&p| p as u32).collect(),
                        },
                        vec![id],
                        None,
                    )?,
                    dtype,
                },
                Value::Real(a) => Value::Real(self.transpose_affine(a, &perm)?),
                _ => return Err(self.unsupported("Transpose of this value")),
            }]);
        }
        let target = self.target_shape(n, at, &shape)?;
        if n.op_type == "Identity" {
            return Ok(vec![x]);
        }
        let reshaped = |lw: &mut Self, id| lw.push(Op::Reshape, vec![id], Some(target.clone()));
        Ok(vec![match x {
            Value::Const(mut c) => {
                c.shape = target;
                Value::Const(c)
            }
            Value::Int { id, dtype } => Value::Int {
                id: reshaped(self, id)?,
                dtype,
            },
            Value::Real(mut a) if a.per_tensor() => {
                a.src = match a.src {
                    Src::Const(mut c) => {
                        c.shape = target;
                        Src::Const(c)
                    }
                    Src::Plan(id) => Src::Plan(reshaped(self, id)?),
                };
                Value::Real(a)
            }
            Value::Real(a) => {
                let a = self.activation(Value::Real(a), &n.input[0])?;
                let id = self.src_id(&a.src)?;
                Value::Real(Affine {
                    src: Src::Plan(reshaped(self, id)?),
                    ..a
                })
            }
            _ => return Err(self.unsupported(format!("{} of this value", n.op_type))),
        }])
    }

    pub(crate) fn concat(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let mut vals = Vec::new();
        for k in 0..n.input.len() {
            vals.push(self.required(n, k)?);
        }
        let first = vals
            .first()
            .ok_or_else(|| self.malformed("Concat needs inputs"))?;
        let rank = self.shape_of(first).len() as i64;
        let ax = at.int("axis", 0);
        let ax = if ax < 0 { ax + rank } else { ax };
        if ax < 0 || ax >= rank {
            return Err(self.malformed("concat axis out of range"));
        }
        let axis = ax as usize;
        if vals.iter().any(|v| self.shape_of(v).len() != rank as usize) {
            return Err(self.malformed("Concat operands have different ranks"));
        }
        if vals.iter().all(|v| matches!(v, Value::Const(_))) {
            let arrs: Vec<ndarray::ArrayD<f64>> = vals
                .iter()
                .map(|v| match v {
                    Value::Const(c) => {
                        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&c.shape), c.data.clone())
                            .expect("const shape")
                    }
                    _ => unreachable!("all constants"),
                })
                .collect();
            let views: Vec<_> = arrs.iter().map(|a| a.view()).collect();
            let cat = ndarray::concatenate(ndarray::Axis(axis), &views)
                .map_err(|e| self.malformed(e.to_string()))?;
            let dtype = if let Value::Const(c) = &vals[0] {
                c.dtype
            } else {
                DType::F32
            };
            return Ok(vec![Value::Const(ConstTensor {
                dtype,
                shape: cat.shape().to_vec(),
                data: cat.iter().copied().collect(),
            })]);
        }
        if vals.iter().all(|v| matches!(v, Value::Int { .. })) {
            let dtype = if let Value::Int { dtype, .. } = vals[0] {
                dtype
            } else {
                DType::I8
            };
            let ids = vals
                .iter()
                .map(|v| {
                    if let Value::Int { id, .. } = v {
                        *id
                    } else {
                        0
                    }
                })
                .collect();
            return Ok(vec![Value::Int {
                id: self.push(Op::Concat { axis: axis as u32 }, ids, None)?,
                dtype,
            }]);
        }
        let mut parts = Vec::new();
        for (k, v) in vals.into_iter().enumerate() {
            parts.push(self.activation(v, &n.input[k])?);
        }
        Ok(vec![Value::Lazy(Lazy::Concat { parts, axis })])
    }

    pub(crate) fn constant(&mut self, at: &Attrs) -> Result<Vec<Value>> {
        if let Some(t) = at.tensor("value") {
            return Ok(vec![Value::Const(decode_tensor(t, None)?)]);
        }
        let c = if let Some(f) = at.floats("value_floats") {
            ConstTensor {
                dtype: DType::F32,
                shape: vec![f.len()],
                data: f.iter().map(|&v| v as f64).collect(),
            }
        } else if let Some(i) = at.ints("value_ints") {
            ConstTensor {
                dtype: DType::I64,
                shape: vec![i.len()],
                data: i.iter().map(|&v| v as f64).collect(),
            }
        } else if at.has("value_float") {
            ConstTensor {
                dtype: DType::F32,
                shape: vec![],
                data: vec![at.float("value_float", 0.0) as f64],
            }
        } else if at.has("value_int") {
            ConstTensor {
                dtype: DType::I64,
                shape: vec![],
                data: vec![at.int("value_int", 0) as f64],
            }
        } else {
            return Err(self.unsupported("Constant without a numeric value"));
        };
        Ok(vec![Value::Const(c)])
    }
}

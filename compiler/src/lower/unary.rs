//! Elementwise ops (Relu, Clip, Add, Sub, Mul, Div, Sigmoid, Tanh), pooling,
//! Softmax and BatchNormalization.

use super::Lowerer;
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::value::{ConstTensor, Lazy, Unary, Value};
use ndarray::{ArrayD, IxDyn, Zip};
use zkinf_circuits::plan::infer::broadcast;
use zkinf_circuits::Op;

fn arr(c: &ConstTensor) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(&c.shape), c.data.clone()).expect("const shape")
}

/// A constant broadcast to `shape`, flattened.
pub(crate) fn broadcast_const(c: &ConstTensor, shape: &[usize]) -> Vec<f64> {
    fold_binary(c, c, shape, |p, _| p).data
}

fn fold_binary(
    a: &ConstTensor,
    b: &ConstTensor,
    shape: &[usize],
    f: impl Fn(f64, f64) -> f64,
) -> ConstTensor {
    let (x, y) = (arr(a), arr(b));
    let d = IxDyn(shape);
    let (xv, yv) = (
        x.broadcast(d.clone()).expect("broadcast"),
        y.broadcast(d.clone()).expect("broadcast"),
    );
    let mut out = ArrayD::zeros(d);
    Zip::from(&mut out)
        .and(&xv)
        .and(&yv)
        .for_each(|o, &p, &q| *o = f(p, q));
    ConstTensor {
        dtype: a.dtype,
        shape: shape.to_vec(),
        data: out.iter().copied().collect(),
    }
}

impl Lowerer<'_> {
    pub(crate) fn clip(
        &mut self,
        n: &NodeProto,
        lo: Option<f64>,
        hi: Option<f64>,
    ) -> Result<Vec<Value>> {
        let (lo, hi) = (lo.unwrap_or(f64::NEG_INFINITY), hi.unwrap_or(f64::INFINITY));
        // ONNX: with min > max every value becomes max
        let lo = if lo > hi { hi } else { lo };
        let x = match self.required(n, 0)? {
            // an int8 model's float input: the clip waits for its QuantizeLinear
            Value::FloatInput { name, shape, clip } if self.exact() => {
                let (olo, ohi) = clip.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
                return Ok(vec![Value::FloatInput {
                    name,
                    shape,
                    clip: Some((olo.max(lo), ohi.min(hi))),
                }]);
            }
            x => self.float_input(x)?,
        };
        Ok(vec![match x {
            Value::Const(mut c) => {
                c.data.iter_mut().for_each(|v| *v = v.max(lo).min(hi));
                Value::Const(c)
            }
            Value::Real(mut a) => {
                let (olo, ohi) = a.clip.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
                a.clip = Some((olo.max(lo), ohi.min(hi)));
                Value::Real(a)
            }
            Value::Lazy(Lazy::ChannelAffine {
                x,
                mul,
                add,
                clip,
                axis,
            }) => {
                let (olo, ohi) = clip.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
                Value::Lazy(Lazy::ChannelAffine {
                    x,
                    mul,
                    add,
                    clip: Some((olo.max(lo), ohi.min(hi))),
                    axis,
                })
            }
            Value::Int { id, dtype } => {
                let r = self.plan.info(id).range;
                let l = if lo.is_finite() {
                    lo.ceil().max(r.lo as f64) as i64
                } else {
                    r.lo
                };
                let h = if hi.is_finite() {
                    hi.floor().min(r.hi as f64) as i64
                } else {
                    r.hi
                };
                Value::Int {
                    id: self.push(
                        Op::Clamp {
                            lo: l,
                            hi: h.max(l),
                        },
                        vec![id],
                        None,
                    )?,
                    dtype,
                }
            }
            _ => return Err(self.unsupported("clip of this value")),
        }])
    }

    pub(crate) fn binary(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let (a, b) = (self.required(n, 0)?, self.required(n, 1)?);
        let shape = broadcast(&self.shape_of(&a), &self.shape_of(&b))
            .ok_or_else(|| self.malformed("operands do not broadcast"))?;
        if let (Value::Const(x), Value::Const(y)) = (&a, &b) {
            let f: fn(f64, f64) -> f64 = match n.op_type.as_str() {
                "Add" => |p, q| p + q,
                "Sub" => |p, q| p - q,
                "Mul" => |p, q| p * q,
                _ => |p, q| p / q,
            };
            return Ok(vec![Value::Const(fold_binary(x, y, &shape, f))]);
        }
        if matches!(a, Value::Int { .. }) || matches!(b, Value::Int { .. }) {
            return Err(self.unsupported(format!("{} on integer tensors", n.op_type)));
        }
        let (op, b) = match (n.op_type.as_str(), b) {
            ("Div", Value::Const(mut c)) => {
                if c.data.contains(&0.0) {
                    return Err(self.malformed("division by zero"));
                }
                c.data.iter_mut().for_each(|v| *v = 1.0 / *v);
                ("Mul", Value::Const(c))
            }
            (op, b) => (op, b),
        };
        if let Some(v) = self.fold_channel_const(op, &a, &b, &shape) {
            return Ok(vec![v]);
        }
        let a = self.activation(a, &n.input[0])?;
        let b = self.activation(b, &n.input[1])?;
        Ok(vec![Value::Lazy(match op {
            "Mul" => Lazy::Prod { a, b, shape },
            "Div" => Lazy::Quotient { a, b, shape },
            _ => Lazy::Sum {
                a,
                b,
                b_sign: if op == "Sub" { -1 } else { 1 },
                shape,
            },
        })])
    }

    /// `x ∘ c` where `x` is a product's unrounded accumulator (or a pending
    /// per-channel affine map of one) and `c` a constant that varies along
    /// the last axis at most: `c` folds into the one per-channel
    /// requantization that follows (a MatMul's bias added as an Add, the
    /// scale of attention scores, a Sub or Mul by a constant), so the
    /// accumulator is rounded once instead of once per op.
    fn fold_channel_const(&self, op: &str, a: &Value, b: &Value, shape: &[usize]) -> Option<Value> {
        let (x, c, c_first) = match (a, b) {
            (x, Value::Const(c)) => (x, c, false),
            (Value::Const(c), x) => (x, c, true),
            _ => return None,
        };
        if !c.dtype.is_float() || self.shape_of(x) != shape {
            return None;
        }
        let rank = shape.len();
        let n = *shape.last()?;
        let along: Vec<usize> = c.shape.iter().copied().skip_while(|&d| d == 1).collect();
        let cv = if c.data.len() == 1 {
            vec![c.data[0]]
        } else if along == [n] && c.shape.len() <= rank {
            c.data.clone()
        } else {
            return None;
        };
        let last = |axis: usize| axis + 1 == rank;
        let (x, mul, add) = match x {
            Value::Real(a) if a.wide && a.clip.is_none() && (a.per_tensor() || last(a.axis)) => {
                (a.clone(), vec![1.0], vec![0.0])
            }
            Value::Lazy(Lazy::ChannelAffine {
                x,
                mul,
                add,
                clip: None,
                axis,
            }) if last(*axis) || (mul.len() == 1 && add.len() == 1 && x.per_tensor()) => {
                (x.clone(), mul.clone(), add.clone())
            }
            _ => return None,
        };
        let channels = if x.per_tensor() { 1 } else { x.scales.len() };
        let len = cv.len().max(mul.len()).max(add.len()).max(channels);
        let widen = |v: Vec<f64>| if v.len() == len { v } else { vec![v[0]; len] };
        let (cv, mut mul, mut add) = (widen(cv), widen(mul), widen(add));
        for ((m, s), &k) in mul.iter_mut().zip(add.iter_mut()).zip(&cv) {
            match (op, c_first) {
                ("Add", _) => *s += k,
                ("Sub", false) => *s -= k,
                ("Sub", true) => (*m, *s) = (-*m, k - *s),
                ("Mul", _) => (*m, *s) = (*m * k, *s * k),
                _ => return None,
            }
        }
        if mul.iter().chain(&add).any(|v| !v.is_finite()) || mul.contains(&0.0) {
            return None;
        }
        Some(Value::Lazy(Lazy::ChannelAffine {
            x,
            mul,
            add,
            clip: None,
            axis: rank - 1,
        }))
    }

    pub(crate) fn unary(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let f = Unary::of(&n.op_type, at)
            .ok_or_else(|| self.unsupported(format!("op {} has no lowering", n.op_type)))?;
        Ok(vec![match self.required(n, 0)? {
            Value::Const(mut c) => {
                c.data.iter_mut().for_each(|v| *v = f.apply(*v));
                Value::Const(c)
            }
            Value::Int { .. } => {
                return Err(self.unsupported(format!("{} of an integer tensor", n.op_type)))
            }
            v => {
                let x = self.activation(v, &n.input[0])?;
                if f == Unary::Neg {
                    // exact: a requantization by -1, no table
                    Value::Lazy(Lazy::ChannelAffine {
                        x,
                        mul: vec![-1.0],
                        add: vec![0.0],
                        clip: None,
                        axis: 0,
                    })
                } else {
                    Value::Lazy(Lazy::Unary { x, f })
                }
            }
        }])
    }

    /// The fusion pass's `zkinf.Elementwise`: one table over its input.
    pub(crate) fn elementwise(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let (input, output) = (n.input[0].clone(), n.output[0].clone());
        Ok(vec![match self.required(n, 0)? {
            Value::Const(mut c) => {
                let x = ArrayD::from_shape_vec(IxDyn(&[c.data.len()]), c.data.clone())
                    .map_err(|e| self.malformed(e.to_string()))?;
                let y = crate::reference::eval_body(self.model, &input, &output, &x)
                    .map_err(|e| self.malformed(e))?;
                c.data = y.iter().copied().collect();
                Value::Const(c)
            }
            Value::Int { .. } => {
                return Err(self.unsupported("an elementwise function of an integer tensor"))
            }
            v => {
                let x = self.activation(v, &input)?;
                Value::Lazy(Lazy::Function { x, input, output })
            }
        }])
    }

    /// PRelu: one slope is a table (`Unary::PRelu`); a slope per channel
    /// (`[C, 1, ...]` against `[N, C, ...]`) is `max(x, 0) + slope[c]·min(x, 0)`:
    /// two clamps at the zero point, a per-channel requantization of the
    /// negative part and an exact sum of the two (one of them is always
    /// the output's zero point).
    pub(crate) fn prelu(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let slope = self
            .const_real_input(n, 1)
            .ok()
            .flatten()
            .ok_or_else(|| self.unsupported("PRelu with a computed slope"))?;
        if let Some(a) = slope.scalar() {
            let x = match x {
                Value::Const(mut c) => {
                    c.data
                        .iter_mut()
                        .for_each(|v| *v = Unary::PRelu(a).apply(*v));
                    return Ok(vec![Value::Const(c)]);
                }
                v => self.activation(v, &n.input[0])?,
            };
            return Ok(vec![Value::Lazy(Lazy::Unary {
                x,
                f: Unary::PRelu(a),
            })]);
        }
        let xs = self.shape_of(&x);
        // the slope must vary along axis 1 only
        let ch = xs.get(1).copied().unwrap_or(0);
        let rank = xs.len();
        let mut s = slope.shape.clone();
        while s.len() < rank {
            s.insert(0, 1);
        }
        let along_c = s.len() == rank
            && s.iter()
                .enumerate()
                .all(|(d, &v)| v == 1 || (d == 1 && v == ch));
        if !along_c {
            return Err(self.unsupported(format!(
                "PRelu slope of shape {:?} (one slope, or one per channel)",
                slope.shape
            )));
        }
        let slopes: Vec<f64> = if slope.data.len() == ch {
            slope.data.clone()
        } else {
            vec![slope.data[0]; ch]
        };
        let x = self.activation(x, &n.input[0])?;
        Ok(vec![Value::Lazy(Lazy::ChannelPRelu { x, slopes })])
    }

    /// Pow by a constant exponent: a table over the quantized base (an
    /// exponent of 1 is the base; constant bases fold; a table undefined on
    /// part of the base's range, such as a fractional power of a negative
    /// value, is refused).
    pub(crate) fn pow(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let e = self
            .const_real_input(n, 1)?
            .and_then(|c| c.scalar())
            .ok_or_else(|| self.unsupported("Pow with an exponent that is not one constant"))?;
        let x = self.required(n, 0)?;
        if let Value::Const(mut c) = x {
            c.data.iter_mut().for_each(|v| *v = v.powf(e));
            return Ok(vec![Value::Const(c)]);
        }
        if e == 1.0 {
            return Ok(vec![x]);
        }
        if matches!(x, Value::Int { .. }) {
            return Err(self.unsupported("Pow of an integer tensor"));
        }
        let x = self.activation(x, &n.input[0])?;
        Ok(vec![Value::Lazy(Lazy::Unary {
            x,
            f: Unary::Pow(e),
        })])
    }

    pub(crate) fn softmax(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let rank = self.shape_of(&x).len() as i64;
        let default = if self.model_opset() >= 13 { -1 } else { 1 };
        let ax = at.int("axis", default);
        let ax = if ax < 0 { ax + rank } else { ax };
        if ax < 0 || ax >= rank {
            return Err(self.malformed("softmax axis out of range"));
        }
        if self.model_opset() < 13 && ax != rank - 1 {
            return Err(self.unsupported("opset < 13 Softmax over flattened trailing axes"));
        }
        self.note_approximated("Softmax");
        let x = self.activation(x, &n.input[0])?;
        Ok(vec![Value::Lazy(Lazy::Softmax {
            x,
            axis: ax as usize,
        })])
    }

    pub(crate) fn batch_norm(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        if at.int("training_mode", 0) != 0 {
            return Err(self.unsupported("BatchNormalization in training mode"));
        }
        let eps = at.float("epsilon", 1e-5) as f64;
        let mut p = Vec::new();
        for k in 1..5 {
            p.push(self.const_real_input(n, k)?.ok_or_else(|| {
                self.malformed("BatchNormalization needs scale, bias, mean and var")
            })?);
        }
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let ch = *shape
            .get(1)
            .ok_or_else(|| self.malformed("BatchNormalization needs a channel axis"))?;
        if p.iter().any(|t| t.data.len() != ch) {
            return Err(self.malformed("BatchNormalization parameters do not match the channels"));
        }
        let mul: Vec<f64> = (0..ch)
            .map(|c| p[0].data[c] / (p[3].data[c] + eps).sqrt())
            .collect();
        let add: Vec<f64> = (0..ch)
            .map(|c| p[1].data[c] - p[2].data[c] * mul[c])
            .collect();
        let x = match x {
            Value::Real(a) if a.wide && a.clip.is_none() && (a.per_tensor() || a.axis == 1) => a,
            v => self.activation(v, &n.input[0])?,
        };
        Ok(vec![Value::Lazy(Lazy::ChannelAffine {
            x,
            mul,
            add,
            clip: None,
            axis: 1,
        })])
    }
}

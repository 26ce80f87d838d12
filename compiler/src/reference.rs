//! A float reference executor for ONNX graphs (f64): the calibration pass of
//! float models runs it to find tensor ranges, and the compile report
//! compares the integer plan with it. For QDQ/QOperator models it evaluates
//! DequantizeLinear -> float op -> QuantizeLinear literally.

use crate::model::{Attrs, LoadedModel};
use crate::onnx::NodeProto;
use crate::value::{DType, Unary};
use ndarray::{ArrayD, Axis, Ix2, IxDyn, Zip};
use ops::conv;
use std::collections::HashMap;

mod ops;

pub type Tensor = ArrayD<f64>;

/// Every tensor's values after one run, by ONNX name.
pub type Env = HashMap<String, Tensor>;

/// Why the reference could not run a model.
#[derive(Debug, Clone, PartialEq)]
pub enum RefError {
    /// The model uses something the reference (and zkinf) does not support.
    Unsupported {
        node: String,
        op: String,
        reason: String,
    },
    /// The model or its inputs are malformed.
    Failed {
        node: String,
        op: String,
        reason: String,
    },
}

impl std::fmt::Display for RefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefError::Unsupported { node, op, reason } | RefError::Failed { node, op, reason } => {
                write!(f, "node '{node}' ({op}): {reason}")
            }
        }
    }
}

fn bcast(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Result<Tensor, String> {
    let shape = zkinf_circuits::plan::infer::broadcast(a.shape(), b.shape())
        .ok_or("shapes do not broadcast")?;
    let d = IxDyn(&shape);
    let (x, y) = (
        a.broadcast(d.clone()).ok_or("broadcast")?,
        b.broadcast(d.clone()).ok_or("broadcast")?,
    );
    let mut out = ArrayD::zeros(d);
    Zip::from(&mut out)
        .and(&x)
        .and(&y)
        .for_each(|o, &p, &q| *o = f(p, q));
    Ok(out)
}

fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, String> {
    if a.ndim() < 2 || b.ndim() < 2 {
        return Err("unsupported: MatMul with a 1-D operand".into());
    }
    let (m, k) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
    let n = b.shape()[b.ndim() - 1];
    if b.shape()[b.ndim() - 2] != k {
        return Err("inner dimensions differ".into());
    }
    let batch: usize = a.shape()[..a.ndim() - 2].iter().product();
    let a3 = a.to_shape((batch, m, k)).map_err(|e| e.to_string())?;
    let bb: usize = b.shape()[..b.ndim() - 2].iter().product();
    if bb != 1 && (bb != batch || a.shape()[..a.ndim() - 2] != b.shape()[..b.ndim() - 2]) {
        return Err("unsupported: MatMul with broadcast batch dimensions".into());
    }
    let b3 = b.to_shape((bb, k, n)).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(batch * m * n);
    for i in 0..batch {
        let bi = if bb == 1 { 0 } else { i };
        let p = a3.index_axis(Axis(0), i).dot(&b3.index_axis(Axis(0), bi));
        out.extend(p.iter().copied());
    }
    let mut shape = a.shape()[..a.ndim() - 2].to_vec();
    shape.extend([m, n]);
    ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(|e| e.to_string())
}

/// Broadcasts per-axis parameters (scale, zero point) along `axis`.
fn along(p: &Tensor, axis: usize, rank: usize) -> Result<Tensor, String> {
    if p.len() <= 1 || rank == 0 {
        return Ok(p.clone());
    }
    if axis >= rank {
        return Err(format!("axis {axis} out of range for rank {rank}"));
    }
    let mut shape = vec![1; rank];
    shape[axis] = p.len();
    Ok(p.to_shape(IxDyn(&shape))
        .map_err(|e| e.to_string())?
        .to_owned())
}

fn quantize(x: &Tensor, s: &Tensor, z: &Tensor, dt: DType, axis: usize) -> Result<Tensor, String> {
    let (lo, hi) = dt.int_range().ok_or("quantized type")?;
    let s = along(s, axis, x.ndim())?;
    let z = along(z, axis, x.ndim())?;
    let q = bcast(x, &s, |v, s| {
        ((v as f32) / (s as f32)).round_ties_even() as f64
    })?;
    bcast(&q, &z, |q, z| (q + z).clamp(lo as f64, hi as f64))
}

fn dequantize(x: &Tensor, s: &Tensor, z: &Tensor, axis: usize) -> Result<Tensor, String> {
    let s = along(s, axis, x.ndim())?;
    let z = along(z, axis, x.ndim())?;
    let d = bcast(x, &z, |q, z| q - z)?;
    bcast(&d, &s, |d, s| ((d as f32) * (s as f32)) as f64)
}

fn transpose2(a: &Tensor) -> Result<Tensor, String> {
    Ok(a.view()
        .into_dimensionality::<Ix2>()
        .map_err(|e| e.to_string())?
        .t()
        .to_owned()
        .into_dyn())
}

/// Runs the model on float inputs; returns every tensor by name.
pub fn run(model: &LoadedModel, inputs: &HashMap<String, Tensor>) -> Result<Env, RefError> {
    let consts = consts(model)?;
    let mut env = run_with(model, &consts, inputs)?;
    env.extend(consts);
    Ok(env)
}

/// The model's constants as tensors (made once, shared by every run of
/// [`run_with`]).
pub fn consts(model: &LoadedModel) -> Result<Env, RefError> {
    model
        .consts
        .iter()
        .map(|(k, c)| {
            ArrayD::from_shape_vec(IxDyn(&c.shape), c.data.clone())
                .map(|t| (k.clone(), t))
                .map_err(|e| RefError::Failed {
                    node: k.clone(),
                    op: "initializer".into(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

/// [`run`] with the model's constants made once by [`consts`]: the
/// returned tensors are the inputs' and the nodes' outputs only (a model's
/// weights are not copied per run: a run of a large model would otherwise
/// hold, and a caller keeping several runs keep, a copy of every weight).
pub fn run_with(
    model: &LoadedModel,
    consts: &Env,
    inputs: &HashMap<String, Tensor>,
) -> Result<Env, RefError> {
    let mut env: Env = HashMap::new();
    let mut dtypes: HashMap<String, DType> = model
        .consts
        .iter()
        .map(|(k, c)| (k.clone(), c.dtype))
        .collect();
    for gi in &model.inputs {
        let v = inputs.get(&gi.name).ok_or_else(|| RefError::Failed {
            node: gi.name.clone(),
            op: "input".into(),
            reason: "missing".into(),
        })?;
        env.insert(gi.name.clone(), v.clone());
        dtypes.insert(gi.name.clone(), gi.dtype);
    }
    for (i, n) in model.nodes.iter().enumerate() {
        let outs = eval(model, n, &env, consts, &dtypes).map_err(|reason| {
            let (node, op) = (crate::lower::node_name(n, i), n.op_type.clone());
            match reason.strip_prefix("unsupported: ") {
                Some(r) => RefError::Unsupported {
                    node,
                    op,
                    reason: r.to_string(),
                },
                None => RefError::Failed { node, op, reason },
            }
        })?;
        if n.output.iter().skip(outs.len()).any(|o| !o.is_empty()) {
            return Err(RefError::Unsupported {
                node: crate::lower::node_name(n, i),
                op: n.op_type.clone(),
                reason: "optional outputs are not supported".into(),
            });
        }
        for (name, (v, dt)) in n.output.iter().zip(outs) {
            env.insert(name.clone(), v);
            dtypes.insert(name.clone(), dt);
        }
    }
    Ok(env)
}

/// A fused `zkinf.Elementwise` (`input` -> `output`) at `x`: its nodes in
/// order, their constants read from the model.
pub(crate) fn eval_body(
    model: &LoadedModel,
    input: &str,
    output: &str,
    x: &Tensor,
) -> Result<Tensor, String> {
    let body = model
        .bodies
        .get(output)
        .ok_or_else(|| format!("no nodes for the fused '{output}'"))?;
    let mut env: Env = HashMap::from([(input.to_string(), x.clone())]);
    let mut dtypes = HashMap::new();
    for b in body {
        for i in &b.input {
            if let (false, Some(c)) = (env.contains_key(i), model.consts.get(i)) {
                let t = ArrayD::from_shape_vec(IxDyn(&c.shape), c.data.clone())
                    .map_err(|e| e.to_string())?;
                env.insert(i.clone(), t);
                dtypes.insert(i.clone(), c.dtype);
            }
        }
        let none = HashMap::new();
        for (name, (v, dt)) in b.output.iter().zip(eval(model, b, &env, &none, &dtypes)?) {
            env.insert(name.clone(), v);
            dtypes.insert(name.clone(), dt);
        }
    }
    env.remove(output)
        .ok_or_else(|| format!("the fused '{output}' is not computed by its nodes"))
}

fn eval(
    model: &LoadedModel,
    n: &NodeProto,
    env: &Env,
    consts: &Env,
    dtypes: &HashMap<String, DType>,
) -> Result<Vec<(Tensor, DType)>, String> {
    let at = Attrs(n);
    let get = |k: usize| -> Option<&Tensor> {
        n.input
            .get(k)
            .filter(|s| !s.is_empty())
            .and_then(|s| env.get(s).or_else(|| consts.get(s)))
    };
    let req = |k: usize| get(k).ok_or_else(|| format!("input {k} missing"));
    let dt = |k: usize| {
        n.input
            .get(k)
            .and_then(|s| dtypes.get(s))
            .copied()
            .unwrap_or(DType::F32)
    };
    let zero = ArrayD::from_elem(IxDyn(&[]), 0.0);
    let f = |t: Tensor| Ok(vec![(t, DType::F32)]);
    let axis_of = |rank: usize, default: i64| -> Result<usize, String> {
        let a = at.int("axis", default);
        let b = if a < 0 { a + rank as i64 } else { a };
        if b < 0 || b as usize >= rank.max(1) {
            return Err(format!("axis {a} out of range for rank {rank}"));
        }
        Ok(b as usize)
    };
    match n.op_type.as_str() {
        "Gemm" => {
            let (mut a, mut b) = (req(0)?.clone(), req(1)?.clone());
            if at.int("transA", 0) != 0 {
                a = transpose2(&a)?;
            }
            if at.int("transB", 0) != 0 {
                b = transpose2(&b)?;
            }
            let mut y = matmul(&a, &b)?.mapv(|v| v * at.float("alpha", 1.0) as f64);
            if let Some(c) = get(2) {
                let beta = at.float("beta", 1.0) as f64;
                y = bcast(&y, c, |p, q| p + beta * q)?;
            }
            f(y)
        }
        "MatMul" => f(matmul(req(0)?, req(1)?)?),
        "Conv" => f(conv(req(0)?, req(1)?, get(2), &at)?),
        "Relu" => f(req(0)?.mapv(|v| v.max(0.0))),
        "Clip" => {
            let (lo, hi) = if model.opset < 11 {
                (
                    at.float("min", f32::MIN) as f64,
                    at.float("max", f32::MAX) as f64,
                )
            } else {
                (
                    get(1).map_or(f64::NEG_INFINITY, |t| {
                        t.iter().next().copied().unwrap_or(0.0)
                    }),
                    get(2).map_or(f64::INFINITY, |t| t.iter().next().copied().unwrap_or(0.0)),
                )
            };
            f(req(0)?.mapv(|v| v.max(lo).min(hi)))
        }
        "Add" => Ok(vec![(bcast(req(0)?, req(1)?, |p, q| p + q)?, dt(0))]),
        "Sub" => Ok(vec![(bcast(req(0)?, req(1)?, |p, q| p - q)?, dt(0))]),
        "Mul" => Ok(vec![(bcast(req(0)?, req(1)?, |p, q| p * q)?, dt(0))]),
        "Div" => {
            // integer division truncates toward zero
            let int = !dt(0).is_float() && dt(0) != DType::Other(ops::BFLOAT16);
            let y = bcast(
                req(0)?,
                req(1)?,
                |p, q| if int { (p / q).trunc() } else { p / q },
            )?;
            Ok(vec![(y, dt(0))])
        }
        "Sigmoid" => f(req(0)?.mapv(|v| Unary::Sigmoid.apply(v))),
        "Tanh" => f(req(0)?.mapv(|v| Unary::Tanh.apply(v))),
        "Softmax" => {
            let x = req(0)?;
            let axis = axis_of(x.ndim(), if model.opset >= 13 { -1 } else { 1 })?;
            f(ops::softmax(x, axis, model.opset < 13, false)?)
        }
        "Elementwise" => f(eval_body(model, &n.input[0], &n.output[0], req(0)?)?),
        // the fusion pass's masked attention softmax: masked entries are 0
        "MaskedSoftmax" => {
            let x = req(0)?;
            let masked = bcast(
                x,
                req(1)?,
                |v, k| if k != 0.0 { v } else { f64::NEG_INFINITY },
            )?;
            f(ops::softmax(
                &masked,
                x.ndim().saturating_sub(1),
                false,
                false,
            )?)
        }
        "BatchNormalization" => {
            let x = req(0)?;
            let eps = at.float("epsilon", 1e-5) as f64;
            let (s, b, m, v) = (req(1)?, req(2)?, req(3)?, req(4)?);
            let ch = *x
                .shape()
                .get(1)
                .ok_or("BatchNormalization needs a channel axis")?;
            if [s, b, m, v].iter().any(|t| t.shape() != [ch]) {
                return Err("BatchNormalization parameters must have one value per channel".into());
            }
            let mut out = x.clone();
            for (c, mut lane) in out.axis_iter_mut(Axis(1)).enumerate() {
                let k = s[[c]] / (v[[c]] + eps).sqrt();
                lane.mapv_inplace(|x| (x - m[[c]]) * k + b[[c]]);
            }
            f(out)
        }
        "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" | "Identity" => {
            let x = req(0)?;
            let second = if at.has("axes") {
                None
            } else {
                get(1).map(|t| t.iter().copied().collect::<Vec<_>>())
            };
            let shape = crate::shapes::layout_shape(&n.op_type, &at, x.shape(), second.as_deref())?;
            let flat: Vec<f64> = x.iter().copied().collect();
            Ok(vec![(
                ArrayD::from_shape_vec(IxDyn(&shape), flat).map_err(|e| e.to_string())?,
                dt(0),
            )])
        }
        "Transpose" => {
            let x = req(0)?;
            let perm: Vec<usize> = at
                .ints("perm")
                .map(|p| p.iter().map(|&v| v as usize).collect())
                .unwrap_or_else(|| (0..x.ndim()).rev().collect());
            Ok(vec![(
                x.clone()
                    .permuted_axes(IxDyn(&perm))
                    .as_standard_layout()
                    .into_owned(),
                dt(0),
            )])
        }
        "Concat" => {
            let parts: Vec<&Tensor> = (0..n.input.len()).map(req).collect::<Result<_, _>>()?;
            let rank = parts.first().ok_or("Concat needs inputs")?.ndim();
            let axis = axis_of(rank, 0)?;
            if axis >= rank || parts.iter().any(|p| p.ndim() != rank) {
                return Err("Concat operands need one rank and a valid axis".into());
            }
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            Ok(vec![(
                ndarray::concatenate(Axis(axis), &views).map_err(|e| e.to_string())?,
                dt(0),
            )])
        }
        "Constant" => {
            let list = |v: Vec<f64>, dt: DType, scalar: bool| -> Result<_, String> {
                let shape = if scalar { vec![] } else { vec![v.len()] };
                let t = ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| e.to_string())?;
                Ok(vec![(t, dt)])
            };
            if at.has("value_float") {
                return list(vec![at.float("value_float", 0.0) as f64], DType::F32, true);
            }
            if at.has("value_int") {
                return list(vec![at.int("value_int", 0) as f64], DType::I64, true);
            }
            if let Some(v) = at.floats("value_floats") {
                return list(v.iter().map(|&x| x as f64).collect(), DType::F32, false);
            }
            if let Some(v) = at.ints("value_ints") {
                return list(v.iter().map(|&x| x as f64).collect(), DType::I64, false);
            }
            let t = at
                .tensor("value")
                .ok_or("unsupported: only tensor constants")?;
            let c = crate::onnx::decode_tensor(t, None).map_err(|e| e.to_string())?;
            Ok(vec![(
                ArrayD::from_shape_vec(IxDyn(&c.shape), c.data).map_err(|e| e.to_string())?,
                c.dtype,
            )])
        }
        "Shape" => {
            // opset 15: the dimensions from `start` to `end` (clamped)
            let dims = req(0)?.shape();
            let r = dims.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (lo, hi) = (clamp(at.int("start", 0)), clamp(at.int("end", r)));
            let s: Vec<f64> = dims[lo..hi.max(lo)].iter().map(|&d| d as f64).collect();
            Ok(vec![(
                ArrayD::from_shape_vec(IxDyn(&[s.len()]), s).map_err(|e| e.to_string())?,
                DType::I64,
            )])
        }
        "QuantizeLinear" => {
            let x = req(0)?;
            let out_dt = if get(2).is_some() { dt(2) } else { DType::U8 };
            let axis = if req(1)?.len() > 1 {
                axis_of(x.ndim(), 1)?
            } else {
                0
            };
            Ok(vec![(
                quantize(x, req(1)?, get(2).unwrap_or(&zero), out_dt, axis)?,
                out_dt,
            )])
        }
        "DequantizeLinear" => {
            let x = req(0)?;
            f(dequantize(
                x,
                req(1)?,
                get(2).unwrap_or(&zero),
                if req(1)?.len() > 1 {
                    axis_of(x.ndim(), 1)?
                } else {
                    0
                },
            )?)
        }
        "QLinearMatMul" | "QLinearConv" | "QGemm" => {
            let a = dequantize(req(0)?, req(1)?, req(2)?, 0)?;
            let wq = req(3)?;
            let w_axis = if n.op_type == "QLinearMatMul" {
                wq.ndim().saturating_sub(1)
            } else {
                0
            };
            let w_axis = if n.op_type == "QGemm" && at.int("transB", 0) == 0 {
                1
            } else {
                w_axis
            };
            let w = dequantize(wq, req(4)?, req(5)?, w_axis)?;
            let (y, ys, yz) = match n.op_type.as_str() {
                "QLinearMatMul" => (matmul(&a, &w)?, 6, 7),
                "QLinearConv" => {
                    let b = match get(8) {
                        Some(b) => Some(dequantize(
                            b,
                            &bcast(&along(req(1)?, 0, 1)?, &along(req(4)?, 0, 1)?, |p, q| {
                                ((p as f32) * (q as f32)) as f64
                            })?,
                            &zero,
                            0,
                        )?),
                        None => None,
                    };
                    (conv(&a, &w, b.as_ref(), &at)?, 6, 7)
                }
                _ => {
                    let w = if at.int("transB", 0) != 0 {
                        transpose2(&w)?
                    } else {
                        w
                    };
                    let mut y = matmul(&a, &w)?.mapv(|v| v * at.float("alpha", 1.0) as f64);
                    if let Some(c) = get(6) {
                        let s = bcast(req(1)?, req(4)?, |p, q| p * q)?;
                        let c = bcast(c, &s, |c, s| c * s)?;
                        y = bcast(&y, &c, |p, q| p + q)?;
                    }
                    (y, 7, 8)
                }
            };
            match get(ys) {
                Some(s) => {
                    let out_dt = dt(yz);
                    Ok(vec![(
                        quantize(&y, s, get(yz).unwrap_or(&zero), out_dt, 1)?,
                        out_dt,
                    )])
                }
                None => f(y),
            }
        }
        "QLinearAdd" => {
            let a = dequantize(req(0)?, req(1)?, req(2)?, 0)?;
            let b = dequantize(req(3)?, req(4)?, req(5)?, 0)?;
            let out_dt = dt(7);
            Ok(vec![(
                quantize(
                    &bcast(&a, &b, |p, q| p + q)?,
                    req(6)?,
                    get(7).unwrap_or(&zero),
                    out_dt,
                    0,
                )?,
                out_dt,
            )])
        }
        "MatMulInteger" => {
            let a = bcast(req(0)?, get(2).unwrap_or(&zero), |p, q| p - q)?;
            let b = bcast(req(1)?, get(3).unwrap_or(&zero), |p, q| p - q)?;
            Ok(vec![(matmul(&a, &b)?, DType::I32)])
        }
        "ConvInteger" => {
            let x = req(0)?;
            let zx = get(2).and_then(|z| z.iter().next().copied()).unwrap_or(0.0);
            let w = req(1)?;
            let zw = along(get(3).unwrap_or(&zero), 0, w.ndim())?;
            let w = bcast(w, &zw, |p, q| p - q)?;
            // padding must contribute zero after the zero point is removed
            let xs = x.mapv(|v| v - zx);
            Ok(vec![(conv(&xs, &w, None, &at)?, DType::I32)])
        }
        other => {
            let node = ops::Node {
                n,
                opset: model.opset,
                ins: (0..n.input.len()).map(get).collect(),
                dts: (0..n.input.len()).map(dt).collect(),
            };
            ops::eval(&node).unwrap_or_else(|| {
                Err(format!(
                    "unsupported: no reference implementation of {other}"
                ))
            })
        }
    }
}

#[cfg(test)]
mod tests;

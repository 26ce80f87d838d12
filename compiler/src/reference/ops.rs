//! Reference (f64) implementations of the ONNX ops beyond the core set of
//! reference.rs: windows over any number of spatial axes (Conv,
//! ConvTranspose, pooling), Pad, elementwise, variadic and comparison ops,
//! reductions, normalizations and data movement (Split, Expand, Tile, Slice,
//! Gather, Where, Cast). Declared from reference.rs as its `ops` module.

mod movement;
mod windows;

use super::{bcast, Tensor};
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::value::DType;
use movement::{gather, pad, slice, split};
use ndarray::{ArrayD, Axis, IxDyn, Zip};
use windows::conv_transpose;
pub(super) use windows::{conv, pool};

pub(super) type Outs = Result<Vec<(Tensor, DType)>, String>;

/// One node with its inputs, as the dispatcher of reference.rs sees it.
pub(super) struct Node<'a> {
    pub n: &'a NodeProto,
    pub opset: i64,
    /// `None` for an absent (empty-named or unknown) input.
    pub ins: Vec<Option<&'a Tensor>>,
    pub dts: Vec<DType>,
}

impl<'a> Node<'a> {
    fn at(&self) -> Attrs<'a> {
        Attrs(self.n)
    }
    fn get(&self, k: usize) -> Option<&'a Tensor> {
        self.ins.get(k).copied().flatten()
    }
    fn req(&self, k: usize) -> Result<&'a Tensor, String> {
        self.get(k).ok_or_else(|| format!("input {k} missing"))
    }
    fn dt(&self, k: usize) -> DType {
        self.dts.get(k).copied().unwrap_or(DType::F32)
    }
    /// An integer input (shapes, axes, pads, indices) as i64 values.
    fn ints_in(&self, k: usize) -> Option<Vec<i64>> {
        self.get(k).map(|t| t.iter().map(|&v| v as i64).collect())
    }
    fn one(&self, t: Tensor) -> Outs {
        Ok(vec![(t, self.dt(0))])
    }
}

fn norm_axis(a: i64, rank: usize) -> Result<usize, String> {
    let b = if a < 0 { a + rank as i64 } else { a };
    if b < 0 || b >= rank as i64 {
        return Err(format!("axis {a} out of range for rank {rank}"));
    }
    Ok(b as usize)
}

fn shape_of(v: &[i64], what: &str) -> Result<Vec<usize>, String> {
    v.iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("{what} {v:?} has a negative entry")))
        .collect()
}

fn tensor(shape: &[usize], data: Vec<f64>) -> Result<Tensor, String> {
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| e.to_string())
}

/// Values in row-major (logical) order.
fn flat(x: &Tensor) -> Vec<f64> {
    x.iter().copied().collect()
}

/// Row-major multi-index of `i` in `dims`.
fn unravel(mut i: usize, dims: &[usize], out: &mut [usize]) {
    for d in (0..dims.len()).rev() {
        out[d] = i % dims[d].max(1);
        i /= dims[d].max(1);
    }
}

/// The output tensor of shape `tables[d].len()` whose entry at index `i`
/// is `x[tables[0][i0], tables[1][i1], ...]`, or `fill` where a table
/// entry is `None`.
fn remap(x: &Tensor, tables: &[Vec<Option<usize>>], fill: f64) -> Result<Tensor, String> {
    if tables.len() != x.ndim() {
        return Err("rank mismatch".into());
    }
    let data = flat(x);
    let mut strides = vec![1usize; x.ndim()];
    for d in (0..x.ndim().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * x.shape()[d + 1];
    }
    let shape: Vec<usize> = tables.iter().map(|t| t.len()).collect();
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        let mut off = Some(0);
        for d in 0..shape.len() {
            off = off.zip(tables[d][idx[d]]).map(|(o, s)| o + s * strides[d]);
        }
        out.push(off.map_or(fill, |o| data[o]));
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    tensor(&shape, out)
}

// ------------------------------------------------------------ elementwise

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

type UnaryFn = Box<dyn Fn(f64) -> f64>;

fn unary_fn(op: &str, at: &Attrs) -> Option<UnaryFn> {
    let a = |name: &str, default: f32| at.float(name, default) as f64;
    Some(match op {
        "Neg" => Box::new(|x: f64| -x),
        "Abs" => Box::new(f64::abs),
        "Sign" => Box::new(|x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x * 0.0
            }
        }),
        "Exp" => Box::new(f64::exp),
        "Log" => Box::new(f64::ln),
        "Sqrt" => Box::new(f64::sqrt),
        "Reciprocal" => Box::new(|x: f64| 1.0 / x),
        "Floor" => Box::new(f64::floor),
        "Ceil" => Box::new(f64::ceil),
        "Round" => Box::new(f64::round_ties_even),
        "Erf" => Box::new(crate::value::erf),
        "Softplus" => Box::new(softplus),
        "Softsign" => Box::new(|x: f64| x / (1.0 + x.abs())),
        "Mish" => Box::new(|x: f64| x * softplus(x).tanh()),
        "HardSwish" => Box::new(|x: f64| x * (x / 6.0 + 0.5).clamp(0.0, 1.0)),
        "Elu" => {
            let al = a("alpha", 1.0);
            Box::new(move |x: f64| if x < 0.0 { al * x.exp_m1() } else { x })
        }
        "Celu" => {
            let al = a("alpha", 1.0);
            Box::new(move |x: f64| x.max(0.0) + (al * (x / al).exp_m1()).min(0.0))
        }
        "Selu" => {
            let (al, ga) = (a("alpha", 1.673_263_2), a("gamma", 1.050_701));
            Box::new(move |x: f64| {
                if x > 0.0 {
                    ga * x
                } else {
                    ga * al * x.exp_m1()
                }
            })
        }
        "LeakyRelu" => {
            let al = a("alpha", 0.01);
            Box::new(move |x: f64| if x < 0.0 { al * x } else { x })
        }
        "HardSigmoid" => {
            let (al, be) = (a("alpha", 0.2), a("beta", 0.5));
            Box::new(move |x: f64| (al * x + be).clamp(0.0, 1.0))
        }
        "Shrink" => {
            let (bias, l) = (a("bias", 0.0), a("lambd", 0.5));
            Box::new(move |x: f64| {
                if x < -l {
                    x + bias
                } else if x > l {
                    x - bias
                } else {
                    0.0
                }
            })
        }
        "ThresholdedRelu" => {
            let al = a("alpha", 1.0);
            Box::new(move |x: f64| if x > al { x } else { 0.0 })
        }
        _ => return None,
    })
}

/// `f` over three operands broadcast together (Where).
fn bcast3(
    a: &Tensor,
    b: &Tensor,
    c: &Tensor,
    f: impl Fn(f64, f64, f64) -> f64,
) -> Result<Tensor, String> {
    use zkinf_circuits::plan::infer::broadcast;
    let s = broadcast(a.shape(), b.shape())
        .and_then(|s| broadcast(&s, c.shape()))
        .ok_or("shapes do not broadcast")?;
    let d = IxDyn(&s);
    let mut out = ArrayD::zeros(d.clone());
    Zip::from(&mut out)
        .and(a.broadcast(d.clone()).ok_or("broadcast")?)
        .and(b.broadcast(d.clone()).ok_or("broadcast")?)
        .and(c.broadcast(d).ok_or("broadcast")?)
        .for_each(|o, &p, &q, &r| *o = f(p, q, r));
    Ok(out)
}

/// ONNX's code of bfloat16, which zkinf has no DType for.
pub(super) const BFLOAT16: i32 = 16;

/// `v` rounded (half to even) to a binary float with `mant` fraction bits
/// and least normal exponent `emin`; magnitudes from `overflow` on are
/// infinite.
fn round_float(v: f64, mant: i32, emin: i32, overflow: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    if v.abs() >= overflow {
        return v.signum() * f64::INFINITY;
    }
    let e = (((v.abs().to_bits() >> 52) & 0x7ff) as i32 - 1023).max(emin);
    let q = 2f64.powi(e - mant);
    (v / q).round_ties_even() * q
}

/// Cast of one value to an ONNX type: floats to f32 precision, integers
/// truncated toward zero and wrapped to their width, bools to 0/1.
fn cast(v: f64, to: DType) -> f64 {
    let t = if v.is_finite() { v.trunc() } else { 0.0 };
    match to {
        DType::F32 => v as f32 as f64,
        DType::Bool => (v != 0.0) as u8 as f64,
        DType::U8 => t as i64 as u8 as f64,
        DType::I8 => t as i64 as i8 as f64,
        DType::U16 => t as i64 as u16 as f64,
        DType::I16 => t as i64 as i16 as f64,
        DType::I32 => t as i64 as i32 as f64,
        DType::U32 => t as i64 as u32 as f64,
        DType::I64 => t as i64 as f64,
        DType::U64 => {
            if t < 0.0 {
                t as i64 as u64 as f64
            } else {
                t as u64 as f64
            }
        }
        DType::F16 => round_float(v, 10, -14, 65520.0),
        DType::Other(BFLOAT16) => round_float(v, 7, -126, (2.0 - 2f64.powi(-8)) * 2f64.powi(127)),
        DType::F64 | DType::Other(_) => v,
    }
}

// -------------------------------------------------------------- reductions

/// Applies `f` to every lane over the axes marked in `red` (row-major order
/// within a lane).
fn reduce_with(
    x: &Tensor,
    red: &[bool],
    keep: bool,
    f: impl Fn(&[f64]) -> f64,
) -> Result<Tensor, String> {
    let r = x.ndim();
    let kept: Vec<usize> = (0..r).filter(|&d| !red[d]).collect();
    let gone: Vec<usize> = (0..r).filter(|&d| red[d]).collect();
    let perm: Vec<usize> = kept.iter().chain(&gone).copied().collect();
    let p = x.view().permuted_axes(IxDyn(&perm));
    let data: Vec<f64> = p.iter().copied().collect();
    let inner: usize = gone.iter().map(|&d| x.shape()[d]).product();
    let outer: usize = kept.iter().map(|&d| x.shape()[d]).product();
    let vals: Vec<f64> = if inner == 0 {
        vec![f(&[]); outer]
    } else {
        data.chunks(inner).map(&f).collect()
    };
    let shape: Vec<usize> = if keep {
        (0..r)
            .map(|d| if red[d] { 1 } else { x.shape()[d] })
            .collect()
    } else {
        kept.iter().map(|&d| x.shape()[d]).collect()
    };
    tensor(&shape, vals)
}

fn reduce(nd: &Node, op: &str) -> Outs {
    let x = nd.req(0)?;
    let at = nd.at();
    let r = x.ndim();
    let from_input = nd.opset >= 18 || (op == "ReduceSum" && nd.opset >= 13);
    let axes = if from_input {
        nd.ints_in(1)
    } else {
        at.ints("axes")
    }
    .unwrap_or_default();
    if axes.is_empty() && at.int("noop_with_empty_axes", 0) != 0 {
        return nd.one(x.clone());
    }
    let mut red = vec![axes.is_empty(); r];
    for &a in &axes {
        red[norm_axis(a, r)?] = true;
    }
    let keep = at.int("keepdims", 1) != 0;
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let lse = |v: &[f64]| {
        let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if m.is_infinite() {
            return m;
        }
        m + v.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
    };
    let y = match op {
        "ReduceSum" => reduce_with(x, &red, keep, sum)?,
        "ReduceMean" => reduce_with(x, &red, keep, |v| sum(v) / v.len() as f64)?,
        "ReduceMax" => reduce_with(x, &red, keep, |v| {
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        })?,
        "ReduceMin" => reduce_with(x, &red, keep, |v| {
            v.iter().copied().fold(f64::INFINITY, f64::min)
        })?,
        "ReduceProd" => reduce_with(x, &red, keep, |v| v.iter().product())?,
        "ReduceL1" => reduce_with(x, &red, keep, |v| v.iter().map(|x| x.abs()).sum())?,
        "ReduceL2" => reduce_with(x, &red, keep, |v| {
            v.iter().map(|x| x * x).sum::<f64>().sqrt()
        })?,
        "ReduceSumSquare" => reduce_with(x, &red, keep, |v| v.iter().map(|x| x * x).sum())?,
        "ReduceLogSum" => reduce_with(x, &red, keep, |v| sum(v).ln())?,
        _ => reduce_with(x, &red, keep, lse)?,
    };
    nd.one(y)
}

fn arg_extreme(nd: &Node, max: bool) -> Outs {
    let x = nd.req(0)?;
    let at = nd.at();
    let axis = norm_axis(at.int("axis", 0), x.ndim())?;
    let last = at.int("select_last_index", 0) != 0;
    let red: Vec<bool> = (0..x.ndim()).map(|d| d == axis).collect();
    let y = reduce_with(x, &red, at.int("keepdims", 1) != 0, |v| {
        let mut best = 0;
        for (i, &e) in v.iter().enumerate() {
            let better = if max { e > v[best] } else { e < v[best] };
            if better || (last && e == v[best]) {
                best = i;
            }
        }
        best as f64
    })?;
    Ok(vec![(y, DType::I64)])
}

/// Softmax or LogSoftmax along `axis`; `coerced` (opset < 13) normalizes
/// over all axes from `axis` on, as ONNX's 2-D coercion does.
pub(super) fn softmax(x: &Tensor, axis: usize, coerced: bool, log: bool) -> Result<Tensor, String> {
    let norm = |lane: &mut [f64]| {
        let m = lane.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = lane.iter().map(|&v| (v - m).exp()).sum();
        for v in lane.iter_mut() {
            *v = if log {
                *v - m - s.ln()
            } else {
                (*v - m).exp() / s
            };
        }
    };
    if coerced {
        let inner: usize = x.shape()[axis.min(x.ndim())..].iter().product();
        let mut data = flat(x);
        if inner > 0 {
            data.chunks_mut(inner).for_each(norm);
        }
        return tensor(x.shape(), data);
    }
    let mut out = x.clone();
    for mut lane in out.lanes_mut(Axis(axis)) {
        let mut v: Vec<f64> = lane.iter().copied().collect();
        norm(&mut v);
        lane.iter_mut().zip(v).for_each(|(o, n)| *o = n);
    }
    Ok(out)
}

// ---------------------------------------------------------- normalization

fn instance_norm(x: &Tensor, s: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor, String> {
    if x.ndim() < 2 {
        return Err("InstanceNormalization needs an [N, C, ...] input".into());
    }
    let c = x.shape()[1];
    if s.len() != c || b.len() != c {
        return Err("InstanceNormalization parameters must have one value per channel".into());
    }
    let (s, b) = (flat(s), flat(b));
    let plane: usize = x.shape()[2..].iter().product();
    let mut data = flat(x);
    if plane > 0 {
        for (i, v) in data.chunks_mut(plane).enumerate() {
            let ch = i % c;
            let mean = v.iter().sum::<f64>() / plane as f64;
            let var = v.iter().map(|&e| (e - mean) * (e - mean)).sum::<f64>() / plane as f64;
            let k = s[ch] / (var + eps).sqrt();
            v.iter_mut().for_each(|e| *e = (*e - mean) * k + b[ch]);
        }
    }
    tensor(x.shape(), data)
}

fn layer_norm(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let at = nd.at();
    let r = x.ndim();
    let axis = norm_axis(at.int("axis", -1), r)?;
    let eps = at.float("epsilon", 1e-5) as f64;
    let tail = IxDyn(&x.shape()[axis..]);
    // a fused LayerNormalization may have no scale (ones)
    let scale = match nd.get(1) {
        Some(s) => flat(
            &s.broadcast(tail.clone())
                .ok_or("Scale does not broadcast")?
                .to_owned(),
        ),
        None => vec![1.0; x.shape()[axis..].iter().product()],
    };
    let bias = match nd.get(2) {
        Some(b) => flat(&b.broadcast(tail).ok_or("B does not broadcast")?.to_owned()),
        None => vec![0.0; scale.len()],
    };
    let inner = scale.len();
    let mut data = flat(x);
    let (mut means, mut invs) = (Vec::new(), Vec::new());
    if inner > 0 {
        for v in data.chunks_mut(inner) {
            let mean = v.iter().sum::<f64>() / inner as f64;
            let var = v.iter().map(|&e| (e - mean) * (e - mean)).sum::<f64>() / inner as f64;
            let inv = 1.0 / (var + eps).sqrt();
            for (i, e) in v.iter_mut().enumerate() {
                *e = (*e - mean) * inv * scale[i] + bias[i];
            }
            means.push(mean);
            invs.push(inv);
        }
    }
    let stat: Vec<usize> = (0..r)
        .map(|d| if d < axis { x.shape()[d] } else { 1 })
        .collect();
    Ok(vec![
        (tensor(x.shape(), data)?, nd.dt(0)),
        (tensor(&stat, means)?, DType::F32),
        (tensor(&stat, invs)?, DType::F32),
    ])
}

/// RMSNormalization (opset 23): `x / sqrt(mean(x²) + ε) * scale` over the
/// axes from `axis` on.
fn rms_norm(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let at = nd.at();
    let axis = norm_axis(at.int("axis", -1), x.ndim())?;
    let eps = at.float("epsilon", 1e-5) as f64;
    let tail = IxDyn(&x.shape()[axis..]);
    let scale = match nd.get(1) {
        Some(s) => flat(
            &s.broadcast(tail)
                .ok_or("scale does not broadcast")?
                .to_owned(),
        ),
        None => vec![1.0; x.shape()[axis..].iter().product()],
    };
    let inner = scale.len();
    let mut data = flat(x);
    if inner > 0 {
        for v in data.chunks_mut(inner) {
            let ms = v.iter().map(|&e| e * e).sum::<f64>() / inner as f64;
            let inv = 1.0 / (ms + eps).sqrt();
            for (i, e) in v.iter_mut().enumerate() {
                *e *= inv * scale[i];
            }
        }
    }
    Ok(vec![(tensor(x.shape(), data)?, nd.dt(0))])
}

fn variadic(nd: &Node, op: &str) -> Outs {
    let parts: Vec<&Tensor> = (0..nd.n.input.len())
        .map(|k| nd.req(k))
        .collect::<Result<_, _>>()?;
    let first = parts.first().ok_or("needs an input")?;
    let f: fn(f64, f64) -> f64 = match op {
        "Max" => f64::max,
        "Min" => f64::min,
        _ => |p, q| p + q,
    };
    let mut acc = (*first).clone();
    for p in &parts[1..] {
        acc = bcast(&acc, p, f)?;
    }
    if op == "Mean" {
        acc.mapv_inplace(|v| v / parts.len() as f64);
    }
    nd.one(acc)
}

fn conv_transpose_node(nd: &Node) -> Outs {
    nd.one(conv_transpose(nd.req(0)?, nd.req(1)?, nd.get(2), &nd.at())?)
}

fn pool_node(nd: &Node, op: &str) -> Outs {
    let at = nd.at();
    let (max, global) = (op.contains("Max"), op.starts_with("Global"));
    let (y, idx) = pool(nd.req(0)?, &at, max, global)?;
    let mut outs = vec![(y, nd.dt(0))];
    // MaxPool's optional second output
    if let Some(idx) = idx.filter(|_| !global) {
        outs.push((idx, DType::I64));
    }
    Ok(outs)
}

fn prelu(nd: &Node) -> Outs {
    let (x, s) = (nd.req(0)?, nd.req(1)?);
    let f = |v: f64, a: f64| if v < 0.0 { a * v } else { v };
    let y = match bcast(x, s, f) {
        Ok(y) if y.shape() == x.shape() => y,
        // opset < 7: one slope per channel
        _ if s.ndim() == 1 && x.ndim() >= 2 && s.len() == x.shape()[1] => {
            let mut shape = vec![1; x.ndim()];
            shape[1] = s.len();
            let s = s.to_shape(IxDyn(&shape)).map_err(|e| e.to_string())?;
            bcast(x, &s.to_owned(), f)?
        }
        _ => return Err("slope does not broadcast to the input".into()),
    };
    nd.one(y)
}

fn pow(nd: &Node) -> Outs {
    nd.one(bcast(nd.req(0)?, nd.req(1)?, f64::powf)?)
}

fn compare(nd: &Node, f: fn(f64, f64) -> bool) -> Outs {
    let y = bcast(nd.req(0)?, nd.req(1)?, |p, q| f(p, q) as u8 as f64)?;
    Ok(vec![(y, DType::Bool)])
}

fn where_node(nd: &Node) -> Outs {
    let y = bcast3(nd.req(0)?, nd.req(1)?, nd.req(2)?, |c, p, q| {
        if c != 0.0 {
            p
        } else {
            q
        }
    })?;
    Ok(vec![(y, nd.dt(1))])
}

fn log_softmax(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let default = if nd.opset >= 13 { -1 } else { 1 };
    let axis = norm_axis(nd.at().int("axis", default), x.ndim())?;
    nd.one(softmax(x, axis, nd.opset < 13, true)?)
}

fn instance_norm_node(nd: &Node) -> Outs {
    let eps = nd.at().float("epsilon", 1e-5) as f64;
    nd.one(instance_norm(nd.req(0)?, nd.req(1)?, nd.req(2)?, eps)?)
}

fn expand(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let want = shape_of(&nd.ints_in(1).ok_or("Expand needs a shape")?, "shape")?;
    let s = zkinf_circuits::plan::infer::broadcast(x.shape(), &want)
        .ok_or("shapes do not broadcast")?;
    nd.one(x.broadcast(IxDyn(&s)).ok_or("broadcast")?.to_owned())
}

fn tile(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let reps = shape_of(&nd.ints_in(1).ok_or("Tile needs repeats")?, "repeats")?;
    if reps.len() != x.ndim() {
        return Err(format!("{} repeats for rank {}", reps.len(), x.ndim()));
    }
    let tables: Vec<Vec<Option<usize>>> = x
        .shape()
        .iter()
        .zip(&reps)
        .map(|(&d, &k)| (0..d * k).map(|i| Some(i % d)).collect())
        .collect();
    nd.one(remap(x, &tables, 0.0)?)
}

fn cast_node(nd: &Node, like: bool) -> Outs {
    let to = if like {
        nd.dt(1)
    } else {
        DType::from_onnx(nd.at().int("to", 1) as i32)
    };
    if let DType::Other(c @ 0..=15 | c @ 17..) = to {
        return Err(format!("unsupported: Cast to ONNX type {c}"));
    }
    Ok(vec![(nd.req(0)?.mapv(|v| cast(v, to)), to)])
}

/// The ops reference.rs's own dispatch does not handle; `None` for an op
/// that has no reference implementation.
pub(super) fn eval(nd: &Node) -> Option<Outs> {
    let op = nd.n.op_type.as_str();
    if let Some(f) = unary_fn(op, &nd.at()) {
        return Some(nd.req(0).and_then(|x| nd.one(x.mapv(f))));
    }
    Some(match op {
        "ConvTranspose" => conv_transpose_node(nd),
        "MaxPool" | "AveragePool" | "GlobalAveragePool" | "GlobalMaxPool" => pool_node(nd, op),
        "Pad" => pad(nd),
        "PRelu" => prelu(nd),
        "Max" | "Min" | "Sum" | "Mean" => variadic(nd, op),
        "Pow" => pow(nd),
        "Equal" => compare(nd, |p, q| p == q),
        "Less" => compare(nd, |p, q| p < q),
        "Greater" => compare(nd, |p, q| p > q),
        "LessOrEqual" => compare(nd, |p, q| p <= q),
        "GreaterOrEqual" => compare(nd, |p, q| p >= q),
        "Where" => where_node(nd),
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1"
        | "ReduceL2" | "ReduceSumSquare" | "ReduceLogSum" | "ReduceLogSumExp" => reduce(nd, op),
        "ArgMax" => arg_extreme(nd, true),
        "ArgMin" => arg_extreme(nd, false),
        "LogSoftmax" => log_softmax(nd),
        "InstanceNormalization" => instance_norm_node(nd),
        "LayerNormalization" => layer_norm(nd),
        "RMSNormalization" => rms_norm(nd),
        "Split" => split(nd),
        "Expand" => expand(nd),
        "Tile" => tile(nd),
        "Slice" => slice(nd),
        "Gather" => gather(nd),
        "Cast" => cast_node(nd, false),
        "CastLike" => cast_node(nd, true),
        _ => return None,
    })
}

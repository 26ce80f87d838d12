//! Shape and range rules of every op: the compiler builds nodes through them
//! and the checker re-derives them, so a Plan's declared shapes and ranges
//! always follow from its ops.

mod guard;

use super::{IntRange, Op, Plan, TensorInfo};
use crate::PlanError;
use guard::arithmetic_guard;
pub use guard::INTERMEDIATE_LIMIT;

/// Values must stay well inside i64 so that executor products in i128 and
/// field elements in circuits never wrap.
pub const VALUE_LIMIT: i128 = 1 << 62;

/// The most elements one tensor may have (checked before anything is allocated).
pub const MAX_ELEMENTS: usize = u32::MAX as usize;

/// Number of elements of a shape, `None` past [`MAX_ELEMENTS`].
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
}

fn bad(node: usize, name: &str, reason: impl Into<String>) -> PlanError {
    PlanError::BadNode {
        node,
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// Output size of a pooling/convolution window along one axis.
pub fn window_out(
    input: usize,
    kernel: usize,
    stride: usize,
    pad_total: usize,
    dilation: usize,
    pad_begin: usize,
    ceil: bool,
) -> Option<usize> {
    let eff = dilation
        .checked_mul(kernel.checked_sub(1)?)?
        .checked_add(1)?;
    let padded = input.checked_add(pad_total)?;
    if padded < eff || stride == 0 {
        return None;
    }
    let span = padded - eff;
    let mut out = if ceil {
        span.div_ceil(stride) + 1
    } else {
        span / stride + 1
    };
    // a window must start inside the input or its leading padding
    if ceil && (out - 1) * stride >= input + pad_begin {
        out -= 1;
    }
    Some(out)
}

fn range(lo: i128, hi: i128, node: usize, name: &str) -> Result<IntRange, PlanError> {
    if lo < -VALUE_LIMIT || hi > VALUE_LIMIT {
        return Err(bad(
            node,
            name,
            format!("value range [{lo}, {hi}] exceeds the supported magnitude 2^62"),
        ));
    }
    if lo > hi {
        return Err(bad(node, name, format!("empty range [{lo}, {hi}]")));
    }
    Ok(IntRange {
        lo: lo as i64,
        hi: hi as i64,
    })
}

/// The range of `(x - zx) * (w - zw)` over the given operand ranges.
fn product_range(x: IntRange, zx: i64, w: IntRange, zws: &[i64]) -> (i128, i128) {
    let mut lo = i128::MAX;
    let mut hi = i128::MIN;
    for &zw in zws {
        for a in [x.lo as i128 - zx as i128, x.hi as i128 - zx as i128] {
            for b in [w.lo as i128 - zw as i128, w.hi as i128 - zw as i128] {
                lo = lo.min(a * b);
                hi = hi.max(a * b);
            }
        }
    }
    (lo, hi)
}

/// `floor(sqrt(v))` of `v >= 0`, exact.
pub fn isqrt(v: i128) -> i128 {
    if v <= 0 {
        return 0;
    }
    let mut s = (v as f64).sqrt() as i128;
    while s * s > v {
        s -= 1;
    }
    while (s + 1) * (s + 1) <= v {
        s += 1;
    }
    s
}

fn declared(lo: i64, hi: i64, node: usize, name: &str) -> Result<IntRange, PlanError> {
    range(lo as i128, hi as i128, node, name)
}

fn per_channel_ok(len: usize, channels: usize) -> bool {
    len == 1 || len == channels
}

/// Derives the shape and range of node `id` (operands must precede it).
pub fn infer(
    plan: &Plan,
    id: usize,
    name: &str,
    op: &Op,
    inputs: &[u32],
    hint: Option<&[usize]>,
) -> Result<TensorInfo, PlanError> {
    let arity = |n: &[usize]| -> Result<(), PlanError> {
        if n.contains(&inputs.len()) {
            Ok(())
        } else {
            Err(bad(
                id,
                name,
                format!("{} takes {:?} operands, got {}", op.kind(), n, inputs.len()),
            ))
        }
    };
    for &t in inputs {
        if t as usize >= id {
            return Err(bad(
                id,
                name,
                format!("operand {t} is not defined before node {id}"),
            ));
        }
    }
    let inp = |k: usize| plan.info(inputs[k]).clone();
    let needs = match op {
        Op::MatMul { .. } | Op::Conv { .. } | Op::Add { .. } | Op::Mul { .. } => 2,
        Op::Div { .. } => 2,
        Op::Rescale { .. }
        | Op::AvgPool { .. }
        | Op::AvgPoolF32 { .. }
        | Op::Softmax { .. }
        | Op::Sqrt { .. } => 1,
        _ => 0,
    };
    if inputs.len() >= needs && arithmetic_guard(plan, op, inputs).is_none() {
        return Err(bad(id, name, "parameters could overflow the integer arithmetic (values, zero points, multipliers or shifts too large)"));
    }
    let (shape, rng): (Vec<usize>, IntRange) = match op {
        Op::Input { index } => {
            arity(&[0])?;
            let pi = plan
                .inputs
                .get(*index as usize)
                .ok_or_else(|| bad(id, name, format!("graph input {index} does not exist")))?;
            (
                pi.shape.clone(),
                declared(pi.range.lo, pi.range.hi, id, name)?,
            )
        }
        Op::Const { values } => {
            arity(&[0])?;
            let shape = hint
                .ok_or_else(|| bad(id, name, "a constant needs its shape"))?
                .to_vec();
            if numel(&shape) != Some(values.len()) {
                return Err(bad(
                    id,
                    name,
                    format!("{} values do not fill shape {:?}", values.len(), shape),
                ));
            }
            let lo = values.iter().copied().min().unwrap_or(0);
            let hi = values.iter().copied().max().unwrap_or(0);
            (shape, declared(lo, hi, id, name)?)
        }
        Op::MatMul { a_zero, b_zero } => {
            arity(&[2, 3])?;
            let (a, b) = (inp(0), inp(1));
            if a.shape.len() < 2 || b.shape.len() < 2 {
                return Err(bad(id, name, "MatMul operands need rank >= 2"));
            }
            let (m, k) = (a.shape[a.shape.len() - 2], a.shape[a.shape.len() - 1]);
            let (kb, n) = (b.shape[b.shape.len() - 2], b.shape[b.shape.len() - 1]);
            if k != kb {
                return Err(bad(
                    id,
                    name,
                    format!("inner dimensions differ: {:?} x {:?}", a.shape, b.shape),
                ));
            }
            if b.shape.len() > 2 && b.shape[..b.shape.len() - 2] != a.shape[..a.shape.len() - 2] {
                return Err(bad(
                    id,
                    name,
                    format!("batch dimensions differ: {:?} x {:?}", a.shape, b.shape),
                ));
            }
            if b_zero.is_empty() || !per_channel_ok(b_zero.len(), n) {
                return Err(bad(id, name, "b_zero needs one entry or one per column"));
            }
            let (plo, phi) = product_range(a.range, *a_zero, b.range, b_zero);
            let (mut lo, mut hi) = (k as i128 * plo.min(0), k as i128 * phi.max(0));
            if inputs.len() == 3 {
                let bias = inp(2);
                if bias.shape != [n] {
                    return Err(bad(
                        id,
                        name,
                        format!("bias shape {:?}, expected [{n}]", bias.shape),
                    ));
                }
                lo += bias.range.lo as i128;
                hi += bias.range.hi as i128;
            }
            let mut shape = a.shape[..a.shape.len() - 2].to_vec();
            shape.extend([m, n]);
            (shape, range(lo, hi, id, name)?)
        }
        Op::Conv {
            x_zero,
            w_zero,
            strides,
            pads,
            dilations,
            group,
        } => {
            arity(&[2, 3])?;
            let (x, w) = (inp(0), inp(1));
            if x.shape.len() != 4 || w.shape.len() != 4 {
                return Err(bad(id, name, "Conv needs 4-D input and weights (NCHW)"));
            }
            let (c_out, c_in_g) = (w.shape[0], w.shape[1]);
            if *group == 0 || x.shape[1] != c_in_g * group || c_out % group != 0 {
                return Err(bad(
                    id,
                    name,
                    format!(
                        "channels do not match: input {:?}, weights {:?}, group {group}",
                        x.shape, w.shape
                    ),
                ));
            }
            if !per_channel_ok(w_zero.len(), c_out) {
                return Err(bad(
                    id,
                    name,
                    "w_zero needs one entry or one per output channel",
                ));
            }
            let mut out = vec![x.shape[0], c_out];
            for d in 0..2 {
                if pads[d] >= w.shape[2 + d].saturating_mul(dilations[d].max(1))
                    || pads[d + 2] >= w.shape[2 + d].saturating_mul(dilations[d].max(1))
                {
                    return Err(bad(id, name, "padding as large as the kernel"));
                }
                out.push(
                    window_out(
                        x.shape[2 + d],
                        w.shape[2 + d],
                        strides[d],
                        pads[d].saturating_add(pads[d + 2]),
                        dilations[d],
                        pads[d],
                        false,
                    )
                    .ok_or_else(|| bad(id, name, "kernel larger than the padded input"))?,
                );
            }
            let taps = (c_in_g * w.shape[2] * w.shape[3]) as i128;
            let (plo, phi) = product_range(x.range, *x_zero, w.range, w_zero);
            let (mut lo, mut hi) = (taps * plo.min(0), taps * phi.max(0));
            if inputs.len() == 3 {
                let bias = inp(2);
                if bias.shape != [c_out] {
                    return Err(bad(
                        id,
                        name,
                        format!("bias shape {:?}, expected [{c_out}]", bias.shape),
                    ));
                }
                lo += bias.range.lo as i128;
                hi += bias.range.hi as i128;
            }
            (out, range(lo, hi, id, name)?)
        }
        Op::Rescale {
            mult,
            bias,
            axis,
            lo,
            hi,
            ..
        } => {
            arity(&[1])?;
            let x = inp(0);
            let ch = x.shape.get(*axis as usize).copied().unwrap_or(1);
            if mult.is_empty()
                || !per_channel_ok(mult.len(), ch)
                || !(bias.is_empty() || per_channel_ok(bias.len(), ch))
            {
                return Err(bad(
                    id,
                    name,
                    "Rescale needs one multiplier (and bias) or one per channel",
                ));
            }
            if mult.len() > 1 && *axis as usize >= x.shape.len() {
                return Err(bad(id, name, "per-channel axis out of range"));
            }
            (x.shape, declared(*lo, *hi, id, name)?)
        }
        Op::Add { lo, hi, .. } | Op::Mul { lo, hi, .. } => {
            arity(&[2])?;
            let shape = broadcast(&inp(0).shape, &inp(1).shape).ok_or_else(|| {
                bad(
                    id,
                    name,
                    format!(
                        "shapes {:?} and {:?} do not broadcast",
                        inp(0).shape,
                        inp(1).shape
                    ),
                )
            })?;
            (shape, declared(*lo, *hi, id, name)?)
        }
        Op::Clamp { lo, hi } => {
            arity(&[1])?;
            let x = inp(0);
            declared(*lo, *hi, id, name)?;
            let r = IntRange {
                lo: x.range.lo.clamp(*lo, *hi),
                hi: x.range.hi.clamp(*lo, *hi),
            };
            (x.shape, r)
        }
        Op::MaxPool {
            kernel,
            strides,
            pads,
            dilations,
            ceil_mode,
        } => {
            arity(&[1])?;
            let x = inp(0);
            (
                pool_shape(&x.shape, kernel, strides, pads, dilations, *ceil_mode)
                    .ok_or_else(|| bad(id, name, "pooling window does not fit the input"))?,
                x.range,
            )
        }
        Op::AvgPool {
            kernel,
            strides,
            pads,
            lo,
            hi,
            ..
        }
        | Op::AvgPoolF32 {
            kernel,
            strides,
            pads,
            lo,
            hi,
            ..
        } => {
            if let Op::AvgPoolF32 {
                x_scale,
                y_scale,
                zero_shift,
                ..
            } = op
            {
                if !(x_scale.is_finite() && *x_scale > 0.0 && y_scale.is_finite() && *y_scale > 0.0)
                {
                    return Err(bad(id, name, "scales must be positive and finite"));
                }
                if !(0..=256).contains(zero_shift) {
                    return Err(bad(id, name, "zero_shift must lie in [0, 256]"));
                }
            }
            arity(&[1])?;
            let x = inp(0);
            (
                pool_shape(&x.shape, kernel, strides, pads, &[1, 1], false)
                    .ok_or_else(|| bad(id, name, "pooling window does not fit the input"))?,
                declared(*lo, *hi, id, name)?,
            )
        }
        Op::Lookup { in_lo, table } => {
            arity(&[1])?;
            let x = inp(0);
            if table.is_empty()
                || x.range.lo < *in_lo
                || (x.range.hi as i128) >= *in_lo as i128 + table.len() as i128
            {
                return Err(bad(
                    id,
                    name,
                    format!(
                        "table [{in_lo}, +{}) does not cover the input range [{}, {}]",
                        table.len(),
                        x.range.lo,
                        x.range.hi
                    ),
                ));
            }
            let lo = table.iter().copied().min().unwrap_or(0);
            let hi = table.iter().copied().max().unwrap_or(0);
            (x.shape, declared(lo, hi, id, name)?)
        }
        Op::Softmax {
            axis,
            exp_table,
            out_mult,
            lo,
            hi,
            ..
        } => {
            arity(&[1])?;
            let x = inp(0);
            if *axis as usize >= x.shape.len() {
                return Err(bad(id, name, "softmax axis out of range"));
            }
            let span = x.range.hi as i128 - x.range.lo as i128;
            if (exp_table.len() as i128) <= span
                || exp_table.first().copied().unwrap_or(0) <= 0
                || exp_table.iter().any(|&e| e < 0)
                || *out_mult < 0
            {
                return Err(bad(
                    id,
                    name,
                    "softmax table must cover the input span, with a positive first entry",
                ));
            }
            (x.shape, declared(*lo, *hi, id, name)?)
        }
        Op::Sqrt { bias } => {
            arity(&[1])?;
            let x = inp(0);
            let (lo, hi) = (
                x.range.lo as i128 + *bias as i128,
                x.range.hi as i128 + *bias as i128,
            );
            if lo < 0 {
                return Err(bad(
                    id,
                    name,
                    format!("square root of a range reaching {lo} (below zero)"),
                ));
            }
            (x.shape, range(isqrt(lo), isqrt(hi), id, name)?)
        }
        Op::Div { lo, hi, .. } => {
            arity(&[2])?;
            let (a, b) = (inp(0), inp(1));
            let rows_of = |s: &[usize]| {
                let mut s = s.to_vec();
                if let Some(l) = s.last_mut() {
                    *l = 1;
                }
                s
            };
            if b.shape != a.shape && b.shape != rows_of(&a.shape) {
                return Err(bad(
                    id,
                    name,
                    format!(
                        "divisor shape {:?} is neither {:?} nor one per row",
                        b.shape, a.shape
                    ),
                ));
            }
            if b.range.lo < 1 {
                return Err(bad(
                    id,
                    name,
                    format!("divisor range reaches {} (must stay >= 1)", b.range.lo),
                ));
            }
            (a.shape, declared(*lo, *hi, id, name)?)
        }
        Op::Reshape => {
            arity(&[1])?;
            let x = inp(0);
            let shape = hint
                .ok_or_else(|| bad(id, name, "a reshape needs its shape"))?
                .to_vec();
            if numel(&shape) != Some(x.len()) {
                return Err(bad(
                    id,
                    name,
                    format!("cannot reshape {:?} into {:?}", x.shape, shape),
                ));
            }
            (shape, x.range)
        }
        Op::Transpose { perm } => {
            arity(&[1])?;
            let x = inp(0);
            let mut seen = vec![false; x.shape.len()];
            for &p in perm {
                match seen.get_mut(p as usize) {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return Err(bad(
                            id,
                            name,
                            format!("{perm:?} is not a permutation of rank {}", x.shape.len()),
                        ))
                    }
                }
            }
            if perm.len() != x.shape.len() {
                return Err(bad(
                    id,
                    name,
                    format!("{perm:?} is not a permutation of rank {}", x.shape.len()),
                ));
            }
            (perm.iter().map(|&p| x.shape[p as usize]).collect(), x.range)
        }
        Op::Concat { axis } => {
            if inputs.is_empty() {
                return Err(bad(id, name, "Concat needs operands"));
            }
            let first = inp(0);
            let ax = *axis as usize;
            if ax >= first.shape.len() {
                return Err(bad(id, name, "concat axis out of range"));
            }
            let mut shape = first.shape.clone();
            let mut r = first.range;
            for k in 1..inputs.len() {
                let t = inp(k);
                let same = t.shape.len() == shape.len()
                    && (0..shape.len()).all(|d| d == ax || t.shape[d] == shape[d]);
                if !same {
                    return Err(bad(
                        id,
                        name,
                        format!(
                            "cannot concatenate {:?} and {:?} on axis {ax}",
                            shape, t.shape
                        ),
                    ));
                }
                shape[ax] += t.shape[ax];
                r = IntRange {
                    lo: r.lo.min(t.range.lo),
                    hi: r.hi.max(t.range.hi),
                };
            }
            (shape, r)
        }
        Op::Gather { map } => {
            if inputs.is_empty() {
                return Err(bad(id, name, "Gather needs operands"));
            }
            let shape = hint
                .ok_or_else(|| bad(id, name, "a gather needs its shape"))?
                .to_vec();
            if numel(&shape) != Some(map.len()) {
                return Err(bad(
                    id,
                    name,
                    format!("{} map entries for shape {shape:?}", map.len()),
                ));
            }
            let total: usize = (0..inputs.len()).map(|k| inp(k).len()).sum();
            if let Some(&j) = map.iter().find(|&&j| j as usize >= total) {
                return Err(bad(
                    id,
                    name,
                    format!("map entry {j} outside the {total} operand values"),
                ));
            }
            let r = (1..inputs.len()).fold(inp(0).range, |r, k| IntRange {
                lo: r.lo.min(inp(k).range.lo),
                hi: r.hi.max(inp(k).range.hi),
            });
            (shape, r)
        }
    };
    if numel(&shape).is_none() {
        return Err(bad(
            id,
            name,
            format!("shape {shape:?} has more than 2^32 elements"),
        ));
    }
    if let Some(h) = hint {
        if h != shape.as_slice() {
            return Err(bad(
                id,
                name,
                format!("declared shape {h:?} but the op gives {shape:?}"),
            ));
        }
    }
    Ok(TensorInfo { shape, range: rng })
}

/// Numpy broadcasting of two shapes.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

fn pool_shape(
    x: &[usize],
    kernel: &[usize; 2],
    strides: &[usize; 2],
    pads: &[usize; 4],
    dil: &[usize; 2],
    ceil: bool,
) -> Option<Vec<usize>> {
    if x.len() != 4 {
        return None;
    }
    let mut out = vec![x[0], x[1]];
    for d in 0..2 {
        if pads[d] >= kernel[d] || pads[d + 2] >= kernel[d] {
            return None;
        }
        out.push(window_out(
            x[2 + d],
            kernel[d],
            strides[d],
            pads[d].saturating_add(pads[d + 2]),
            dil[d],
            pads[d],
            ceil,
        )?);
    }
    Some(out)
}

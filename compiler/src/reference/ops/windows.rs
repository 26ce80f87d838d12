//! Windows over any number of spatial axes: Conv, ConvTranspose and the
//! pools.

use super::{flat, shape_of, tensor, unravel};
use crate::model::Attrs;
use crate::reference::Tensor;

// ---------------------------------------------------------------- windows

/// Resolved window attributes of Conv and pooling over `nd` spatial axes.
struct Win {
    strides: Vec<usize>,
    dil: Vec<usize>,
    begin: Vec<usize>,
    end: Vec<usize>,
}

fn per_axis(at: &Attrs, name: &str, nd: usize) -> Result<Vec<usize>, String> {
    match at.ints(name) {
        None => Ok(vec![1; nd]),
        Some(v) if v.is_empty() => Ok(vec![1; nd]),
        Some(v) if v.len() == nd && v.iter().all(|&x| x >= 1) => {
            Ok(v.iter().map(|&x| x as usize).collect())
        }
        Some(v) => Err(format!("{name} {v:?} for {nd} spatial axes")),
    }
}

/// Strides, dilations and pads (auto_pad included) for `kernel` over an
/// input of spatial shape `input`.
fn window(at: &Attrs, kernel: &[usize], input: &[usize]) -> Result<Win, String> {
    let nd = kernel.len();
    let strides = per_axis(at, "strides", nd)?;
    let dil = per_axis(at, "dilations", nd)?;
    let auto_pad = at.string("auto_pad").unwrap_or_default();
    let (begin, end) = match auto_pad.as_str() {
        "" | "NOTSET" => match at.ints("pads") {
            None => (vec![0; nd], vec![0; nd]),
            Some(p) if p.is_empty() => (vec![0; nd], vec![0; nd]),
            Some(p) if p.len() == 2 * nd && p.iter().all(|&x| x >= 0) => (
                p[..nd].iter().map(|&x| x as usize).collect(),
                p[nd..].iter().map(|&x| x as usize).collect(),
            ),
            Some(p) => return Err(format!("pads {p:?} for {nd} spatial axes")),
        },
        "VALID" => (vec![0; nd], vec![0; nd]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let (mut b, mut e) = (vec![0; nd], vec![0; nd]);
            for d in 0..nd {
                let out = input[d].div_ceil(strides[d]);
                let eff = kernel[d].saturating_sub(1) * dil[d] + 1;
                let total = ((out.max(1) - 1) * strides[d] + eff).saturating_sub(input[d]);
                let small = total / 2;
                (b[d], e[d]) = if auto_pad == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
            }
            (b, e)
        }
        other => return Err(format!("auto_pad {other}")),
    };
    Ok(Win {
        strides,
        dil,
        begin,
        end,
    })
}

/// Output length along one axis (the plan's own rule: in ceil mode the
/// last window must start inside the input or its leading padding).
fn win_out(
    input: usize,
    k: usize,
    s: usize,
    pb: usize,
    pe: usize,
    d: usize,
    ceil: bool,
) -> Option<usize> {
    zkinf_circuits::plan::infer::window_out(input, k, s, pb.checked_add(pe)?, d, pb, ceil)
}

/// For every position `p` of the grid `from` (row-major), the kernel taps
/// `(kernel index, row-major index into the grid to)` whose coordinate
/// `p * stride + k * dilation - begin` lies inside `to`.
fn taps(
    from: &[usize],
    to: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dil: &[usize],
    begin: &[isize],
) -> Vec<Vec<(usize, usize)>> {
    let nd = from.len();
    let (nf, nk): (usize, usize) = (from.iter().product(), kernel.iter().product());
    let (mut pi, mut ki) = (vec![0; nd], vec![0; nd]);
    let mut all = Vec::with_capacity(nf);
    for p in 0..nf {
        unravel(p, from, &mut pi);
        let mut v = Vec::new();
        'k: for k in 0..nk {
            unravel(k, kernel, &mut ki);
            let mut off = 0;
            for d in 0..nd {
                let c = (pi[d] * strides[d] + ki[d] * dil[d]) as isize - begin[d];
                if c < 0 || c as usize >= to[d] {
                    continue 'k;
                }
                off = off * to[d] + c as usize;
            }
            v.push((k, off));
        }
        all.push(v);
    }
    all
}

/// Conv over any number of spatial axes (1-D, 2-D, 3-D, ...) with groups.
pub(in crate::reference) fn conv(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    at: &Attrs,
) -> Result<Tensor, String> {
    if x.ndim() < 3 || w.ndim() != x.ndim() {
        return Err("Conv needs an [N, C, ...] input and weights of the same rank".into());
    }
    let (n, c_in, input) = (x.shape()[0], x.shape()[1], &x.shape()[2..]);
    let (c_out, c_in_g, kernel) = (w.shape()[0], w.shape()[1], &w.shape()[2..]);
    let group = at.int("group", 1).max(1) as usize;
    if c_in != c_in_g * group || c_out % group != 0 {
        return Err("channels do not match".into());
    }
    if b.is_some_and(|b| b.shape() != [c_out]) {
        return Err(format!("bias must have shape [{c_out}]"));
    }
    let wn = window(at, kernel, input)?;
    let nd = kernel.len();
    let out: Vec<usize> = (0..nd)
        .map(|d| {
            win_out(
                input[d],
                kernel[d],
                wn.strides[d],
                wn.begin[d],
                wn.end[d],
                wn.dil[d],
                false,
            )
        })
        .collect::<Option<_>>()
        .ok_or("window larger than the padded input")?;
    let begin: Vec<isize> = wn.begin.iter().map(|&p| p as isize).collect();
    let tp = taps(&out, input, kernel, &wn.strides, &wn.dil, &begin);
    let (xs, ws) = (flat(x), flat(w));
    let (isz, ksz) = (
        input.iter().product::<usize>(),
        kernel.iter().product::<usize>(),
    );
    let per_g = c_out / group;
    let mut y = Vec::with_capacity(n * c_out * tp.len());
    for bn in 0..n {
        for o in 0..c_out {
            let g = o / per_g;
            for t in &tp {
                let mut acc = b.map_or(0.0, |b| b[[o]]);
                for ci in 0..c_in_g {
                    let xb = (bn * c_in + g * c_in_g + ci) * isz;
                    let wb = (o * c_in_g + ci) * ksz;
                    for &(k, off) in t {
                        acc += xs[xb + off] * ws[wb + k];
                    }
                }
                y.push(acc);
            }
        }
    }
    let mut shape = vec![n, c_out];
    shape.extend(&out);
    tensor(&shape, y)
}

/// ConvTranspose over any number of spatial axes; weights
/// [C_in, C_out / group, k...].
pub(super) fn conv_transpose(
    x: &Tensor,
    w: &Tensor,
    b: Option<&Tensor>,
    at: &Attrs,
) -> Result<Tensor, String> {
    if x.ndim() < 3 || w.ndim() != x.ndim() {
        return Err("ConvTranspose needs an [N, C, ...] input and weights of the same rank".into());
    }
    let nd = x.ndim() - 2;
    let (n, c_in, input) = (x.shape()[0], x.shape()[1], &x.shape()[2..]);
    let group = at.int("group", 1).max(1) as usize;
    let (c_out_g, kernel) = (w.shape()[1], &w.shape()[2..]);
    let c_out = c_out_g * group;
    if w.shape()[0] != c_in || c_in % group != 0 {
        return Err("channels do not match".into());
    }
    if b.is_some_and(|b| b.shape() != [c_out]) {
        return Err(format!("bias must have shape [{c_out}]"));
    }
    let strides = per_axis(at, "strides", nd)?;
    let dil = per_axis(at, "dilations", nd)?;
    let opad = match at.ints("output_padding") {
        None => vec![0; nd],
        Some(v) if v.is_empty() => vec![0; nd],
        Some(v) if v.len() == nd && v.iter().all(|&p| p >= 0) => v,
        Some(v) => return Err(format!("output_padding {v:?} for {nd} spatial axes")),
    };
    // the output length with no padding
    let full: Vec<i64> = (0..nd)
        .map(|d| {
            (strides[d] * input[d].saturating_sub(1)) as i64
                + opad[d]
                + (kernel[d].saturating_sub(1) * dil[d]) as i64
                + 1
        })
        .collect();
    let auto_pad = at.string("auto_pad").unwrap_or_default();
    let wanted: Option<Vec<i64>> = match at.ints("output_shape") {
        // a full [N, C, ...] shape is accepted too
        Some(s) if s.len() >= nd => Some(s[s.len() - nd..].to_vec()),
        Some(s) => return Err(format!("output_shape {s:?} for {nd} spatial axes")),
        None if auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER" => {
            Some((0..nd).map(|d| (input[d] * strides[d]) as i64).collect())
        }
        None => None,
    };
    let (out, begin): (Vec<i64>, Vec<i64>) = match wanted {
        Some(os) => {
            let mut begin = Vec::with_capacity(nd);
            for d in 0..nd {
                let total = full[d] - os[d];
                let half = total.div_euclid(2);
                begin.push(if auto_pad == "SAME_UPPER" {
                    half
                } else {
                    total - half
                });
            }
            (os, begin)
        }
        None => {
            let (b, e) = match (auto_pad.as_str(), at.ints("pads")) {
                ("VALID", _) | (_, None) => (vec![0; nd], vec![0; nd]),
                ("" | "NOTSET", Some(p)) if p.is_empty() => (vec![0; nd], vec![0; nd]),
                ("" | "NOTSET", Some(p)) if p.len() == 2 * nd => {
                    (p[..nd].to_vec(), p[nd..].to_vec())
                }
                (a, p) => return Err(format!("auto_pad {a:?} with pads {p:?}")),
            };
            ((0..nd).map(|d| full[d] - b[d] - e[d]).collect(), b)
        }
    };
    let out = shape_of(&out, "output shape")?;
    let begin: Vec<isize> = begin.iter().map(|&p| p as isize).collect();
    let tp = taps(input, &out, kernel, &strides, &dil, &begin);
    let (xs, ws) = (flat(x), flat(w));
    let (isz, ksz) = (
        input.iter().product::<usize>(),
        kernel.iter().product::<usize>(),
    );
    let osz: usize = out.iter().product();
    let c_in_g = c_in / group;
    let mut y = vec![0.0; n * c_out * osz];
    for bn in 0..n {
        for ci in 0..c_in {
            let g = ci / c_in_g;
            let xb = (bn * c_in + ci) * isz;
            for oc in 0..c_out_g {
                let yb = (bn * c_out + g * c_out_g + oc) * osz;
                let wb = (ci * c_out_g + oc) * ksz;
                for (p, t) in tp.iter().enumerate() {
                    let v = xs[xb + p];
                    for &(k, off) in t {
                        y[yb + off] += v * ws[wb + k];
                    }
                }
            }
        }
    }
    if let Some(b) = b {
        for (i, chunk) in y.chunks_mut(osz.max(1)).enumerate() {
            let bias = b[[i % c_out]];
            chunk.iter_mut().for_each(|v| *v += bias);
        }
    }
    let mut shape = vec![n, c_out];
    shape.extend(&out);
    tensor(&shape, y)
}

/// MaxPool (with its Indices, flat indices into `x`), AveragePool and the global
/// pools over any number of spatial axes.
pub(in crate::reference) fn pool(
    x: &Tensor,
    at: &Attrs,
    max: bool,
    global: bool,
) -> Result<(Tensor, Option<Tensor>), String> {
    if x.ndim() < 3 {
        return Err("pooling needs an [N, C, ...] input".into());
    }
    let (n, c, input) = (x.shape()[0], x.shape()[1], &x.shape()[2..]);
    let nd = input.len();
    let kernel: Vec<usize> = if global {
        input.to_vec()
    } else {
        match at.ints("kernel_shape") {
            Some(k) if k.len() == nd && k.iter().all(|&v| v >= 1) => {
                k.iter().map(|&v| v as usize).collect()
            }
            k => return Err(format!("kernel_shape {k:?} for {nd} spatial axes")),
        }
    };
    let wn = if global {
        Win {
            strides: vec![1; nd],
            dil: vec![1; nd],
            begin: vec![0; nd],
            end: vec![0; nd],
        }
    } else {
        window(at, &kernel, input)?
    };
    let ceil = at.int("ceil_mode", 0) != 0 && !global;
    let out: Vec<usize> = (0..nd)
        .map(|d| {
            win_out(
                input[d],
                kernel[d],
                wn.strides[d],
                wn.begin[d],
                wn.end[d],
                wn.dil[d],
                ceil,
            )
        })
        .collect::<Option<_>>()
        .ok_or("window larger than the padded input")?;
    let begin: Vec<isize> = wn.begin.iter().map(|&p| p as isize).collect();
    let tp = taps(&out, input, &kernel, &wn.strides, &wn.dil, &begin);
    // count_include_pad counts the taps inside the padded input (not past it in ceil mode)
    let include = at.int("count_include_pad", 0) != 0;
    let padded_taps = |o: &[usize]| -> usize {
        (0..nd)
            .map(|d| {
                let lim = input[d] + wn.begin[d] + wn.end[d];
                (0..kernel[d])
                    .filter(|&k| o[d] * wn.strides[d] + k * wn.dil[d] < lim)
                    .count()
            })
            .product()
    };
    let xs = flat(x);
    let isz: usize = input.iter().product();
    let mut y = Vec::with_capacity(n * c * tp.len());
    let mut idx = Vec::with_capacity(if max { n * c * tp.len() } else { 0 });
    let mut oi = vec![0; nd];
    let col_major = at.int("storage_order", 0) != 0;
    for plane in 0..n * c {
        let base = plane * isz;
        for (p, t) in tp.iter().enumerate() {
            if max {
                // the first maximum, and its row-major index into x
                let mut best: Option<(f64, usize)> = None;
                for &(_, off) in t {
                    let v = xs[base + off];
                    if best.is_none_or(|(m, _)| v > m) {
                        best = Some((v, base + off));
                    }
                }
                let (m, i) = best.unwrap_or((f64::NEG_INFINITY, base));
                y.push(m);
                idx.push(if col_major {
                    // storage_order 1: the spatial index in column-major order
                    unravel(i - base, input, &mut oi);
                    let s = (0..nd).rev().fold(0, |acc, d| acc * input[d] + oi[d]);
                    (base + s) as f64
                } else {
                    i as f64
                });
            } else {
                let sum: f64 = t.iter().map(|&(_, off)| xs[base + off]).sum();
                let cnt = if include {
                    unravel(p, &out, &mut oi);
                    padded_taps(&oi)
                } else {
                    t.len()
                };
                y.push(sum / cnt.max(1) as f64);
            }
        }
    }
    let mut shape = vec![n, c];
    shape.extend(&out);
    let idx = max.then(|| tensor(&shape, idx)).transpose()?;
    Ok((tensor(&shape, y)?, idx))
}

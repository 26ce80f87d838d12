//! Data movement: Pad, Slice, Gather, Split.

use super::{flat, norm_axis, remap, shape_of, tensor, Node, Outs};
use ndarray::{Axis, Slice};

// ----------------------------------------------------------- data movement

pub(super) fn pad(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let at = nd.at();
    let r = x.ndim();
    let (pads, value) = if nd.opset >= 11 {
        (
            nd.ints_in(1).ok_or("Pad needs pads")?,
            nd.get(2)
                .and_then(|t| t.iter().next().copied())
                .unwrap_or(0.0),
        )
    } else {
        (
            at.ints("pads")
                .or_else(|| at.ints("paddings"))
                .ok_or("Pad needs pads")?,
            at.float("value", 0.0) as f64,
        )
    };
    let axes: Vec<usize> = match nd.ints_in(3) {
        Some(a) => a
            .iter()
            .map(|&a| norm_axis(a, r))
            .collect::<Result<_, _>>()?,
        None => (0..r).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(format!("{} pads for {} axes", pads.len(), axes.len()));
    }
    let (mut pb, mut pe) = (vec![0i64; r], vec![0i64; r]);
    for (i, &a) in axes.iter().enumerate() {
        pb[a] = pads[i];
        pe[a] = pads[i + axes.len()];
    }
    let mode = at.string("mode").unwrap_or_else(|| "constant".into());
    let mut tables = Vec::with_capacity(r);
    for d in 0..r {
        let dim = x.shape()[d] as i64;
        // negative pads crop first
        let (lo, hi) = ((-pb[d]).max(0), dim - (-pe[d]).max(0));
        if hi < lo {
            return Err(format!("pads crop more than axis {d} holds"));
        }
        let m = hi - lo;
        let before = pb[d].max(0);
        let len = m + before + pe[d].max(0);
        let mut t = Vec::with_capacity(len as usize);
        for o in 0..len {
            let j = o - before;
            let src = if (0..m).contains(&j) {
                Some(j)
            } else {
                match mode.as_str() {
                    "constant" => None,
                    _ if m == 0 => return Err(format!("{mode} padding of an empty axis")),
                    "edge" => Some(j.clamp(0, m - 1)),
                    "wrap" => Some(j.rem_euclid(m)),
                    "reflect" if m == 1 => Some(0),
                    "reflect" => {
                        let period = 2 * (m - 1);
                        let k = j.rem_euclid(period);
                        Some(if k >= m { period - k } else { k })
                    }
                    other => return Err(format!("unsupported: Pad mode {other}")),
                }
            };
            t.push(src.map(|s| (lo + s) as usize));
        }
        tables.push(t);
    }
    nd.one(remap(x, &tables, value)?)
}

pub(super) fn slice(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let at = nd.at();
    let r = x.ndim();
    let (starts, ends, axes, steps) = if nd.opset >= 10 {
        (nd.ints_in(1), nd.ints_in(2), nd.ints_in(3), nd.ints_in(4))
    } else {
        (at.ints("starts"), at.ints("ends"), at.ints("axes"), None)
    };
    let (starts, ends) = (
        starts.ok_or("Slice needs starts")?,
        ends.ok_or("Slice needs ends")?,
    );
    let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err("starts, ends, axes and steps differ in length".into());
    }
    let mut tables: Vec<Vec<Option<usize>>> = x
        .shape()
        .iter()
        .map(|&d| (0..d).map(Some).collect())
        .collect();
    for i in 0..starts.len() {
        let a = norm_axis(axes[i], r)?;
        let (d, step) = (x.shape()[a] as i64, steps[i]);
        if step == 0 {
            return Err("Slice step 0".into());
        }
        let mut t = Vec::new();
        if d > 0 {
            let s = if starts[i] < 0 {
                starts[i].saturating_add(d)
            } else {
                starts[i]
            };
            let e = if ends[i] < 0 {
                ends[i].saturating_add(d)
            } else {
                ends[i]
            };
            let (mut k, e) = if step > 0 {
                (s.clamp(0, d), e.clamp(0, d))
            } else {
                (s.clamp(0, d - 1), e.clamp(-1, d - 1))
            };
            while (step > 0 && k < e) || (step < 0 && k > e) {
                t.push(Some(k as usize));
                match k.checked_add(step) {
                    Some(v) => k = v,
                    None => break,
                }
            }
        }
        tables[a] = t;
    }
    nd.one(remap(x, &tables, 0.0)?)
}

pub(super) fn gather(nd: &Node) -> Outs {
    let (x, ind) = (nd.req(0)?, nd.req(1)?);
    let axis = norm_axis(nd.at().int("axis", 0), x.ndim())?;
    let d = x.shape()[axis];
    let outer: usize = x.shape()[..axis].iter().product();
    let inner: usize = x.shape()[axis + 1..].iter().product();
    let idx: Vec<usize> = ind
        .iter()
        .map(|&v| {
            let i = v as i64;
            let j = if i < 0 { i + d as i64 } else { i };
            if j < 0 || j >= d as i64 {
                return Err(format!("index {i} out of range for axis of {d}"));
            }
            Ok(j as usize)
        })
        .collect::<Result<_, String>>()?;
    let data = flat(x);
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &j in &idx {
            let s = (o * d + j) * inner;
            out.extend_from_slice(&data[s..s + inner]);
        }
    }
    let mut shape = x.shape()[..axis].to_vec();
    shape.extend(ind.shape());
    shape.extend(&x.shape()[axis + 1..]);
    nd.one(tensor(&shape, out)?)
}

pub(super) fn split(nd: &Node) -> Outs {
    let x = nd.req(0)?;
    let at = nd.at();
    let axis = norm_axis(at.int("axis", 0), x.ndim())?;
    let dim = x.shape()[axis];
    let sizes: Vec<usize> = match nd.ints_in(1).or_else(|| at.ints("split")) {
        Some(s) => shape_of(&s, "split")?,
        None => {
            let parts = at.int("num_outputs", nd.n.output.len() as i64).max(1) as usize;
            let chunk = dim.div_ceil(parts);
            (0..parts)
                .map(|i| chunk.min(dim.saturating_sub(i * chunk)))
                .collect()
        }
    };
    if sizes.iter().sum::<usize>() != dim {
        return Err(format!("split {sizes:?} does not cover an axis of {dim}"));
    }
    let mut start = 0;
    let mut outs = Vec::with_capacity(sizes.len());
    for s in sizes {
        let part = x
            .slice_axis(Axis(axis), Slice::from(start..start + s))
            .to_owned();
        outs.push((part, nd.dt(0)));
        start += s;
    }
    Ok(outs)
}

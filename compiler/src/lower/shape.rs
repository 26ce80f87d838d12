//! Data movement by index maps: Slice, Split, Expand, Tile, Gather with
//! constant indices and Pad all become one Plan `Gather` (output value `i`
//! reads operand value `map[i]`; padding reads a one-value constant), so
//! they cost no constraints. The maps are built here from per-axis lists.

use super::Lowerer;
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::value::{Affine, ConstTensor, DType, Src, Value};
use zkinf_circuits::{Op, TensorId};

/// For each output position (row-major over `lists`' lengths), the input
/// position (row-major over `in_shape`) it reads, or `None` (padding) when
/// any axis list says so. `lists[d][o]` is the input coordinate of output
/// coordinate `o` on axis `d`.
pub(crate) fn product_map(in_shape: &[usize], lists: &[Vec<Option<usize>>]) -> Vec<Option<usize>> {
    let mut out = vec![Some(0usize)];
    for (d, list) in lists.iter().enumerate() {
        let stride: usize = in_shape[d + 1..].iter().product();
        let mut next = Vec::with_capacity(out.len() * list.len());
        for base in &out {
            for c in list {
                next.push(match (base, c) {
                    (Some(b), Some(c)) => Some(b + c * stride),
                    _ => None,
                });
            }
        }
        out = next;
    }
    out
}

/// The identity list of an axis of length `n`.
fn all(n: usize) -> Vec<Option<usize>> {
    (0..n).map(Some).collect()
}

/// The most values an index map may hold (a map is 4 bytes a value).
pub(crate) const MAX_MAP: usize = 1 << 26;

/// ONNX Slice's coordinates on one axis of length `dim`: starts clamped to
/// `[0, dim]` (`[0, dim - 1]` stepping down), ends to `[0, dim]`
/// (`[-1, dim - 1]` stepping down).
pub(crate) fn slice_axis(dim: usize, start: i64, end: i64, step: i64) -> Vec<Option<usize>> {
    let d = dim as i128;
    let norm = |v: i64| {
        let v = v as i128;
        if v < 0 {
            v + d
        } else {
            v
        }
    };
    let (s, e, step) = (norm(start), norm(end), step as i128);
    let (s, e) = if step > 0 {
        (s.clamp(0, d), e.clamp(0, d))
    } else {
        (s.clamp(0, (d - 1).max(0)), e.clamp(-1, d - 1))
    };
    if d == 0 || step == 0 || (step > 0 && s >= e) || (step < 0 && s <= e) {
        return Vec::new();
    }
    let count = ((e - s).abs() + step.abs() - 1) / step.abs();
    (0..count).map(|k| Some((s + k * step) as usize)).collect()
}

/// Pad's coordinates on one axis: `b` before and `e` after; negative pads
/// crop first, as ONNX does, then the rest pads the cropped extent.
/// `None` where the mode cannot pad (an empty extent, reflect of one value).
pub(crate) fn pad_axis(dim: usize, b: i64, e: i64, mode: &str) -> Option<Vec<Option<usize>>> {
    let (cb, ce) = ((-b).max(0) as i128, (-e).max(0) as i128);
    let (pb, pe) = (b.max(0) as i128, e.max(0) as i128);
    let d = dim as i128 - cb - ce;
    if d < 0 || d + pb + pe > MAX_MAP as i128 {
        return None;
    }
    if d == 0 && pb + pe > 0 && mode != "constant" {
        return None;
    }
    (0..d + pb + pe)
        .map(|o| {
            let i = o - pb;
            let at = |i: i128| Some(Some((i + cb) as usize));
            if (0..d).contains(&i) {
                return at(i);
            }
            match mode {
                "constant" => Some(None),
                "edge" => at(i.clamp(0, d - 1)),
                "reflect" if d > 1 => {
                    let period = 2 * (d - 1);
                    let m = i.rem_euclid(period);
                    at(if m < d { m } else { period - m })
                }
                "wrap" => at(i.rem_euclid(d)),
                _ => None,
            }
        })
        .collect()
}

/// The number of values `lists` describe, if at most [`MAX_MAP`].
fn map_len(lists: &[Vec<Option<usize>>]) -> Option<usize> {
    lists
        .iter()
        .try_fold(1usize, |n, l| n.checked_mul(l.len()))
        .filter(|&n| n <= MAX_MAP)
}

impl Lowerer<'_> {
    fn axis_of(&self, a: i64, rank: usize) -> Result<usize> {
        let r = rank as i64;
        let v = if a < 0 { a + r } else { a };
        if v < 0 || v >= r {
            return Err(self.malformed(format!("axis {a} out of range for rank {rank}")));
        }
        Ok(v as usize)
    }

    /// Int64 values of a constant input, or of an attribute when the input
    /// is absent (older opsets).
    fn ints_of(&self, n: &NodeProto, at: &Attrs, k: usize, attr: &str) -> Result<Option<Vec<i64>>> {
        if let Some(c) = self.const_input(n, k)? {
            return Ok(Some(c.data.iter().map(|&v| v as i64).collect()));
        }
        Ok(at.ints(attr))
    }

    /// `v` moved by an index map (see [`product_map`]); `None` reads `pad`
    /// (a real value, quantized like `v`).
    pub(crate) fn remap(
        &mut self,
        v: Value,
        name: &str,
        shape: Vec<usize>,
        map: &[Option<usize>],
        pad: f64,
    ) -> Result<Value> {
        let in_shape = self.shape_of(&v);
        if shape == in_shape && map.iter().enumerate().all(|(i, &m)| m == Some(i)) {
            return Ok(v);
        }
        if let Value::Const(c) = &v {
            return Ok(Value::Const(ConstTensor {
                dtype: c.dtype,
                shape,
                data: map.iter().map(|m| m.map_or(pad, |j| c.data[j])).collect(),
            }));
        }
        let padded = map.iter().any(Option::is_none);
        let (x, pad_q, wrap): (_, i64, Box<dyn Fn(u32) -> Value>) = match v {
            Value::Int { id, dtype } => {
                if pad.fract() != 0.0 {
                    return Err(self.malformed("a fractional pad value for an integer tensor"));
                }
                (
                    id,
                    pad as i64,
                    Box::new(move |t| Value::Int { id: t, dtype }),
                )
            }
            v => {
                let a = self.activation(v, name)?;
                let id = self.src_id(&a.src)?;
                let q = if self.exact() {
                    ((pad as f32 / a.scale() as f32).round_ties_even()) as i64
                } else {
                    (pad / a.scale()).round_ties_even() as i64
                } + a.zero();
                let r = self.plan.info(id).range;
                if padded && (q < r.lo || q > r.hi) {
                    return Err(self.unsupported(format!(
                        "pad value {pad} is outside the tensor's quantized range"
                    )));
                }
                (
                    id,
                    q,
                    Box::new(move |t| {
                        Value::Real(crate::value::Affine {
                            src: Src::Plan(t),
                            ..a.clone()
                        })
                    }),
                )
            }
        };
        Ok(wrap(self.gather_id(x, shape, map, pad_q)?))
    }

    pub(crate) fn slice(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let rank = shape.len();
        let (starts, ends) = match (
            self.ints_of(n, at, 1, "starts")?,
            self.ints_of(n, at, 2, "ends")?,
        ) {
            (Some(s), Some(e)) if s.len() == e.len() => (s, e),
            _ => return Err(self.malformed("Slice needs starts and ends of one length")),
        };
        let axes = self
            .ints_of(n, at, 3, "axes")?
            .unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = self
            .const_input(n, 4)?
            .map(|c| c.data.iter().map(|&v| v as i64).collect::<Vec<_>>())
            .unwrap_or_else(|| vec![1; starts.len()]);
        if axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(self.malformed("Slice's axes and steps differ in length from starts"));
        }
        let mut lists: Vec<Vec<Option<usize>>> = shape.iter().map(|&d| all(d)).collect();
        for k in 0..starts.len() {
            if steps[k] == 0 {
                return Err(self.malformed("Slice step 0"));
            }
            let d = self.axis_of(axes[k], rank)?;
            lists[d] = slice_axis(shape[d], starts[k], ends[k], steps[k]);
        }
        self.too_big(&lists)?;
        let out: Vec<usize> = lists.iter().map(Vec::len).collect();
        let map = product_map(&shape, &lists);
        Ok(vec![self.remap(x, &n.input[0], out, &map, 0.0)?])
    }

    fn too_big(&self, lists: &[Vec<Option<usize>>]) -> Result<()> {
        map_len(lists).map(|_| ()).ok_or_else(|| {
            self.unsupported(format!(
                "a result of more than 2^26 values ({:?})",
                lists.iter().map(Vec::len).collect::<Vec<_>>()
            ))
        })
    }

    pub(crate) fn split(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let axis = self.axis_of(at.int("axis", 0), shape.len())?;
        let outs = n.output.len();
        let dim = shape[axis];
        let sizes: Vec<usize> = match self.ints_of(n, at, 1, "split")? {
            Some(s) => s.iter().map(|&v| v.max(0) as usize).collect(),
            None => {
                let parts = at.int("num_outputs", outs as i64).max(1) as usize;
                let each = dim.div_ceil(parts);
                (0..parts)
                    .map(|k| each.min(dim.saturating_sub(k * each)))
                    .collect()
            }
        };
        if sizes.len() != outs || sizes.iter().sum::<usize>() != dim {
            return Err(self.malformed(format!(
                "split sizes {sizes:?} do not cut {dim} into {outs} outputs"
            )));
        }
        let mut vals = Vec::new();
        let mut start = 0;
        for &len in &sizes {
            let mut lists: Vec<Vec<Option<usize>>> = shape.iter().map(|&d| all(d)).collect();
            lists[axis] = (start..start + len).map(Some).collect();
            start += len;
            let out: Vec<usize> = lists.iter().map(Vec::len).collect();
            let map = product_map(&shape, &lists);
            vals.push(self.remap(x.clone(), &n.input[0], out, &map, 0.0)?);
        }
        Ok(vals)
    }

    /// Expand (to a broadcast shape) and Tile (repeats).
    pub(crate) fn expand_tile(&mut self, n: &NodeProto) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let mut shape = self.shape_of(&x);
        let arg: Vec<i64> = self
            .const_input(n, 1)?
            .ok_or_else(|| self.malformed("the second input is required"))?
            .data
            .iter()
            .map(|&v| v as i64)
            .collect();
        if arg.iter().any(|&v| v < 0) {
            return Err(self.malformed(format!("negative sizes {arg:?}")));
        }
        let big = |v: i64| v as u128 > MAX_MAP as u128;
        if arg.iter().any(|&v| big(v)) {
            return Err(self.unsupported(format!("{} to {arg:?}", n.op_type)));
        }
        let lists: Vec<Vec<Option<usize>>> = if n.op_type == "Tile" {
            if arg.len() != shape.len() {
                return Err(self.malformed("Tile's repeats differ in length from the rank"));
            }
            if shape
                .iter()
                .zip(&arg)
                .any(|(&d, &r)| d.saturating_mul(r as usize) > MAX_MAP)
            {
                return Err(self.unsupported(format!("Tile by {arg:?}")));
            }
            shape
                .iter()
                .zip(&arg)
                .map(|(&d, &r)| (0..d * r as usize).map(|o| Some(o % d)).collect())
                .collect()
        } else {
            let rank = shape.len().max(arg.len());
            let mut padded = vec![1usize; rank - shape.len()];
            padded.extend(&shape);
            shape = padded;
            let mut target = vec![1i64; rank - arg.len()];
            target.extend(&arg);
            let mut lists = Vec::new();
            for (&d, &t) in shape.iter().zip(&target) {
                let t = t as usize;
                lists.push(if d == t || t == 1 {
                    all(d)
                } else if d == 1 {
                    vec![Some(0); t]
                } else {
                    return Err(self.malformed(format!("cannot expand {d} to {t}")));
                });
            }
            lists
        };
        self.too_big(&lists)?;
        let out: Vec<usize> = lists.iter().map(Vec::len).collect();
        let map = product_map(&shape, &lists);
        Ok(vec![self.remap(x, &n.input[0], out, &map, 0.0)?])
    }

    /// Gather with constant indices.
    pub(crate) fn gather(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let axis = self.axis_of(at.int("axis", 0), shape.len())?;
        let idx = match self.input(n, 1)? {
            Some(Value::Const(c)) => c,
            Some(Value::Int { id, .. }) => return self.embedding(n, x, id, axis),
            Some(_) => return Err(self.unsupported("Gather with computed float indices")),
            None => return Err(self.malformed("Gather needs indices")),
        };
        let dim = shape[axis] as i64;
        let mut list = Vec::with_capacity(idx.data.len());
        for &v in &idx.data {
            let i = v as i64;
            let i = if i < 0 { i + dim } else { i };
            if !(0..dim).contains(&i) {
                return Err(self.malformed(format!("index {v} out of range for {dim}")));
            }
            list.push(Some(i as usize));
        }
        let mut lists: Vec<Vec<Option<usize>>> = shape.iter().map(|&d| all(d)).collect();
        lists[axis] = list;
        self.too_big(&lists)?;
        let map = product_map(&shape, &lists);
        let mut out = shape[..axis].to_vec();
        out.extend(&idx.shape);
        out.extend(&shape[axis + 1..]);
        Ok(vec![self.remap(x, &n.input[0], out, &map, 0.0)?])
    }

    /// Gather of rows of a constant table `[V, D]` by computed integer
    /// indices (token ids): `key = id D + d` (an exact Add of the ids,
    /// repeated along `d` by wiring, and the column numbers), then one
    /// lookup in the table's `V D` entries quantized at the output's
    /// calibrated scale (a table, so at most 2^22 entries: a larger
    /// vocabulary is embedded outside the proof, its output the model's
    /// input).
    fn embedding(
        &mut self,
        n: &NodeProto,
        table: Value,
        ids: TensorId,
        axis: usize,
    ) -> Result<Vec<Value>> {
        let Value::Const(t) = table else {
            return Err(self.unsupported("Gather of a computed tensor by computed indices"));
        };
        if axis != 0 || t.shape.len() != 2 {
            return Err(self.unsupported(
                "Gather by computed indices of anything but the rows of a 2-D constant table",
            ));
        }
        let (v, d) = (t.shape[0], t.shape[1]);
        if v * d > 1 << 22 {
            return Err(self.unsupported(format!(
                "an embedding table of {v} x {d} = {} entries (at most 2^22 fit a lookup table: embed outside the proof and feed the embeddings)",
                v * d
            )));
        }
        let r = self.plan.info(ids).range;
        if r.lo < 0 || r.hi >= v as i64 {
            return Err(self.unsupported(format!(
                "indices in [{}, {}] for a table of {v} rows",
                r.lo, r.hi
            )));
        }
        let ishape = self.plan.info(ids).shape.clone();
        let count: usize = ishape.iter().product();
        let mut out = ishape.clone();
        out.push(d);
        let map: Vec<Option<usize>> = (0..count * d).map(|i| Some(i / d)).collect();
        let rep = self.gather_id(ids, out.clone(), &map, 0)?;
        let cols = self.push_const(&ConstTensor {
            dtype: DType::I64,
            shape: vec![d],
            data: (0..d).map(|c| c as f64).collect(),
        })?;
        let top = (v * d) as i64 - 1;
        let key = self.push(
            Op::Add {
                a_zero: 0,
                b_zero: 0,
                a_mult: d as i64,
                b_mult: 1,
                shift: 0,
                out_zero: 0,
                lo: 0,
                hi: top,
            },
            vec![rep, cols],
            None,
        )?;
        let q = self.calibrated(&n.output[0])?;
        let entries = t
            .data
            .iter()
            .map(|&e| {
                (q.zero as f64 + (e / q.scale).round_ties_even()).clamp(q.lo as f64, q.hi as f64)
                    as i64
            })
            .collect();
        let y = self.push(
            Op::Lookup {
                in_lo: 0,
                table: entries,
            },
            vec![key],
            None,
        )?;
        Ok(vec![Value::Real(Affine {
            src: Src::Plan(y),
            scales: vec![q.scale],
            zeros: vec![q.zero],
            axis: 0,
            clip: None,
            wide: false,
        })])
    }

    pub(crate) fn pad(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let rank = shape.len();
        let mode = at.string("mode").unwrap_or_else(|| "constant".into());
        let pads = self
            .ints_of(n, at, 1, "pads")?
            .ok_or_else(|| self.malformed("Pad needs pads"))?;
        let value = if self.model_opset() < 11 {
            at.float("value", 0.0) as f64
        } else {
            match self.const_real_input(n, 2)? {
                Some(c) => c
                    .scalar()
                    .ok_or_else(|| self.malformed("Pad's constant_value must be a scalar"))?,
                None => 0.0,
            }
        };
        let axes: Vec<usize> = match self.const_input(n, 3)? {
            Some(c) => c
                .data
                .iter()
                .map(|&a| self.axis_of(a as i64, rank))
                .collect::<Result<_>>()?,
            None => (0..rank).collect(),
        };
        if pads.len() != 2 * axes.len() {
            return Err(self.malformed(format!("{} pads for {} axes", pads.len(), axes.len())));
        }
        let mut lists: Vec<Vec<Option<usize>>> = shape.iter().map(|&d| all(d)).collect();
        for (k, &d) in axes.iter().enumerate() {
            lists[d] =
                pad_axis(shape[d], pads[k], pads[k + axes.len()], &mode).ok_or_else(|| {
                    self.unsupported(format!(
                        "Pad mode {mode} by {} and {} on axis {d} of length {}",
                        pads[k],
                        pads[k + axes.len()],
                        shape[d]
                    ))
                })?;
        }
        self.too_big(&lists)?;
        let out: Vec<usize> = lists.iter().map(Vec::len).collect();
        let map = product_map(&shape, &lists);
        Ok(vec![self.remap(x, &n.input[0], out, &map, value)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_axis_follows_onnx_clamping() {
        let s =
            |d, a, b, c| -> Vec<usize> { slice_axis(d, a, b, c).into_iter().flatten().collect() };
        assert_eq!(s(8, 2, 7, 2), vec![2, 4, 6]);
        assert_eq!(s(5, -1, i64::MIN, -1), vec![4, 3, 2, 1, 0]);
        assert_eq!(s(5, 10, -10, -2), vec![4, 2, 0]);
        assert_eq!(s(5, -100, i64::MIN, -1), vec![0]);
        assert_eq!(s(5, 0, 5, i64::MAX), vec![0]);
        assert!(s(0, 0, 5, -1).is_empty());
        assert_eq!(s(5, 1, 1000, 1), vec![1, 2, 3, 4]);
        assert!(s(5, 3, 1, 1).is_empty());
    }

    #[test]
    fn pad_axis_modes() {
        let p = |m| pad_axis(4, 2, 3, m).unwrap();
        let c: Vec<Option<usize>> = p("constant");
        assert_eq!(c[..3], [None, None, Some(0)]);
        let r: Vec<usize> = p("reflect").into_iter().flatten().collect();
        assert_eq!(r, vec![2, 1, 0, 1, 2, 3, 2, 1, 0]);
        let e: Vec<usize> = p("edge").into_iter().flatten().collect();
        assert_eq!(e, vec![0, 0, 0, 1, 2, 3, 3, 3, 3]);
        let crop: Vec<usize> = pad_axis(4, -1, -1, "constant")
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(crop, vec![1, 2]);
    }

    #[test]
    fn product_map_is_row_major() {
        let m = product_map(&[2, 3], &[vec![Some(1), None], vec![Some(2), Some(0)]]);
        assert_eq!(m, vec![Some(5), Some(3), None, None]);
    }
}

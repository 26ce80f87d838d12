//! Window ops over 1-D, 2-D and 3-D inputs: Conv, ConvTranspose, MaxPool,
//! AveragePool and their global forms. The Plan's window ops are 2-D:
//! - 1-D inputs `[N, C, L]` are 2-D inputs of height 1 (reshapes are free);
//! - a 3-D convolution is a 2-D one over depth slices: a `Gather` stacks,
//!   for each output depth, the `kd` input depths it reads as channels
//!   (`[N·D', C·kd, H, W]`, channel `c·kd + t`, which is the weights' own
//!   row-major order), the 2-D Conv runs on the batch of slices, and a
//!   reshape and a transpose give `[N, C_out, D', H', W']`;
//! - 3-D pooling gathers every window into a contiguous run
//!   (`[N, C, P, K]`) and pools it with a `[1, K]` window;
//! - ConvTranspose is a convolution of the input spread by the stride
//!   (zeros between values, a `Gather` reading the zero point) with the
//!   flipped, transposed weights.

use super::Lowerer;
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::shapes::WindowNd;
use crate::value::{Affine, ConstTensor, DType, Lazy, Src, Value};
use zkinf_circuits::{Op, TensorId};

impl Lowerer<'_> {
    /// A window attribute error: unsupported (its prefix says so) or malformed.
    pub(crate) fn window_error(&self, e: String) -> crate::error::CompileError {
        match e.strip_prefix("unsupported: ") {
            Some(r) => self.unsupported(r),
            None => self.malformed(e),
        }
    }

    fn window(&self, at: &Attrs, kernel: &[usize], spatial: &[usize]) -> Result<WindowNd> {
        crate::shapes::window_nd(at, kernel, spatial).map_err(|e| self.window_error(e))
    }

    /// A 1-D or 3-D convolution from its ONNX attributes (`kernel_shape`
    /// checked against the weights, `group`, the window): see [`Self::conv_any`].
    pub(crate) fn conv_nd(
        &mut self,
        at: &Attrs,
        x: TensorId,
        x_zero: i64,
        w: &Affine,
        w_zero: Vec<i64>,
        bias: Option<TensorId>,
    ) -> Result<TensorId> {
        let (xs, ws) = (self.plan.info(x).shape.clone(), self.affine_shape(w));
        if ws.len() != xs.len() || xs.len() < 3 {
            return Err(self.malformed(format!("weights {ws:?} for input {xs:?}")));
        }
        if let Some(k) = at.ints("kernel_shape") {
            if k.iter().map(|&v| v as usize).ne(ws[2..].iter().copied()) {
                return Err(
                    self.malformed(format!("kernel_shape {k:?} does not match weights {ws:?}"))
                );
            }
        }
        let group = at.int("group", 1);
        if group < 1 {
            return Err(self.malformed("group must be positive"));
        }
        let win = self.window(at, &ws[2..], &xs[2..])?;
        self.conv_any(x, x_zero, w, w_zero, bias, &win, group as usize)
    }

    fn reshaped(&mut self, id: TensorId, shape: Vec<usize>) -> Result<TensorId> {
        if self.plan.info(id).shape == shape {
            return Ok(id);
        }
        self.push(Op::Reshape, vec![id], Some(shape))
    }

    /// A gather of plan tensor `x` by `map` (`None` reads `pad_q`).
    pub(crate) fn gather_id(
        &mut self,
        x: TensorId,
        shape: Vec<usize>,
        map: &[Option<usize>],
        pad_q: i64,
    ) -> Result<TensorId> {
        let n_in = self.plan.info(x).len();
        let mut ins = vec![x];
        if map.iter().any(Option::is_none) {
            ins.push(self.push_const(&ConstTensor {
                dtype: DType::I64,
                shape: vec![1],
                data: vec![pad_q as f64],
            })?);
        }
        let map = map.iter().map(|m| m.unwrap_or(n_in) as u32).collect();
        self.push(Op::Gather { map }, ins, Some(shape))
    }

    /// Constant weights with a new shape (same row-major values).
    fn weight_id(&mut self, w: &Affine, shape: Vec<usize>) -> Result<TensorId> {
        match &w.src {
            Src::Const(c) => {
                let mut c = c.clone();
                c.shape = shape;
                self.push_const(&c)
            }
            Src::Plan(_) => {
                Err(self.unsupported("computed weights for a 1-D, 3-D or transposed convolution"))
            }
        }
    }

    /// A convolution of plan tensor `x` (`[N, C, spatial...]`, 1 to 3
    /// spatial axes) by weights `w` (`[C_out, C/group, k...]`): the wide
    /// accumulator `[N, C_out, out...]`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv_any(
        &mut self,
        x: TensorId,
        x_zero: i64,
        w: &Affine,
        w_zero: Vec<i64>,
        bias: Option<TensorId>,
        win: &WindowNd,
        group: usize,
    ) -> Result<TensorId> {
        let xs = self.plan.info(x).shape.clone();
        let ws = self.affine_shape(w);
        let conv = |win: &WindowNd, d: [usize; 2]| Op::Conv {
            x_zero,
            w_zero: w_zero.clone(),
            strides: [win.strides[d[0]], win.strides[d[1]]],
            pads: [
                win.begin[d[0]],
                win.begin[d[1]],
                win.end[d[0]],
                win.end[d[1]],
            ],
            dilations: [win.dilations[d[0]], win.dilations[d[1]]],
            group,
        };
        match xs.len() {
            4 => {
                let w_id = self.src_id(&w.src)?;
                let mut ins = vec![x, w_id];
                ins.extend(bias);
                self.push(conv(win, [0, 1]), ins, None)
            }
            3 => {
                // height 1: the window's axis 0 is a unit axis
                let lift = lift_1d(win);
                let x2 = self.reshaped(x, vec![xs[0], xs[1], 1, xs[2]])?;
                let w_id = self.weight_id(w, vec![ws[0], ws[1], 1, ws[2]])?;
                let mut ins = vec![x2, w_id];
                ins.extend(bias);
                let acc = self.push(conv(&lift, [0, 1]), ins, None)?;
                let s = self.plan.info(acc).shape.clone();
                self.reshaped(acc, vec![s[0], s[1], s[3]])
            }
            5 => {
                let (n, c, d) = (xs[0], xs[1], xs[2]);
                let (h, wd) = (xs[3], xs[4]);
                let kd = ws[2];
                let d_out = win
                    .out(0, d, kd, false)
                    .ok_or_else(|| self.malformed("window larger than the padded input"))?;
                let plane = h * wd;
                let total = [n, d_out, c, kd, plane]
                    .iter()
                    .try_fold(1usize, |a, &b| a.checked_mul(b))
                    .filter(|&t| t <= super::shape::MAX_MAP)
                    .ok_or_else(|| self.unsupported("a 3-D convolution of more than 2^26 taps"))?;
                let mut map = Vec::with_capacity(total);
                for b in 0..n {
                    for od in 0..d_out {
                        for ch in 0..c {
                            for t in 0..kd {
                                let z = (od * win.strides[0] + t * win.dilations[0]) as i64
                                    - win.begin[0] as i64;
                                for p in 0..plane {
                                    map.push(
                                        (0..d as i64)
                                            .contains(&z)
                                            .then(|| ((b * c + ch) * d + z as usize) * plane + p),
                                    );
                                }
                            }
                        }
                    }
                }
                let x2 = self.gather_id(x, vec![n * d_out, c * kd, h, wd], &map, x_zero)?;
                let w_id = self.weight_id(w, vec![ws[0], ws[1] * kd, ws[3], ws[4]])?;
                let mut ins = vec![x2, w_id];
                ins.extend(bias);
                let acc = self.push(conv(win, [1, 2]), ins, None)?;
                let s = self.plan.info(acc).shape.clone();
                let r = self.reshaped(acc, vec![n, d_out, s[1], s[2], s[3]])?;
                self.push(
                    Op::Transpose {
                        perm: vec![0, 2, 1, 3, 4],
                    },
                    vec![r],
                    None,
                )
            }
            r => Err(self.unsupported(format!(
                "convolutions over {} spatial axes (1 to 3 are supported)",
                r.saturating_sub(2)
            ))),
        }
    }

    /// The kernel's spatial shape from `kernel_shape`, checked against the
    /// input's rank.
    fn pool_kernel(&self, at: &Attrs, spatial: usize) -> Result<Vec<usize>> {
        match at.ints("kernel_shape") {
            Some(k) if k.len() == spatial && k.iter().all(|&v| v >= 1) => {
                Ok(k.iter().map(|&v| v as usize).collect())
            }
            Some(k) => {
                Err(self.malformed(format!("kernel_shape {k:?} for {spatial} spatial axes")))
            }
            None => Err(self.malformed("kernel_shape is required")),
        }
    }

    /// For 3-D pooling: every window's taps in a run (`[N, C, P, K]`), a
    /// padding tap reading `pad` (`Dup`: the window's first tap inside the
    /// input, which cannot change a maximum). Returns the map, the output's
    /// spatial shape, and whether any window has a padding tap.
    fn window_runs(
        &self,
        xs: &[usize],
        k: &[usize],
        win: &WindowNd,
        ceil: bool,
        dup: bool,
    ) -> Result<(Vec<Option<usize>>, Vec<usize>, bool)> {
        let sp = &xs[2..];
        let mut outs = Vec::new();
        for d in 0..sp.len() {
            outs.push(
                win.out(d, sp[d], k[d], ceil)
                    .ok_or_else(|| self.malformed("window larger than the padded input"))?,
            );
        }
        let taps: usize = k.iter().product();
        let positions: usize = outs.iter().product();
        let inner: usize = sp.iter().product();
        let total = [xs[0], xs[1], positions, taps]
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .filter(|&t| t <= super::shape::MAX_MAP)
            .ok_or_else(|| self.unsupported("a 3-D pooling of more than 2^26 taps"))?;
        let mut map = Vec::with_capacity(total);
        let mut padded = false;
        for nc in 0..xs[0] * xs[1] {
            for p in 0..positions {
                let mut o = vec![0; sp.len()];
                let mut r = p;
                for d in (0..sp.len()).rev() {
                    o[d] = r % outs[d];
                    r /= outs[d];
                }
                let start = map.len();
                let mut first = None;
                for t in 0..taps {
                    let mut kk = vec![0; sp.len()];
                    let mut r = t;
                    for d in (0..sp.len()).rev() {
                        kk[d] = r % k[d];
                        r /= k[d];
                    }
                    let mut flat = Some(0usize);
                    for d in 0..sp.len() {
                        let z = (o[d] * win.strides[d] + kk[d] * win.dilations[d]) as i64
                            - win.begin[d] as i64;
                        flat = match flat {
                            Some(f) if (0..sp[d] as i64).contains(&z) => {
                                Some(f * sp[d] + z as usize)
                            }
                            _ => None,
                        };
                    }
                    let flat = flat.map(|f| nc * inner + f);
                    padded |= flat.is_none();
                    first = first.or(flat);
                    map.push(flat);
                }
                if dup {
                    let f = first.ok_or_else(|| self.malformed("a window holds only padding"))?;
                    map[start..].iter_mut().for_each(|m| *m = m.or(Some(f)));
                }
            }
        }
        Ok((map, outs, padded))
    }

    pub(crate) fn max_pool(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        if at.int("storage_order", 0) != 0 {
            return Err(self.unsupported("storage_order"));
        }
        let x = self.required(n, 0)?;
        let xs = self.shape_of(&x);
        if !(3..=5).contains(&xs.len()) {
            return Err(self.unsupported(format!(
                "{}-D pooling (1-D to 3-D are supported)",
                xs.len().saturating_sub(2)
            )));
        }
        let global = n.op_type == "GlobalMaxPool";
        let k = if global {
            xs[2..].to_vec()
        } else {
            self.pool_kernel(at, xs.len() - 2)?
        };
        let win = if global {
            self.window(&Attrs(&NodeProto::default()), &k, &xs[2..])?
        } else {
            self.window(at, &k, &xs[2..])?
        };
        let ceil = !global && at.int("ceil_mode", 0) != 0;
        let (id, a) = match x {
            Value::Int { id, dtype } => (id, Err(dtype)),
            v => {
                let a = match v {
                    Value::Real(a) => a,
                    v => self.activation(v, &n.input[0])?,
                };
                (self.src_id(&a.src)?, Ok(a))
            }
        };
        let (input, op, out_shape) = match xs.len() {
            4 => (id, self.max_pool_op(&k, &win, ceil, [0, 1]), None),
            3 => {
                let lift = lift_1d(&win);
                let x2 = self.reshaped(id, vec![xs[0], xs[1], 1, xs[2]])?;
                let out = win
                    .out(0, xs[2], k[0], ceil)
                    .ok_or_else(|| self.malformed("window larger than the padded input"))?;
                (
                    x2,
                    self.max_pool_op(&[1, k[0]], &lift, ceil, [0, 1]),
                    Some(vec![xs[0], xs[1], out]),
                )
            }
            _ => {
                let (map, outs, _) = self.window_runs(&xs, &k, &win, ceil, true)?;
                let taps: usize = k.iter().product();
                let p: usize = outs.iter().product();
                let g = self.gather_id(id, vec![xs[0], xs[1], p, taps], &map, 0)?;
                let op = Op::MaxPool {
                    kernel: [1, taps],
                    strides: [1, taps],
                    pads: [0; 4],
                    dilations: [1, 1],
                    ceil_mode: false,
                };
                let mut shape = vec![xs[0], xs[1]];
                shape.extend(outs);
                (g, op, Some(shape))
            }
        };
        let mut y = self.push(op, vec![input], None)?;
        if let Some(s) = out_shape {
            y = self.reshaped(y, s)?;
        }
        Ok(vec![match a {
            Err(dtype) => Value::Int { id: y, dtype },
            Ok(mut a) => {
                a.src = Src::Plan(y);
                Value::Real(a)
            }
        }])
    }

    fn max_pool_op(&self, k: &[usize], win: &WindowNd, ceil: bool, d: [usize; 2]) -> Op {
        Op::MaxPool {
            kernel: [k[d[0]], k[d[1]]],
            strides: [win.strides[d[0]], win.strides[d[1]]],
            pads: [
                win.begin[d[0]],
                win.begin[d[1]],
                win.end[d[0]],
                win.end[d[1]],
            ],
            dilations: [win.dilations[d[0]], win.dilations[d[1]]],
            ceil_mode: ceil,
        }
    }

    pub(crate) fn avg_pool(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let xs = self.shape_of(&x);
        if !(3..=5).contains(&xs.len()) {
            return Err(self.unsupported(format!(
                "{}-D pooling (1-D to 3-D are supported)",
                xs.len().saturating_sub(2)
            )));
        }
        let global = n.op_type == "GlobalAveragePool";
        let (k, win, include) = if global {
            let k = xs[2..].to_vec();
            let win = self.window(&Attrs(&NodeProto::default()), &k, &xs[2..])?;
            (k, win, false)
        } else {
            if at.int("ceil_mode", 0) != 0 {
                return Err(self.unsupported("AveragePool with ceil_mode"));
            }
            let k = self.pool_kernel(at, xs.len() - 2)?;
            let win = self.window(at, &k, &xs[2..])?;
            if win.dilations.iter().any(|&d| d != 1) {
                return Err(self.unsupported("AveragePool with dilations"));
            }
            (k, win, at.int("count_include_pad", 0) != 0)
        };
        let x = self.activation(x, &n.input[0])?;
        let global = k.as_slice() == &xs[2..] && win.begin.iter().chain(&win.end).all(|&p| p == 0);
        let (x, kernel, strides, pads, out_shape) = match xs.len() {
            4 => (
                x,
                [k[0], k[1]],
                [win.strides[0], win.strides[1]],
                [win.begin[0], win.begin[1], win.end[0], win.end[1]],
                None,
            ),
            3 => {
                let id = self.src_id(&x.src)?;
                let x2 = self.reshaped(id, vec![xs[0], xs[1], 1, xs[2]])?;
                let out = win
                    .out(0, xs[2], k[0], false)
                    .ok_or_else(|| self.malformed("window larger than the padded input"))?;
                (
                    Affine {
                        src: Src::Plan(x2),
                        ..x
                    },
                    [1, k[0]],
                    [1, win.strides[0]],
                    [0, win.begin[0], 0, win.end[0]],
                    Some(vec![xs[0], xs[1], out]),
                )
            }
            _ => {
                let (map, outs, padded) = self.window_runs(&xs, &k, &win, false, false)?;
                if padded && !include {
                    return Err(self.unsupported(
                        "3-D AveragePool with padding not counted (count_include_pad 0)",
                    ));
                }
                let taps: usize = k.iter().product();
                let p: usize = outs.iter().product();
                let id = self.src_id(&x.src)?;
                let g = self.gather_id(id, vec![xs[0], xs[1], p, taps], &map, x.zero())?;
                let mut shape = vec![xs[0], xs[1]];
                shape.extend(outs);
                (
                    Affine {
                        src: Src::Plan(g),
                        ..x
                    },
                    [1, taps],
                    [1, taps],
                    [0; 4],
                    Some(shape),
                )
            }
        };
        Ok(vec![Value::Lazy(Lazy::AvgPool {
            x,
            kernel,
            strides,
            pads,
            count_include_pad: include,
            out_shape,
            global,
        })])
    }

    /// ConvTranspose (1-D and 2-D): the input spread by the stride and
    /// padded by `dilation·(k - 1) - pad`, convolved with the flipped
    /// weights transposed to `[C_out, C_in/group, k...]`.
    pub(crate) fn conv_transpose(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let x = self.required(n, 0)?;
        let x = self.activation(x, &n.input[0])?;
        let xs = self.affine_shape(&x);
        let sp = xs.len().saturating_sub(2);
        if !(1..=3).contains(&sp) {
            return Err(self.unsupported(format!(
                "ConvTranspose over {sp} spatial axes (1 to 3 are supported)"
            )));
        }
        let group = at.int("group", 1);
        if group < 1 {
            return Err(self.malformed("group must be positive"));
        }
        let group = group as usize;
        let w = self.required(n, 1)?;
        let w = match w {
            Value::Real(a) if !a.wide && a.clip.is_none() => a,
            Value::Const(c) if c.dtype.is_float() && c.shape.len() == sp + 2 => {
                self.const_affine_per_channel(&c, 1)?
            }
            _ => return Err(self.unsupported("ConvTranspose weights that are not constant")),
        };
        let Src::Const(wc) = &w.src else {
            return Err(self.unsupported("ConvTranspose weights that are not constant"));
        };
        let ws = wc.shape.clone();
        if ws.len() != sp + 2 || ws[0] != xs[1] || xs[1] % group != 0 {
            return Err(
                self.malformed(format!("weights {ws:?} for input {xs:?} and group {group}"))
            );
        }
        if w.scales.len() > 1 && w.axis != 1 {
            return Err(self.unsupported("ConvTranspose weights quantized along the input axis"));
        }
        let auto = at.string("auto_pad").unwrap_or_default();
        if ws.iter().chain(&xs).any(|&v| v == 0) {
            return Err(self.malformed("ConvTranspose of an empty tensor"));
        }
        let (cig, cog) = (ws[0] / group, ws[1]);
        let c_out = cog * group;
        let k: Vec<usize> = ws[2..].to_vec();
        let per = |name: &str, d: i64| -> Vec<i64> { at.ints(name).unwrap_or(vec![d; sp]) };
        let (s, dil, opad) = (
            per("strides", 1),
            per("dilations", 1),
            per("output_padding", 0),
        );
        let mut pads = at.ints("pads").unwrap_or(vec![0; 2 * sp]);
        if s.len() != sp || dil.len() != sp || opad.len() != sp || pads.len() != 2 * sp {
            return Err(self.malformed("ConvTranspose attributes of the wrong length"));
        }
        if pads.iter().any(|&v| v < 0) {
            return Err(self.malformed("negative ConvTranspose pads"));
        }
        // output_shape or auto_pad SAME_*: the total padding that gives the
        // output its length, split as ONNX does (the odd one at the end for
        // SAME_UPPER, at the start otherwise)
        let target: Option<Vec<i64>> = match (at.ints("output_shape"), auto.as_str()) {
            (Some(o), _) => Some(if o.len() == sp + 2 {
                o[2..].to_vec()
            } else {
                o
            }),
            (None, "SAME_UPPER" | "SAME_LOWER") => Some(
                (0..sp)
                    .map(|d| (xs[2 + d] as i64).saturating_mul(s[d]))
                    .collect(),
            ),
            (None, "VALID") => {
                pads = vec![0; 2 * sp];
                None
            }
            (None, "" | "NOTSET") => None,
            (None, other) => return Err(self.malformed(format!("auto_pad {other}"))),
        };
        if let Some(t) = target {
            if t.len() != sp {
                return Err(self.malformed("output_shape of the wrong length"));
            }
            for d in 0..sp {
                let full = s[d]
                    .saturating_mul(xs[2 + d] as i64 - 1)
                    .saturating_add(opad[d])
                    .saturating_add((k_of(&ws, d) as i64 - 1).saturating_mul(dil[d]))
                    .saturating_add(1);
                let total = full.saturating_sub(t[d]);
                // floor division, as ONNX's reference (an odd negative total
                // puts the extra output at the end)
                let half = total.div_euclid(2);
                let (b, e) = if auto == "SAME_UPPER" {
                    (half, total - half)
                } else {
                    (total - half, half)
                };
                pads[d] = b;
                pads[d + sp] = e;
            }
        }
        // (pads from output_shape may be negative: the output grows)
        if s.iter().chain(&dil).any(|&v| v < 1) || opad.iter().any(|&v| v < 0) {
            return Err(self.malformed("ConvTranspose attributes out of range"));
        }
        // the weights: wc[g·cig + ci, co, taps] -> [g·cog + co, ci, flipped taps]
        let taps: usize = k.iter().product();
        let mut data = vec![0.0; c_out * cig * taps];
        for g in 0..group {
            for ci in 0..cig {
                for co in 0..cog {
                    for t in 0..taps {
                        let src = (((g * cig + ci) * cog + co) * taps) + t;
                        let dst = (((g * cog + co) * cig + ci) * taps) + (taps - 1 - t);
                        data[dst] = wc.data[src];
                    }
                }
            }
        }
        let mut shape = vec![c_out, cig];
        shape.extend(&k);
        let spread_w = Affine {
            src: Src::Const(ConstTensor {
                dtype: wc.dtype,
                shape,
                data,
            }),
            scales: if w.scales.len() > 1 {
                (0..c_out).map(|c| w.scales[c % cog]).collect()
            } else {
                w.scales.clone()
            },
            zeros: if w.zeros.len() > 1 {
                (0..c_out).map(|c| w.zeros[c % cog]).collect()
            } else {
                w.zeros.clone()
            },
            axis: 0,
            clip: None,
            wide: false,
        };
        let w_zero = if spread_w.zeros.len() <= 1
            || spread_w.zeros.iter().all(|&z| z == spread_w.zeros[0])
        {
            vec![spread_w.zero()]
        } else {
            spread_w.zeros.clone()
        };
        // the spread input
        let mut lists = vec![
            (0..xs[0]).map(Some).collect(),
            (0..xs[1]).map(Some).collect(),
        ];
        for d in 0..sp {
            let big = |v: i64| v.unsigned_abs() > super::shape::MAX_MAP as u64;
            if big(s[d]) || big(dil[d]) || big(pads[d]) || big(pads[d + sp]) || big(opad[d]) {
                return Err(self.unsupported("ConvTranspose attributes this large"));
            }
            let edge = dil[d] * (k[d] as i64 - 1);
            let (before, after) = (edge - pads[d], edge - pads[d + sp] + opad[d]);
            let len = (xs[2 + d] as i64 - 1) * s[d] + 1 + before + after;
            if len < edge + 1 {
                return Err(self.malformed("ConvTranspose output would be empty"));
            }
            if big(len) {
                return Err(self.unsupported("a ConvTranspose of more than 2^26 values"));
            }
            lists.push(
                (0..len)
                    .map(|o| {
                        let p = o - before;
                        (p >= 0 && p % s[d] == 0 && p / s[d] < xs[2 + d] as i64)
                            .then(|| (p / s[d]) as usize)
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let spread_shape: Vec<usize> = lists.iter().map(Vec::len).collect();
        if spread_shape
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .is_none_or(|t| t > super::shape::MAX_MAP)
        {
            return Err(self.unsupported("a ConvTranspose of more than 2^26 values"));
        }
        let map = super::shape::product_map(&xs, &lists);
        let x_id = self.src_id(&x.src)?;
        let spread = self.gather_id(x_id, spread_shape, &map, x.zero())?;
        let scales = self.acc_scales(&x, &spread_w, 1.0);
        let bias = self.bias(self.input(n, 2)?, &scales, c_out, 1.0)?;
        let win = WindowNd {
            strides: vec![1; sp],
            begin: vec![0; sp],
            end: vec![0; sp],
            dilations: dil.iter().map(|&v| v as usize).collect(),
        };
        let acc = self.conv_any(spread, x.zero(), &spread_w, w_zero, bias, &win, group)?;
        Ok(vec![Value::Real(Affine {
            src: Src::Plan(acc),
            scales,
            zeros: vec![0],
            axis: 1,
            clip: None,
            wide: true,
        })])
    }
}

fn lift_1d(win: &WindowNd) -> WindowNd {
    WindowNd {
        strides: vec![1, win.strides[0]],
        begin: vec![0, win.begin[0]],
        end: vec![0, win.end[0]],
        dilations: vec![1, win.dilations[0]],
    }
}

/// The kernel length of ConvTranspose weights `[C_in, C_out/g, k...]` on
/// spatial axis `d`.
fn k_of(ws: &[usize], d: usize) -> usize {
    ws.get(2 + d).copied().unwrap_or(1)
}

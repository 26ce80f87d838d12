//! Requantization: turning a real value (an accumulator, an activation, or a
//! pending float op) into integers with given output parameters. This is
//! where every `QuantizeLinear` of an int8 model, and every calibrated
//! quantization point of a float model, becomes one Plan op.

use super::{Lowerer, QParams};
use crate::error::Result;
use crate::value::{Affine, Lazy, Src, Value};
use zkinf_circuits::arith::{common_shift, Dyadic};
use zkinf_circuits::{Op, TensorId};

impl Lowerer<'_> {
    /// Quantizes `v` to `q` and returns it as a narrow activation.
    pub(crate) fn requant_to_affine(&mut self, v: Value, q: QParams) -> Result<Affine> {
        let id = self.requant(v, q)?;
        Ok(Affine {
            src: Src::Plan(id),
            scales: vec![q.scale],
            zeros: vec![q.zero],
            axis: 0,
            clip: None,
            wide: false,
        })
    }

    /// Output bounds after folding a pending real clip into `[q.lo, q.hi]`.
    fn clip_bounds(&self, clip: Option<(f64, f64)>, q: QParams) -> (i64, i64) {
        let (mut lo, mut hi) = (q.lo, q.hi);
        if let Some((rlo, rhi)) = clip {
            // quantization is monotone, so clip-then-quantize = quantize-then-clamp
            let quant = |r: f64| q.zero as f64 + self.round_real(r / q.scale);
            if rlo.is_finite() {
                lo = lo.max(quant(rlo).clamp(i64::MIN as f64 / 4.0, i64::MAX as f64 / 4.0) as i64);
            }
            if rhi.is_finite() {
                hi = hi.min(quant(rhi).clamp(i64::MIN as f64 / 4.0, i64::MAX as f64 / 4.0) as i64);
            }
        }
        (lo, hi.max(lo))
    }

    fn round_real(&self, x: f64) -> f64 {
        if self.exact() {
            (x as f32).round_ties_even() as f64
        } else {
            x.round_ties_even()
        }
    }

    /// Signed dyadic for a possibly negative real multiplier; one below
    /// 2^-60 of an output step (a LayerNorm γ of 1e-30, say) is 0.
    fn signed_ratio(&self, num: f64, den: f64) -> Result<(i64, Dyadic)> {
        if den > 0.0 && (num / den).abs() < 2f64.powi(-60) {
            return Ok((1, Dyadic { mult: 0, shift: 0 }));
        }
        let d = self.ratio(num.abs(), den)?;
        Ok((if num < 0.0 { -1 } else { 1 }, d))
    }

    pub(crate) fn requant(&mut self, v: Value, q: QParams) -> Result<TensorId> {
        match v {
            Value::Real(a) => self.requant_affine(a, q),
            Value::Lazy(l) => self.requant_lazy(l, q),
            Value::Const(c) => {
                let a = self.const_affine(&c)?;
                self.requant_affine(a, q)
            }
            Value::Int { .. } | Value::FloatInput { .. } => {
                Err(self.malformed("cannot requantize this value"))
            }
        }
    }

    fn requant_affine(&mut self, a: Affine, q: QParams) -> Result<TensorId> {
        let (lo, hi) = self.clip_bounds(a.clip, q);
        let ds = a
            .scales
            .iter()
            .map(|&s| self.ratio(s, q.scale))
            .collect::<Result<Vec<_>>>()?;
        let (mults, shift) = common_shift(&ds)
            .ok_or_else(|| self.unsupported("scale ratios span too many powers of two"))?;
        let x = self.src_id(&a.src)?;
        let r = self.plan.info(x).range;
        // identity: same scale and zero point, nothing to clip
        if mults == [1] && shift == 0 && a.zero() == q.zero && lo <= r.lo && r.hi <= hi {
            return Ok(x);
        }
        let (in_zero, bias) = if a.zeros.len() > 1 && a.zeros.iter().any(|&z| z != a.zeros[0]) {
            (
                0,
                a.zeros.iter().zip(&mults).map(|(&z, &m)| -z * m).collect(),
            )
        } else {
            (a.zero(), vec![])
        };
        self.push(
            Op::Rescale {
                in_zero,
                mult: mults,
                bias,
                shift,
                axis: a.axis as u32,
                out_zero: q.zero,
                lo,
                hi,
            },
            vec![x],
            None,
        )
    }

    /// A lookup table over `x`'s integer range: `f` maps the dequantized
    /// inputs (all at once) to reals, quantized with `q` within `[lo, hi]`.
    fn table(
        &mut self,
        x: &Affine,
        q: QParams,
        (lo, hi): (i64, i64),
        what: &str,
        f: impl FnOnce(Vec<f64>) -> std::result::Result<Vec<f64>, String>,
    ) -> Result<TensorId> {
        let id = self.src_id(&x.src)?;
        let r = self.plan.info(id).range;
        if r.hi - r.lo >= 1 << 16 {
            return Err(self.unsupported("lookup tables need an input of at most 16 bits"));
        }
        let reals = (r.lo..=r.hi)
            .map(|v| {
                if self.exact() {
                    ((v - x.zero()) as f32 * x.scale() as f32) as f64
                } else {
                    (v - x.zero()) as f64 * x.scale()
                }
            })
            .collect::<Vec<f64>>();
        let n = reals.len();
        let ys = f(reals).map_err(|e| self.malformed(format!("{what}: {e}")))?;
        if ys.len() != n {
            return Err(self.malformed(format!("{what} does not map one value to one")));
        }
        let table = ys
            .into_iter()
            .map(|y| {
                let y = if self.exact() {
                    (y as f32 / q.scale as f32) as f64
                } else {
                    y / q.scale
                };
                (y.round_ties_even() + q.zero as f64).clamp(lo as f64, hi as f64)
            })
            .collect::<Vec<f64>>();
        if table.iter().any(|v| v.is_nan()) {
            return Err(
                self.unsupported(format!("{what} is undefined on part of its input's range"))
            );
        }
        let table = table.into_iter().map(|v| v as i64).collect();
        self.push(Op::Lookup { in_lo: r.lo, table }, vec![id], None)
    }

    fn requant_lazy(&mut self, l: Lazy, q: QParams) -> Result<TensorId> {
        let (lo, hi) = (q.lo, q.hi);
        match l {
            Lazy::Sum { a, b, b_sign, .. } => {
                let (da, db) = (
                    self.ratio(a.scale(), q.scale)?,
                    self.ratio(b.scale(), q.scale)?,
                );
                let (m, shift) = common_shift(&[da, db])
                    .ok_or_else(|| self.unsupported("scale ratios span too many powers of two"))?;
                let (x, y) = (self.src_id(&a.src)?, self.src_id(&b.src)?);
                self.push(
                    Op::Add {
                        a_zero: a.zero(),
                        b_zero: b.zero(),
                        a_mult: m[0],
                        b_mult: b_sign * m[1],
                        shift,
                        out_zero: q.zero,
                        lo,
                        hi,
                    },
                    vec![x, y],
                    None,
                )
            }
            Lazy::Prod { a, b, .. } => {
                let d = self.ratio(self.scale_mul(a.scale(), b.scale()), q.scale)?;
                let (x, y) = (self.src_id(&a.src)?, self.src_id(&b.src)?);
                self.push(
                    Op::Mul {
                        a_zero: a.zero(),
                        b_zero: b.zero(),
                        mult: d.mult,
                        shift: d.shift,
                        out_zero: q.zero,
                        lo,
                        hi,
                    },
                    vec![x, y],
                    None,
                )
            }
            Lazy::Quotient { a, b, shape } => self.quotient(a, b, &shape, q),
            Lazy::Unary { x, f } => self.table(&x, q, (lo, hi), &format!("{f:?}"), |reals| {
                Ok(reals.iter().map(|&v| f.apply(v)).collect())
            }),
            Lazy::Function { x, input, output } => {
                let model = self.model;
                self.table(&x, q, (lo, hi), &output, |reals| {
                    let t = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[reals.len()]), reals)
                        .map_err(|e| e.to_string())?;
                    let y = crate::reference::eval_body(model, &input, &output, &t)?;
                    Ok(y.iter().copied().collect())
                })
            }
            Lazy::Softmax { x, axis } => {
                let id = self.src_id(&x.src)?;
                let r = self.plan.info(id).range;
                let span = r.hi - r.lo;
                if span >= 1 << 16 {
                    return Err(self.unsupported("softmax needs an input of at most 16 bits"));
                }
                let exp_table = (0..=span)
                    .map(|d| ((-(d as f64) * x.scale()).exp() * 65536.0).round() as i64)
                    .collect();
                let out_mult = (1.0 / q.scale).round() as i64;
                self.push(
                    Op::Softmax {
                        axis: axis as u32,
                        exp_table,
                        out_mult,
                        out_zero: q.zero,
                        lo,
                        hi,
                    },
                    vec![id],
                    None,
                )
            }
            Lazy::AvgPool {
                x,
                kernel,
                strides,
                pads,
                count_include_pad,
                out_shape,
                global,
            } => {
                let d = self.ratio(x.scale(), q.scale)?;
                let id = self.src_id(&x.src)?;
                if self.exact() {
                    // onnxruntime rounds int8 average pooling in float32
                    let r = x.scale() / q.scale;
                    let taps = (kernel[0] * kernel[1]) as f64;
                    // float error of a window, in output steps (twice a
                    // bound of the sum's, the division's and the zero
                    // point's roundings): below the circuit's 1/128
                    let err = 2.0 * ((taps + 1.0) * 255.0 * r + 3.0 * 384.0) / (1u64 << 24) as f64;
                    if err >= 1.0 / 128.0 {
                        return Err(self.unsupported(format!(
                            "int8 average pooling over {taps} values at scale ratio {r}: \
                             onnxruntime's float32 rounding cannot be bounded tightly enough"
                        )));
                    }
                }
                let op = if self.exact() {
                    Op::AvgPoolF32 {
                        kernel,
                        strides,
                        pads,
                        count_include_pad,
                        in_zero: x.zero(),
                        mult: d.mult,
                        shift: d.shift,
                        out_zero: q.zero,
                        lo,
                        hi,
                        x_scale: x.scale() as f32,
                        y_scale: q.scale as f32,
                        // x86-64 runs int8 QDQ models as uint8, zero points + 128
                        zero_shift: if q.lo < 0 { 128 } else { 0 },
                        global,
                    }
                } else {
                    Op::AvgPool {
                        kernel,
                        strides,
                        pads,
                        count_include_pad,
                        in_zero: x.zero(),
                        mult: d.mult,
                        shift: d.shift,
                        out_zero: q.zero,
                        lo,
                        hi,
                    }
                };
                let pooled = self.push(op, vec![id], None)?;
                match out_shape {
                    Some(s) => self.push(Op::Reshape, vec![pooled], Some(s)),
                    None => Ok(pooled),
                }
            }
            Lazy::ChannelAffine {
                x,
                mul,
                add,
                clip,
                axis,
            } => {
                let (lo, hi) = self.clip_bounds(clip, q);
                let mut signs = Vec::new();
                let mut ds = Vec::new();
                if x.clip.is_some() || (x.scales.len() > 1 && x.axis != axis) {
                    return Err(self.unsupported(
                        "a per-channel scale and bias (BatchNormalization, LayerNormalization) of a clipped or differently laid out tensor",
                    ));
                }
                for (c, &m) in mul.iter().enumerate() {
                    let sx = if x.scales.len() > 1 {
                        x.scales[c]
                    } else {
                        x.scale()
                    };
                    let (s, d) = self.signed_ratio(self.scale_mul(sx, m), q.scale)?;
                    signs.push(s);
                    ds.push(d);
                }
                let (mults, shift) = common_shift(&ds)
                    .ok_or_else(|| self.unsupported("scale ratios span too many powers of two"))?;
                let mults: Vec<i64> = mults.iter().zip(&signs).map(|(m, s)| m * s).collect();
                let bias = add
                    .iter()
                    .map(|&b| (b / q.scale * 2f64.powi(shift as i32)).round() as i64)
                    .collect();
                let id = self.src_id(&x.src)?;
                self.push(
                    Op::Rescale {
                        in_zero: x.zero(),
                        mult: mults,
                        bias,
                        shift,
                        axis: axis as u32,
                        out_zero: q.zero,
                        lo,
                        hi,
                    },
                    vec![id],
                    None,
                )
            }
            Lazy::Extremum { parts, max, .. } => {
                let span = hi - lo;
                let mut acc = None;
                for p in parts {
                    let b = self.requant_affine(p, q)?;
                    let Some(a) = acc else {
                        acc = Some(b);
                        continue;
                    };
                    // d = b - a, exact at one scale
                    let d = self.push(
                        Op::Add {
                            a_zero: q.zero,
                            b_zero: q.zero,
                            a_mult: 1,
                            b_mult: -1,
                            shift: 0,
                            out_zero: 0,
                            lo: -span,
                            hi: span,
                        },
                        vec![b, a],
                        None,
                    )?;
                    let (clo, chi) = if max { (0, span) } else { (-span, 0) };
                    let c = self.push(Op::Clamp { lo: clo, hi: chi }, vec![d], None)?;
                    acc = Some(self.push(
                        Op::Add {
                            a_zero: q.zero,
                            b_zero: 0,
                            a_mult: 1,
                            b_mult: 1,
                            shift: 0,
                            out_zero: q.zero,
                            lo,
                            hi,
                        },
                        vec![a, c],
                        None,
                    )?);
                }
                acc.ok_or_else(|| self.malformed("no operands"))
            }
            Lazy::ChannelPRelu { x, slopes } => {
                let id = self.src_id(&x.src)?;
                let r = self.plan.info(id).range;
                let z = x.zero();
                // the positive part at the output's scale
                let d = self.ratio(x.scale(), q.scale)?;
                let pos_op = Op::Rescale {
                    in_zero: z,
                    mult: vec![d.mult],
                    bias: vec![],
                    shift: d.shift,
                    axis: 1,
                    out_zero: q.zero,
                    lo,
                    hi,
                };
                // the negative part, times each channel's slope
                let mut signs = Vec::new();
                let mut ds = Vec::new();
                for &a in &slopes {
                    let (s, d) = self.signed_ratio(self.scale_mul(x.scale(), a), q.scale)?;
                    signs.push(s);
                    ds.push(d);
                }
                let (mults, shift) = common_shift(&ds)
                    .ok_or_else(|| self.unsupported("PRelu slopes span too many powers of two"))?;
                let neg_op = Op::Rescale {
                    in_zero: z,
                    mult: mults.iter().zip(&signs).map(|(m, s)| m * s).collect(),
                    bias: vec![],
                    shift,
                    axis: 1,
                    out_zero: q.zero,
                    lo,
                    hi,
                };
                // every value on one side of the zero point: one part only
                if z <= r.lo {
                    return self.push(pos_op, vec![id], None);
                }
                if z >= r.hi {
                    return self.push(neg_op, vec![id], None);
                }
                let pos = self.push(Op::Clamp { lo: z, hi: r.hi }, vec![id], None)?;
                let neg = self.push(Op::Clamp { lo: r.lo, hi: z }, vec![id], None)?;
                let pos = self.push(pos_op, vec![pos], None)?;
                let neg = self.push(neg_op, vec![neg], None)?;
                // one of the two parts is the zero point: the sum is exact
                self.push(
                    Op::Add {
                        a_zero: q.zero,
                        b_zero: q.zero,
                        a_mult: 1,
                        b_mult: 1,
                        shift: 0,
                        out_zero: q.zero,
                        lo,
                        hi,
                    },
                    vec![pos, neg],
                    None,
                )
            }
            Lazy::Concat { parts, axis } => {
                let mut ids = Vec::new();
                for p in parts {
                    ids.push(self.requant_affine(p, q)?);
                }
                self.push(Op::Concat { axis: axis as u32 }, ids, None)
            }
        }
    }
}

//! InstanceNormalization: `y = γ_c (x - μ) / sqrt(σ² + ε) + β_c` per
//! instance `(n, c)` over its `P` spatial values, in exact integers up to
//! one table:
//! - `Σ = Σ (x - z)` (a MatMul by ones), `d = P (x - z) - Σ` (an exact Add:
//!   `d / P` is `x - μ` at the input's scale `s`);
//! - `V = Σ d²` (a Mul, a MatMul by ones): `σ² = V s² / P³`;
//! - `V` requantized to a 12-bit index over `[0, V_max]`, where `V_max` is
//!   the largest `V` on the calibration data (with a margin; a larger one is
//!   clamped there and counted as a saturation), and `r = 2^F /
//!   sqrt(σ² + ε)` from a table over the index;
//! - `d r` (a Mul) is `(x - μ)/sqrt(σ² + ε)` at scale `s / (P 2^F)`, and
//!   `γ_c`, `β_c` fold into the output's requantization (per channel).
//!
//! The index's step is `V_max / 4095`: the variance's relative error is
//! under `V_max / (4095 V)`, so an instance whose variance is far below the
//! largest one seen in calibration is normalized less precisely (the
//! compile report's per-layer error shows it).

use super::Lowerer;
use crate::error::Result;
use crate::model::Attrs;
use crate::onnx::NodeProto;
use crate::value::{Affine, Lazy, Src, Value};
use zkinf_circuits::{Op, TensorId};

/// The key of an InstanceNormalization's variance range in the calibration
/// ranges (the compile pass adds it; `V_max` above, in real units).
pub fn variance_key(output: &str) -> String {
    format!("{output}#variance")
}

const INDEX_BITS: u32 = 12;
const TABLE_BITS: u32 = 14;

impl Lowerer<'_> {
    pub(crate) fn instance_norm(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        let eps = at.float("epsilon", 1e-5) as f64;
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(self.malformed(format!("epsilon {eps}")));
        }
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        if shape.len() < 3 {
            return Err(self.malformed("InstanceNormalization needs an [N, C, ...] input"));
        }
        let (nb, ch) = (shape[0], shape[1]);
        let p: usize = shape[2..].iter().product();
        let mut params = Vec::new();
        for k in [1, 2] {
            let c = self
                .const_real_input(n, k)?
                .ok_or_else(|| self.malformed("InstanceNormalization needs scale and B"))?;
            if c.data.len() != ch {
                return Err(
                    self.malformed("InstanceNormalization parameters do not match the channels")
                );
            }
            params.push(c.data);
        }
        let out = n.output.first().cloned().unwrap_or_default();
        let var_max = match &self.mode {
            super::Mode::Calibrated { ranges, .. } | super::Mode::Exact { ranges } => {
                ranges.get(&variance_key(&out)).map(|r| r.1)
            }
        }
        .ok_or_else(|| {
            self.unsupported("InstanceNormalization needs calibration data (its variance range)")
        })?;
        if self.exact() {
            // onnxruntime computes it in float32 between its DequantizeLinear
            // and QuantizeLinear: here it is approximated (reported)
            let node = self.node.clone();
            self.approximated
                .push(format!("{node} (InstanceNormalization)"));
        }
        let a = self.activation(x, &n.input[0])?;
        let s = a.scale();
        let x_id = self.src_id(&a.src)?;
        let rows = self.push(Op::Reshape, vec![x_id], Some(vec![nb * ch, p]))?;
        let sum = self.row_sums(rows, a.zero())?;
        // d = P (x - z) - Σ
        let r = self.plan.info(x_id).range;
        // |d| <= P·span, d² and the normalized products stay below 2^62
        let dmax = (p as i128) * (r.hi - r.lo) as i128;
        if dmax * dmax >= 1 << 62 || dmax * dmax * (p as i128) >= 1 << 62 {
            return Err(self.unsupported(format!(
                "InstanceNormalization over {p} values of a {}-value range (its sums of squares need more than 62 bits)",
                r.hi - r.lo + 1
            )));
        }
        let dmax = dmax as i64;
        let d = self.centred(rows, sum, a.zero(), p, dmax)?;
        let v = self.sums_of_squares(d, dmax)?;
        // V in integer units: σ² = V s² / P³; the index covers [0, V_max]
        // (the calibrated variance with a quarter's margin)
        let p3 = (p as f64).powi(3);
        let v_max = (var_max * 1.25 * p3 / (s * s)).max(1.0);
        let top = (1i64 << INDEX_BITS) - 1;
        let step = v_max / top as f64;
        let ratio = zkinf_circuits::arith::Dyadic::approx(1.0 / step, 16)
            .ok_or_else(|| self.unsupported("InstanceNormalization variance out of range"))?;
        let idx = self.push(
            Op::Rescale {
                in_zero: 0,
                mult: vec![ratio.mult],
                bias: vec![],
                shift: ratio.shift,
                axis: 0,
                out_zero: 0,
                lo: 0,
                hi: top,
            },
            vec![v],
            None,
        )?;
        self.saturating.push((idx, false, true));
        // the variance one index step stands for; r = scale / sqrt(σ² + ε),
        // 2^14 at the first step (and more below it), 2^8 at the top
        let real_step = (2f64.powi(ratio.shift as i32) / ratio.mult as f64) * s * s / p3;
        let scale = (1u64 << TABLE_BITS) as f64 * (real_step + eps).sqrt();
        // index 0 stands for variances in [0, step/2): its entry is taken at
        // step/4, so a nearly constant instance is not divided by sqrt(ε)
        let table: Vec<i64> = (0..=top)
            .map(|i| {
                let v = if i == 0 {
                    real_step / 4.0
                } else {
                    i as f64 * real_step
                };
                (scale / (v + eps).sqrt()).round() as i64
            })
            .collect();
        let rmax = table.iter().copied().max().unwrap_or(1);
        if rmax >= 1 << 40 || (dmax as i128) * (rmax as i128) >= 1 << 62 {
            return Err(self.unsupported(
                "InstanceNormalization with an epsilon far below its calibrated variance",
            ));
        }
        let rs = self.push(Op::Lookup { in_lo: 0, table }, vec![idx], None)?;
        // (x - μ) / sqrt(σ² + ε) = d r at scale s / (P · scale)
        let y = self.push(
            Op::Mul {
                a_zero: 0,
                b_zero: 0,
                mult: 1,
                shift: 0,
                out_zero: 0,
                lo: -dmax * rmax,
                hi: dmax * rmax,
            },
            vec![d, rs],
            None,
        )?;
        let y = self.push(Op::Reshape, vec![y], Some(shape))?;
        Ok(vec![Value::Lazy(Lazy::ChannelAffine {
            x: Affine {
                src: Src::Plan(y),
                scales: vec![s / (p as f64 * scale)],
                zeros: vec![0],
                axis: 1,
                clip: None,
                wide: true,
            },
            mul: params[0].clone(),
            add: params[1].clone(),
            clip: None,
            axis: 1,
        })])
    }
}

/// Bits of a row normalization's quotient: `y = rhe(d M / r)` with
/// `M = 2^NORM_BITS` (`|y| <= M` up to the root's rounding; see
/// [`Lowerer::normalize_rows`]).
const NORM_BITS: u32 = 14;

impl Lowerer<'_> {
    /// LayerNormalization (opset 17) over the last axis, and the
    /// decomposed form the fusion pass rewrites to it.
    pub(crate) fn layer_norm(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        self.row_norm(n, at, true)
    }

    /// RMSNormalization (opset 23) over the last axis, and the exported
    /// `x / sqrt(mean(x²) + ε)` forms the fusion pass rewrites to it.
    pub(crate) fn rms_norm(&mut self, n: &NodeProto, at: &Attrs) -> Result<Vec<Value>> {
        self.row_norm(n, at, false)
    }

    fn row_norm(&mut self, n: &NodeProto, at: &Attrs, centre: bool) -> Result<Vec<Value>> {
        let eps = at.float("epsilon", 1e-5) as f64;
        if !(eps.is_finite() && eps >= 0.0) {
            return Err(self.malformed(format!("epsilon {eps}")));
        }
        let x = self.required(n, 0)?;
        let shape = self.shape_of(&x);
        let rank = shape.len() as i64;
        let axis = at.int("axis", -1);
        if rank == 0 || (axis != -1 && axis != rank - 1) {
            return Err(self.unsupported(format!(
                "{} over more than the last axis (axis {axis} of rank {rank})",
                n.op_type
            )));
        }
        let p = *shape.last().unwrap_or(&1);
        let mut params = Vec::new();
        for (k, default) in [(1usize, 1.0), (2, 0.0)] {
            let c = match self.const_real_input(n, k)? {
                Some(c) if c.data.len() == p => c.data,
                Some(c) if c.data.len() == 1 => vec![c.data[0]; p],
                Some(_) => {
                    return Err(self.malformed(format!(
                        "{} scale or bias does not match the last axis ({p})",
                        n.op_type
                    )))
                }
                None if k == 1 && self.input(n, 1)?.is_some() => {
                    return Err(self.unsupported(format!("{} with a computed scale", n.op_type)))
                }
                None => vec![default; p],
            };
            params.push(c);
        }
        if self.exact() {
            // onnxruntime computes it in float32 inside its QDQ pair
            let node = self.node.clone();
            self.approximated.push(format!("{node} ({})", n.op_type));
        }
        let a = self.activation(x, &n.input[0])?;
        let y = self.normalize_rows(&a, &shape, centre, eps)?;
        // a normalized value lies within sqrt(P) of 0, so the output within
        // |γ| sqrt(P) of β; calibration on a few inputs sees less than that:
        // the output's range gets a quarter of its span on each side, up to
        // that bound (fewer values clamped, a little precision spent)
        if let (super::Mode::Calibrated { ranges, .. }, Some(out)) =
            (&mut self.mode, n.output.first())
        {
            if let Some(r) = ranges.get_mut(out) {
                let bound = (p as f64).sqrt();
                let (blo, bhi) = params[0]
                    .iter()
                    .zip(&params[1])
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (g, b)| {
                        (lo.min(b - g.abs() * bound), hi.max(b + g.abs() * bound))
                    });
                let m = 0.25 * (r.1 - r.0);
                *r = ((r.0 - m).max(blo).min(r.0), (r.1 + m).min(bhi).max(r.1));
            }
        }
        let last = shape.len() - 1;
        Ok(vec![Value::Lazy(Lazy::ChannelAffine {
            x: Affine {
                src: Src::Plan(y),
                scales: vec![(p as f64).sqrt() / (1u64 << NORM_BITS) as f64],
                zeros: vec![0],
                axis: last,
                clip: None,
                wide: true,
            },
            mul: params[0].clone(),
            add: params[1].clone(),
            clip: None,
            axis: last,
        })])
    }

    /// `d = P (x - z) - Σ` for rows `[R, P]` and their sums `[R, 1]` (exact,
    /// `|d| <= dmax`).
    fn centred(
        &mut self,
        rows: TensorId,
        sum: TensorId,
        z: i64,
        p: usize,
        dmax: i64,
    ) -> Result<TensorId> {
        self.push(
            Op::Add {
                a_zero: z,
                b_zero: 0,
                a_mult: p as i64,
                b_mult: -1,
                shift: 0,
                out_zero: 0,
                lo: -dmax,
                hi: dmax,
            },
            vec![rows, sum],
            None,
        )
    }

    /// `Σ_k d[., k]²` of rows `[R, P]` with `|d| <= dmax` (exact).
    fn sums_of_squares(&mut self, d: TensorId, dmax: i64) -> Result<TensorId> {
        let sq = self.push(
            Op::Mul {
                a_zero: 0,
                b_zero: 0,
                mult: 1,
                shift: 0,
                out_zero: 0,
                lo: 0,
                hi: dmax * dmax,
            },
            vec![d, d],
            None,
        )?;
        self.row_sums(sq, 0)
    }

    /// `(x - μ) / sqrt(σ² + ε)` (with `centre`; else `x / sqrt(mean(x²) +
    /// ε)`) of every row of the last axis (`P` values) of the activation
    /// `a` (scale `s`, zero `z`), in exact integers and one witnessed root
    /// per row:
    /// - `d = P (x - z) - Σ (x - z)` (centred; `d / P = (x - μ) / s`), or
    ///   `d = x - z`;
    /// - `W = Σ d² + B` with `B = max(1, rhe(P³ ε / s²))` (centred) or
    ///   `max(1, rhe(P ε / s²))`: `W = P³ (σ² + ε) / s²`, or `P (mean(x²) +
    ///   ε) / s²` (B >= 1 keeps the root a valid divisor when `ε` is below a
    ///   step: only a constant row is affected, and its `d` is 0);
    /// - `r = floor(sqrt(W))` (`Op::Sqrt`: `r² <= W < (r + 1)²`, proven by
    ///   two range checks, no table), relative error below `1 / r`;
    /// - `y = rhe(d 2^NORM_BITS / r)` (`Op::Div`, per row): in both cases
    ///   the normalized value is `d sqrt(P) / sqrt(W)`, so `y` is it at scale
    ///   `sqrt(P) / 2^NORM_BITS`. `|d| <= sqrt(W) < r + 1`, so `|y| <
    ///   2^(NORM_BITS+1)`: the division's bounds never clamp.
    ///
    /// Returns `y`, shaped like the input.
    pub(crate) fn normalize_rows(
        &mut self,
        a: &Affine,
        shape: &[usize],
        centre: bool,
        eps: f64,
    ) -> Result<TensorId> {
        let p = *shape.last().unwrap_or(&1);
        let rows_n: usize = shape[..shape.len() - 1].iter().product();
        let (s, z) = (a.scale(), a.zero());
        let x_id = self.src_id(&a.src)?;
        let r = self.plan.info(x_id).range;
        let span = (r.hi - r.lo) as i128;
        let dmax = if centre {
            p as i128 * span
        } else {
            span.max(r.hi.abs().max(r.lo.abs()) as i128 + z.unsigned_abs() as i128)
        };
        if dmax * dmax >= 1 << 62 || dmax * dmax * (p as i128) >= 1 << 61 {
            return Err(self.unsupported(format!(
                "normalization over {p} values of a {}-value range (its sums of squares need more than 62 bits)",
                span + 1
            )));
        }
        let dmax = dmax as i64;
        let rows = self.push(Op::Reshape, vec![x_id], Some(vec![rows_n, p]))?;
        let d = if centre {
            let sum = self.row_sums(rows, z)?;
            self.centred(rows, sum, z, p, dmax)?
        } else if z == 0 {
            rows
        } else {
            self.push(
                Op::Rescale {
                    in_zero: z,
                    mult: vec![1],
                    bias: vec![],
                    shift: 0,
                    axis: 0,
                    out_zero: 0,
                    lo: -dmax,
                    hi: dmax,
                },
                vec![rows],
                None,
            )?
        };
        let v = self.sums_of_squares(d, dmax)?;
        let pf = p as f64;
        let b = if centre { pf * pf * pf } else { pf } * eps / (s * s);
        if b.is_nan() || b >= (1u64 << 60) as f64 {
            return Err(self.unsupported(format!(
                "normalization epsilon {eps} is too large for its input scale {s}"
            )));
        }
        let bias = (b.round_ties_even() as i64).max(1);
        let root = self.push(Op::Sqrt { bias }, vec![v], None)?;
        let m = 1i64 << NORM_BITS;
        let y = self.push(
            Op::Div {
                mult: m,
                out_zero: 0,
                // exactly 2^(NORM_BITS+2) values (a tight range: one check
                // bounds both ends in the circuit), holding every |y| < 2m
                lo: -2 * m,
                hi: 2 * m - 1,
            },
            vec![d, root],
            None,
        )?;
        self.push(Op::Reshape, vec![y], Some(shape.to_vec()))
    }
}

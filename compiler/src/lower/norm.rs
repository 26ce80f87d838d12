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
use zkinf_circuits::Op;

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
        let d = self.push(
            Op::Add {
                a_zero: a.zero(),
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
        )?;
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
        let v = self.row_sums(sq, 0)?;
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
        })])
    }
}

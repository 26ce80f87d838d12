//! Quantization parameters zkinf chooses itself: calibrated ranges (float
//! models, and the float tensors an int8 model leaves unquantized), the
//! saturation bounds they imply, and weights quantized symmetrically.

use super::{Lowerer, Mode, QParams};
use crate::error::Result;
use crate::value::{Affine, ConstTensor, DType, Src, Value};
use zkinf_circuits::{InputQuant, Op, TensorId};

impl Lowerer<'_> {
    /// Calibrated output parameters of tensor `name` (float models).
    pub(crate) fn calibrated(&self, name: &str) -> Result<QParams> {
        let (ranges, bits) = match &self.mode {
            Mode::Calibrated { ranges, bits, .. } => (ranges, *bits),
            Mode::Exact { ranges } => {
                if !ranges.contains_key(name) {
                    return Err(self.unsupported(format!(
                        "float tensor '{name}' is not quantized (no QuantizeLinear follows it); \
                         give calibration data (--calibration) to let zkinf quantize it"
                    )));
                }
                let mut q = self.zkinf_quantized.borrow_mut();
                if !q.iter().any(|n| n == name) {
                    q.push(name.to_string());
                }
                (ranges, 8)
            }
        };
        let (lo, hi) = ranges
            .get(name)
            .copied()
            .ok_or_else(|| self.malformed(format!("no calibration range for '{name}'")))?;
        Ok(qparams_for_range(lo, hi, bits))
    }

    /// Quantizes `v` with the calibrated parameters of tensor `name`, and
    /// records which of the result's bounds are saturation (a bound a
    /// pending ReLU/Clip sets is the op's own, not a saturation).
    pub(crate) fn requant_calibrated(&mut self, v: Value, name: &str) -> Result<Affine> {
        let q = self.calibrated(name)?;
        let clip = match &v {
            Value::Real(a) => a.clip,
            Value::Lazy(crate::value::Lazy::ChannelAffine { clip, .. }) => *clip,
            _ => None,
        };
        let before = self.plan.nodes.len();
        let a = self.requant_to_affine(v, q)?;
        // every requantizing node this pushed whose bound is the range's
        // (Max/Min, PRelu and Concat requantize in several nodes; pooling
        // ends with a reshape)
        let quant = |r: f64| q.zero as f64 + (r / q.scale).round_ties_even();
        for id in before..self.plan.nodes.len() {
            let (lo, hi) = match &self.plan.nodes[id].op {
                Op::Rescale { lo, hi, .. }
                | Op::Add { lo, hi, .. }
                | Op::Mul { lo, hi, .. }
                | Op::AvgPool { lo, hi, .. }
                | Op::AvgPoolF32 { lo, hi, .. }
                | Op::Div { lo, hi, .. } => (*lo, *hi),
                _ => continue,
            };
            let lo_sat = lo == q.lo && clip.is_none_or(|c| quant(c.0) < q.lo as f64);
            let hi_sat = hi == q.hi && clip.is_none_or(|c| quant(c.1) > q.hi as f64);
            if lo_sat || hi_sat {
                self.saturating.push((id as TensorId, lo_sat, hi_sat));
            }
        }
        Ok(a)
    }

    /// In an int8 model, records that onnxruntime computes this node's op in
    /// float32 (between a DequantizeLinear and a QuantizeLinear) where zkinf
    /// computes it in integers: close, not bit for bit (reported).
    pub(crate) fn note_approximated(&mut self, what: &str) {
        if self.exact() {
            let node = self.node.clone();
            self.approximated.push(format!("{node} ({what})"));
        }
    }

    /// A float graph input of an int8 model read by an op other than
    /// QuantizeLinear: quantized from calibration data, once.
    pub(crate) fn float_input(&mut self, v: Value) -> Result<Value> {
        let Value::FloatInput { name, shape, clip } = v else {
            return Ok(v);
        };
        let q = self.calibrated(&name)?;
        let id = self.add_input(
            &name,
            &shape,
            InputQuant::Affine {
                scale: q.scale as f32,
                zero_point: q.zero,
            },
            q.lo,
            q.hi,
        )?;
        self.saturating.push((id, true, true));
        let v = Value::Real(Affine {
            src: Src::Plan(id),
            scales: vec![q.scale as f32 as f64],
            zeros: vec![q.zero],
            axis: 0,
            clip: None,
            wide: false,
        });
        self.values.insert(name, v.clone());
        Ok(match (v, clip) {
            (Value::Real(mut a), Some(c)) => {
                a.clip = Some(c);
                Value::Real(a)
            }
            (v, _) => v,
        })
    }

    /// The largest weight magnitude: `2^(weight_bits - 1) - 1` (127 at 8 bits).
    fn weight_max(&self) -> f64 {
        match self.mode {
            Mode::Calibrated { weight_bits, .. } => ((1i64 << (weight_bits - 1)) - 1) as f64,
            Mode::Exact { .. } => 127.0,
        }
    }

    /// Quantizes a float constant symmetrically to int8 (weights of float
    /// models, constant operands; wider with `weight_bits`).
    pub(crate) fn const_affine(&self, c: &ConstTensor) -> Result<Affine> {
        let max = c.data.iter().fold(0f64, |m, v| m.max(v.abs()));
        if !max.is_finite() {
            return Err(self.malformed("constant holds NaN or infinity"));
        }
        let wmax = self.weight_max();
        let scale = if max == 0.0 { 1.0 } else { max / wmax };
        let data = c
            .data
            .iter()
            .map(|v| (v / scale).round_ties_even().clamp(-wmax, wmax))
            .collect();
        Ok(Affine {
            src: Src::Const(ConstTensor {
                dtype: DType::I8,
                shape: c.shape.clone(),
                data,
            }),
            scales: vec![scale],
            zeros: vec![0],
            axis: 0,
            clip: None,
            wide: false,
        })
    }

    /// Quantizes a float constant per channel along `axis` (weights).
    pub(crate) fn const_affine_per_channel(&self, c: &ConstTensor, axis: usize) -> Result<Affine> {
        let ch = c.shape[axis];
        let inner: usize = c.shape[axis + 1..].iter().product();
        let mut max = vec![0f64; ch];
        for (i, v) in c.data.iter().enumerate() {
            let k = (i / inner) % ch;
            max[k] = max[k].max(v.abs());
        }
        if max.iter().any(|m| !m.is_finite()) {
            return Err(self.malformed("weights hold NaN or infinity"));
        }
        // a channel far smaller than the largest (a near-dead neuron) is
        // quantized at 1/256 of the largest channel's scale: its weights use
        // fewer levels, and the requantization multipliers of the layer span
        // at most 8 bits (so their shift, and the range checks, stay short)
        let wmax = self.weight_max();
        let floor = max.iter().cloned().fold(0f64, f64::max) / wmax / 256.0;
        let scales: Vec<f64> = max
            .iter()
            .map(|&m| if m == 0.0 { 1.0 } else { (m / wmax).max(floor) })
            .collect();
        let data = c
            .data
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (v / scales[(i / inner) % ch])
                    .round_ties_even()
                    .clamp(-wmax, wmax)
            })
            .collect();
        Ok(Affine {
            src: Src::Const(ConstTensor {
                dtype: DType::I8,
                shape: c.shape.clone(),
                data,
            }),
            zeros: vec![0; ch],
            scales,
            axis,
            clip: None,
            wide: false,
        })
    }
}

/// Asymmetric quantization of a real range `[lo, hi]` (widened to contain 0)
/// onto signed `bits`-bit integers.
pub fn qparams_for_range(lo: f64, hi: f64, bits: u32) -> QParams {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let (qlo, qhi) = (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1);
    let span = (hi - lo).max(1e-8);
    let scale = ((span / (qhi - qlo) as f64) as f32) as f64;
    let zero = ((qlo as f64 - lo / scale).round() as i64).clamp(qlo, qhi);
    QParams {
        scale,
        zero,
        lo: qlo,
        hi: qhi,
    }
}

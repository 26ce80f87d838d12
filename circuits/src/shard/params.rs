//! The shard circuit's parameters: which chips a plan needs and how many
//! range lanes ([`ShardParams`], recorded in key files), the model id, and
//! each op's chip parameters derived from the plan (requantizations,
//! divisions, comparison widths, softmax tables).

use super::ShardCircuit;
use crate::chips::divide::{DivideParams, SqrtParams};
use crate::chips::rescale::{RescaleParams, Second};
use crate::ops::index::pool_windows;
use crate::plan::{CheckedPlan, Node, Op};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use serde::{Deserialize, Serialize};

/// The identity of a plan as a field element (its SHA-256, top byte dropped).
pub fn model_id(plan: &CheckedPlan) -> Fr {
    let hex = plan.hash_hex();
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().take(31).enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    bytes.reverse();
    bytes[31] = 0;
    let mut repr = [0u8; 32];
    repr.copy_from_slice(&bytes);
    use halo2_proofs::halo2curves::ff::PrimeField;
    Option::<Fr>::from(Fr::from_repr(repr)).unwrap_or(Fr::ZERO)
}

/// The shape of a shard circuit's constraint system: how many range-check
/// lanes it has and which chips it configures ([`chips`] flags; the range
/// checks, tensor packing and Poseidon are always there). Key files record
/// it (the verifying key is read back through `configure_with_params`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardParams {
    pub range_lanes: u32,
    pub chips: u32,
}

/// Chip flags of [`ShardParams::chips`].
pub mod chips {
    /// Freivalds products (MatMul, Conv)
    pub const MATMUL: u32 = 1;
    /// window maxima (MaxPool, Softmax's maximum)
    pub const MAXPOOL: u32 = 2;
    /// table lookups (Sigmoid/Tanh, Softmax's exponentials)
    pub const LOOKUP: u32 = 4;
    /// requantization (Rescale, Add, Mul, Clamp)
    pub const RESCALE: u32 = 8;
    /// rounded divisions and running sums (AvgPool, Softmax), on the rescale
    /// chip's columns
    pub const DIVIDE: u32 = 16;
    /// products by one constant column on the bank (row sums)
    pub const DOT: u32 = 32;
    /// every chip
    pub const ALL: u32 = MATMUL | MAXPOOL | LOOKUP | RESCALE | DIVIDE | DOT;
}

impl Default for ShardParams {
    fn default() -> Self {
        ShardParams {
            range_lanes: 1,
            chips: chips::ALL,
        }
    }
}

/// The chips a plan's ops need.
pub(super) fn chips_used(plan: &CheckedPlan) -> u32 {
    plan.nodes.iter().fold(0, |acc, n| {
        acc | match &n.op {
            Op::MatMul { .. } if is_dot(plan, n) => chips::DOT,
            Op::MatMul { .. } | Op::Conv { .. } => chips::MATMUL,
            Op::MaxPool { .. } => chips::MAXPOOL,
            Op::Lookup { .. } => chips::LOOKUP,
            Op::Softmax { .. } => chips::MAXPOOL | chips::LOOKUP | chips::DIVIDE,
            Op::AvgPool { .. } | Op::AvgPoolF32 { .. } | Op::Sqrt { .. } | Op::Div { .. } => {
                chips::DIVIDE
            }
            Op::Rescale { .. } | Op::Add { .. } | Op::Mul { .. } | Op::Clamp { .. } => {
                chips::RESCALE
            }
            _ => 0,
        }
    })
}

/// A MatMul by one constant column (`[K, 1]`: a row sum), laid out by
/// the dot chip on the bank instead of the Freivalds chip.
pub(super) fn is_dot(plan: &CheckedPlan, n: &Node) -> bool {
    matches!(n.op, Op::MatMul { .. })
        && plan.is_const(n.inputs[1])
        && matches!(plan.info(n.inputs[1]).shape.as_slice(), [_, 1])
}

/// The bank's advice and fixed columns for circuits using `chips` (wider
/// with the divide chip).
pub(super) fn bank_width(chips: u32) -> (usize, usize) {
    use crate::chips::{divide, rescale};
    if chips & chips::DIVIDE != 0 {
        (divide::ADVICE, divide::FIXED.max(rescale::WIDE_FIXED))
    } else {
        (rescale::ADVICE, rescale::FIXED)
    }
}

/// The most range lanes a circuit may have (key files asking for more are
/// rejected before anything is built).
pub const MAX_RANGE_LANES: u32 = 16;

impl ShardCircuit {
    /// The divisions of an AvgPool (one per output, with its number of taps
    /// inside the input) or a Softmax (one parameter set for every element,
    /// with the lane length).
    pub(super) fn division_params(plan: &CheckedPlan, n: &Node) -> Vec<(DivideParams, usize)> {
        let x = plan.info(n.inputs[0]);
        match &n.op {
            Op::AvgPool {
                kernel,
                strides,
                pads,
                count_include_pad,
                in_zero,
                mult,
                shift,
                out_zero,
                lo,
                hi,
            }
            | Op::AvgPoolF32 {
                kernel,
                strides,
                pads,
                count_include_pad,
                in_zero,
                mult,
                shift,
                out_zero,
                lo,
                hi,
                ..
            } => {
                let relaxed = matches!(n.op, Op::AvgPoolF32 { .. });
                pool_windows(&x.shape, &n.info.shape, *kernel, *strides, *pads, [1, 1])
                    .iter()
                    .map(|w| {
                        let taps = w.len() as i64;
                        let count = if *count_include_pad {
                            (kernel[0] * kernel[1]) as i128
                        } else {
                            taps.max(1) as i128
                        };
                        let d = count.checked_shl(*shift).unwrap_or(0);
                        // AvgPoolF32: N M / d with both scaled so that d >= 2^12,
                        // and the slack e = d/64 + 2: nearest integers, either
                        // one only within 1/128 + 1/4096 < 1/64 of a tie (the
                        // compiler bounds the float error below 1/128)
                        let k = if relaxed {
                            12u32.saturating_sub(128 - (d.max(1) as u128).leading_zeros())
                        } else {
                            0
                        };
                        let (m, d) = (
                            i64::try_from((*mult as i128) << k).unwrap_or(i64::MAX),
                            d << k,
                        );
                        let p = DivideParams {
                            mult: m,
                            out_zero: *out_zero,
                            lo: *lo,
                            hi: *hi,
                            n_lo: taps.saturating_mul(x.range.lo.saturating_sub(*in_zero)),
                            n_hi: taps.saturating_mul(x.range.hi.saturating_sub(*in_zero)),
                            d_lo: d,
                            d_hi: d,
                            slack: if relaxed { d / 64 + 2 } else { 0 },
                        };
                        (p, w.len())
                    })
                    .collect()
            }
            Op::Softmax {
                axis,
                out_mult,
                out_zero,
                lo,
                hi,
                ..
            } => {
                let table = softmax_table(plan, n);
                let len = x.shape.get(*axis as usize).copied().unwrap_or(1);
                let (tmin, tmax) = (
                    table.iter().copied().min().unwrap_or(0).min(0),
                    table.iter().copied().max().unwrap_or(0).max(0),
                );
                let p = DivideParams {
                    mult: *out_mult,
                    out_zero: *out_zero,
                    lo: *lo,
                    hi: *hi,
                    n_lo: tmin,
                    n_hi: tmax,
                    // the lane's maximum reads table[0]
                    d_lo: table.first().copied().unwrap_or(0) as i128,
                    d_hi: (tmax as i128).saturating_mul(len as i128).max(1),
                    slack: 0,
                };
                vec![(p, len)]
            }
            // one division per divisor (per row, or per element)
            Op::Div {
                mult,
                out_zero,
                lo,
                hi,
            } => {
                let b = plan.info(n.inputs[1]);
                let p = DivideParams {
                    mult: *mult,
                    out_zero: *out_zero,
                    lo: *lo,
                    hi: *hi,
                    n_lo: x.range.lo,
                    n_hi: x.range.hi,
                    d_lo: (b.range.lo as i128).max(1),
                    d_hi: (b.range.hi as i128).max(1),
                    slack: 0,
                };
                let per = x.len() / b.len().max(1);
                vec![(p, per); b.len()]
            }
            _ => Vec::new(),
        }
    }

    /// A square root's parameters.
    pub(super) fn sqrt_params(plan: &CheckedPlan, n: &Node) -> Option<SqrtParams> {
        let Op::Sqrt { bias } = &n.op else {
            return None;
        };
        let x = plan.info(n.inputs[0]).range;
        Some(SqrtParams {
            bias: *bias,
            x_lo: x.lo,
            x_hi: x.hi,
        })
    }

    pub(super) fn pool_bits(&self, n: &Node) -> u32 {
        let r = self.plan.info(n.inputs[0]).range;
        let span = (r.hi as i128 - r.lo as i128).max(1) as u128;
        128 - span.leading_zeros()
    }

    /// The rescale chip's parameters for a Rescale or an Add node.
    pub(super) fn rescale_params(&self, n: &Node) -> RescaleParams {
        let x = self.plan.info(n.inputs[0]).range;
        match &n.op {
            Op::Rescale {
                in_zero,
                mult,
                bias,
                shift,
                out_zero,
                lo,
                hi,
                ..
            } => RescaleParams {
                in_zero: *in_zero,
                mult: mult.clone(),
                bias: bias.clone(),
                shift: *shift,
                out_zero: *out_zero,
                lo: *lo,
                hi: *hi,
                x_lo: x.lo,
                x_hi: x.hi,
                second: None,
            },
            // a sum or a product of two operands: the first as the rescale's
            // input, the second through `Second`
            Op::Add {
                a_zero,
                b_zero,
                a_mult: mult,
                shift,
                out_zero,
                lo,
                hi,
                ..
            }
            | Op::Mul {
                a_zero,
                b_zero,
                mult,
                shift,
                out_zero,
                lo,
                hi,
            } => {
                let y = self.plan.info(n.inputs[1]).range;
                let (second_mult, product) = match &n.op {
                    Op::Add { b_mult, .. } => (*b_mult, false),
                    _ => (0, true),
                };
                RescaleParams {
                    in_zero: *a_zero,
                    mult: vec![*mult],
                    bias: vec![],
                    shift: *shift,
                    out_zero: *out_zero,
                    lo: *lo,
                    hi: *hi,
                    x_lo: x.lo,
                    x_hi: x.hi,
                    second: Some(Second {
                        in_zero: *b_zero,
                        mult: second_mult,
                        x_lo: y.lo,
                        x_hi: y.hi,
                        product,
                        square: product
                            && n.inputs[0] == n.inputs[1]
                            && self.plan.info(n.inputs[0]).shape == n.info.shape,
                    }),
                }
            }
            // a clamp is a rescale by 1 with its bounds
            Op::Clamp { lo, hi } => RescaleParams {
                in_zero: 0,
                mult: vec![1],
                bias: vec![],
                shift: 0,
                out_zero: 0,
                lo: *lo,
                hi: *hi,
                x_lo: x.lo,
                x_hi: x.hi,
                second: None,
            },
            _ => unreachable!("a rescale, add or clamp node"),
        }
    }
}

/// A softmax's exponential table over every possible `max - x` of its input
/// range: entries past the plan's table read 0, as the executor does.
pub(crate) fn softmax_table(plan: &CheckedPlan, n: &Node) -> Vec<i64> {
    let Op::Softmax { exp_table, .. } = &n.op else {
        return Vec::new();
    };
    let r = plan.info(n.inputs[0]).range;
    let span = (r.hi as i128 - r.lo as i128).clamp(0, 1 << 20) as usize;
    (0..=span)
        .map(|d| exp_table.get(d).copied().unwrap_or(0))
        .collect()
}

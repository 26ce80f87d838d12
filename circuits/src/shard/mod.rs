//! `ShardCircuit`: a checked plan (a whole model, or one shard of it cut by
//! [`partition`]) as one halo2 circuit. Public instances: the model
//! identity, the shard index and Poseidon commitments to the shard's input
//! and output tensors.
//!
//! Every Plan op is proven: MatMul (constant or witnessed right operand,
//! batched) and Conv (any batch and groups, im2col) through the Freivalds
//! chip; Rescale, Add, Mul and Clamp through the rescale chip; AvgPool and
//! Softmax through the divide chip's running sums and rounded divisions
//! (Softmax's maximum through the maxpool chip, its exponentials through
//! the shared lookup table); MaxPool; Lookup (one shared tagged table);
//! Reshape, Transpose and Concat as wiring. [`ShardCircuit::new`] rejects
//! only plans whose parameters do not fit the chips.

use crate::chips::divide::{sum_rows, DivideConfig, DivideParams, Divisor};
use crate::chips::lookup::LookupConfig;
use crate::chips::matmul::{MatMulConfig, MatMulPhase1, Weights};
use crate::chips::maxpool::MaxPoolConfig;
use crate::chips::poseidon::{PoseidonConfig, Wire};
use crate::chips::range::RangeConfig;
use crate::chips::rescale::{RescaleConfig, RescaleParams, Second};
use crate::field::fe;
use crate::mutation;
use crate::plan::{CheckedPlan, Op, TensorId};
use crate::poseidon::{commit_tensor, Packing};
use crate::Trace;
use halo2_proofs::circuit::{Layouter, Region, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Error, FirstPhase, Fixed, Instance, SecondPhase,
    Selector,
};
use halo2_proofs::poly::Rotation;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;

mod forge;
use forge::ForgeAt;
#[cfg(test)]
use forge::Forges;

mod circuit;
#[cfg(test)]
mod const_tests;
mod division;
mod partition;
mod size;
#[cfg(test)]
pub(crate) mod tests;

pub use partition::{
    check_partition, cut_points, partition, partition_into, slice, ShardSpec, SizedShard,
};

#[derive(Debug, Error, PartialEq)]
pub enum ShardError {
    #[error("node {node} ({name}): {op} is not supported by the shard circuit yet")]
    Unsupported {
        node: usize,
        name: String,
        op: String,
    },
    #[error("node {node} ({name}): {reason}")]
    Shape {
        node: usize,
        name: String,
        reason: String,
    },
    #[error("the plan has {0} inputs and outputs; shard circuits take one of each")]
    Arity(usize),
    #[error("partition: {0}")]
    Partition(String),
    #[error("nodes {start}..{end} ({names}) need 2^{k} rows in one shard, more than --max-log-rows {max_k} allows; raise it to at least {k}")]
    TooLarge {
        start: usize,
        end: usize,
        names: String,
        k: u32,
        max_k: u32,
    },
}

/// Columns of the shard circuit.
#[derive(Clone, Debug)]
pub struct ShardConfig {
    src: Column<Advice>,
    consts: Column<Fixed>,
    const_on: Selector,
    instance: Column<Instance>,
    pack_val: Column<Advice>,
    pack_u: Column<Advice>,
    pack_acc: Column<Advice>,
    pack_base: Column<Fixed>,
    pack_lo: Column<Fixed>,
    pack_step: Selector,
    pack_start: Selector,
    /// (tests) the circuit's forged cells
    #[cfg(test)]
    forges: Forges,
    range: RangeConfig,
    /// the chips a circuit uses (ShardParams::chips); the others are not
    /// configured at all, so they cost no columns, gates or lookups
    rescale: Option<RescaleConfig>,
    /// rounded divisions and running sums (AvgPool, Softmax), on the rescale
    /// chip's columns and rows
    divide: Option<DivideConfig>,
    matmul: Option<MatMulConfig>,
    maxpool: Option<MaxPoolConfig>,
    lookup: Option<LookupConfig>,
    poseidon: PoseidonConfig,
}

impl ShardConfig {
    /// A chip this circuit was configured with (a missing one is a
    /// synthesis error: the parameters do not match the plan).
    fn chip<T>(c: &Option<T>) -> Result<&T, Error> {
        c.as_ref().ok_or(Error::Synthesis)
    }
    fn rescale(&self) -> Result<&RescaleConfig, Error> {
        Self::chip(&self.rescale)
    }
    fn divide(&self) -> Result<&DivideConfig, Error> {
        Self::chip(&self.divide)
    }
    fn matmul(&self) -> Result<&MatMulConfig, Error> {
        Self::chip(&self.matmul)
    }
    fn maxpool(&self) -> Result<&MaxPoolConfig, Error> {
        Self::chip(&self.maxpool)
    }
    fn lookup(&self) -> Result<&LookupConfig, Error> {
        Self::chip(&self.lookup)
    }

    /// The witness value `v` of the cell at `at`: `v` itself, but in this
    /// crate's tests a cheating prover's replacement when one is set.
    #[inline(always)]
    fn forged(&self, at: ForgeAt, v: Value<Fr>) -> Value<Fr> {
        #[cfg(test)]
        {
            self.forges.apply(at, v)
        }
        #[cfg(not(test))]
        {
            let _ = at;
            v
        }
    }
}

/// Row counters of each column group inside the one region.
#[derive(Default)]
struct Cursor {
    /// the shared bank (inputs and constants, packing, Poseidon,
    /// requantization and divisions, maxpool)
    bank: usize,
    range: usize,
    matmul: usize,
    lookup: usize,
    /// lookup table rows (row 0 stays the all-zero entry)
    table: usize,
}

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
    /// every chip
    pub const ALL: u32 = MATMUL | MAXPOOL | LOOKUP | RESCALE | DIVIDE;
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
fn chips_used(plan: &CheckedPlan) -> u32 {
    plan.nodes.iter().fold(0, |acc, n| {
        acc | match &n.op {
            Op::MatMul { .. } | Op::Conv { .. } => chips::MATMUL,
            Op::MaxPool { .. } => chips::MAXPOOL,
            Op::Lookup { .. } => chips::LOOKUP,
            Op::Softmax { .. } => chips::MAXPOOL | chips::LOOKUP | chips::DIVIDE,
            Op::AvgPool { .. } => chips::DIVIDE,
            Op::Rescale { .. } | Op::Add { .. } | Op::Mul { .. } | Op::Clamp { .. } => {
                chips::RESCALE
            }
            _ => 0,
        }
    })
}

/// The most range lanes a circuit may have (key files asking for more are
/// rejected before anything is built).
pub const MAX_RANGE_LANES: u32 = 16;

#[derive(Clone, Debug)]
pub struct ShardCircuit {
    plan: CheckedPlan,
    params: ShardParams,
    /// the identity of the whole model (its plan's hash)
    model: Fr,
    index: u32,
    values: Option<Vec<Vec<i64>>>,
    /// (tests) a cheating prover's cells
    #[cfg(test)]
    forges: Forges,
}

impl ShardCircuit {
    /// The circuit of the whole plan as shard `index`; `trace` carries the
    /// witness (None for key generation).
    pub fn new(
        plan: CheckedPlan,
        index: u32,
        trace: Option<&Trace>,
    ) -> Result<ShardCircuit, ShardError> {
        if plan.inputs.len() != 1 || plan.outputs.len() != 1 {
            return Err(ShardError::Arity(plan.inputs.len() + plan.outputs.len()));
        }
        for (i, n) in plan.nodes.iter().enumerate() {
            let ok = match &n.op {
                Op::Input { .. }
                | Op::Const { .. }
                | Op::Reshape
                | Op::Rescale { .. }
                | Op::MaxPool { .. }
                | Op::Lookup { .. }
                | Op::Clamp { .. }
                | Op::Transpose { .. }
                | Op::Concat { .. }
                | Op::Mul { .. }
                | Op::Add { .. } => true,
                Op::Conv { .. } => n.inputs[1..].iter().all(|&t| plan.is_const(t)),
                Op::MatMul { .. } => n.inputs.get(2).is_none_or(|&t| plan.is_const(t)),
                Op::AvgPool { .. } | Op::Softmax { .. } => {
                    let all_ok = Self::division_params(&plan, n)
                        .iter()
                        .all(|(p, _)| p.validate().is_ok());
                    let r = plan.info(n.inputs[0]).range;
                    let span_ok = !matches!(n.op, Op::Softmax { .. })
                        || (r.hi as i128 - r.lo as i128) <= 1 << 20;
                    if !all_ok || !span_ok {
                        return Err(ShardError::Shape {
                            node: i,
                            name: n.name.clone(),
                            reason: "its division does not fit the divide chip (divisor below 1 or operands too wide)".into(),
                        });
                    }
                    true
                }
            };
            if !ok {
                return Err(ShardError::Unsupported {
                    node: i,
                    name: n.name.clone(),
                    op: n.op.kind().to_string(),
                });
            }
        }
        let values = trace.map(|t| {
            t.values
                .iter()
                .map(|a| a.iter().copied().collect())
                .collect()
        });
        let mut c = ShardCircuit {
            model: model_id(&plan),
            plan,
            params: ShardParams::default(),
            index,
            values,
            #[cfg(test)]
            forges: Forges::default(),
        };
        c.params.chips = chips_used(&c.plan);
        c.params.range_lanes = c.best_lanes();
        Ok(c)
    }

    fn tensor_values(&self, t: TensorId) -> Vec<Value<Fr>> {
        let n = self.plan.info(t).len();
        match &self.values {
            Some(v) => v[t as usize]
                .iter()
                .map(|&x| Value::known(fe(x as i128)))
                .collect(),
            None => vec![Value::unknown(); n],
        }
    }

    /// The witness values of tensor `t` (zeros without a witness).
    fn values_or_zero(&self, t: TensorId, len: usize) -> Vec<i64> {
        match &self.values {
            Some(v) => v[t as usize].clone(),
            None => vec![0; len],
        }
    }

    fn packing(&self, t: TensorId) -> Packing {
        let r = self.plan.info(t).range;
        Packing::for_range(r.lo, r.hi)
    }

    /// The public instances: model id, shard index, input and output
    /// commitments (requires the witness).
    pub fn instances(&self) -> Option<Vec<Fr>> {
        let v = self.values.as_ref()?;
        let (i, o) = (self.input_tensor(), self.plan.outputs[0].tensor);
        Some(vec![
            self.model,
            Fr::from(self.index as u64),
            commit_tensor(&v[i as usize], self.packing(i)),
            commit_tensor(&v[o as usize], self.packing(o)),
        ])
    }

    fn input_tensor(&self) -> TensorId {
        self.plan
            .nodes
            .iter()
            .position(|n| matches!(n.op, Op::Input { .. }))
            .unwrap_or(0) as TensorId
    }

    /// The constraint-system parameters (range lanes) of this circuit.
    pub fn params(&self) -> ShardParams {
        self.params
    }

    /// The divisions of an AvgPool (one per output, with its number of taps
    /// inside the input) or a Softmax (one parameter set for every element,
    /// with the lane length).
    fn division_params(plan: &CheckedPlan, n: &crate::plan::Node) -> Vec<(DivideParams, usize)> {
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
            } => pool_windows(&x.shape, &n.info.shape, *kernel, *strides, *pads, [1, 1])
                .iter()
                .map(|w| {
                    let taps = w.len() as i64;
                    let count = if *count_include_pad {
                        (kernel[0] * kernel[1]) as i128
                    } else {
                        taps.max(1) as i128
                    };
                    let d = count.checked_shl(*shift).unwrap_or(0);
                    let p = DivideParams {
                        mult: *mult,
                        out_zero: *out_zero,
                        lo: *lo,
                        hi: *hi,
                        n_lo: taps.saturating_mul(x.range.lo.saturating_sub(*in_zero)),
                        n_hi: taps.saturating_mul(x.range.hi.saturating_sub(*in_zero)),
                        d_lo: d,
                        d_hi: d,
                    };
                    (p, w.len())
                })
                .collect(),
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
                };
                vec![(p, len)]
            }
            _ => Vec::new(),
        }
    }

    fn pool_bits(&self, n: &crate::plan::Node) -> u32 {
        let r = self.plan.info(n.inputs[0]).range;
        let span = (r.hi as i128 - r.lo as i128).max(1) as u128;
        128 - span.leading_zeros()
    }

    /// The rescale chip's parameters for a Rescale or an Add node.
    fn rescale_params(&self, n: &crate::plan::Node) -> RescaleParams {
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

/// The flat index into a tensor of shape `input` that numpy broadcasting
/// reads for flat output index `k` of shape `out`.
fn broadcast_index(k: usize, out: &[usize], input: &[usize]) -> usize {
    let mut rem = k;
    let mut coords = vec![0; out.len()];
    for d in (0..out.len()).rev() {
        coords[d] = rem % out[d];
        rem /= out[d];
    }
    let skip = out.len() - input.len();
    input.iter().enumerate().fold(0, |acc, (d, &size)| {
        acc * size + if size == 1 { 0 } else { coords[skip + d] }
    })
}

/// For every output element of a 2-D pooling (NCHW, any batch), the flat
/// input indices of its taps inside the input (padding taps left out).
pub(crate) fn pool_windows(
    input: &[usize],
    output: &[usize],
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
) -> Vec<Vec<usize>> {
    let (planes, h, wd) = (input[0] * input[1], input[2], input[3]);
    let (oh, ow) = (output[2], output[3]);
    let mut out = Vec::with_capacity(planes * oh * ow);
    for plane in 0..planes {
        for y in 0..oh {
            for xx in 0..ow {
                let mut taps = Vec::with_capacity(kernel[0] * kernel[1]);
                for ky in 0..kernel[0] {
                    for kx in 0..kernel[1] {
                        let iy = (y * strides[0] + ky * dilations[0]) as isize - pads[0] as isize;
                        let ix = (xx * strides[1] + kx * dilations[1]) as isize - pads[1] as isize;
                        if iy >= 0 && (iy as usize) < h && ix >= 0 && (ix as usize) < wd {
                            taps.push((plane * h + iy as usize) * wd + ix as usize);
                        }
                    }
                }
                out.push(taps);
            }
        }
    }
    out
}

/// A softmax's exponential table over every possible `max - x` of its input
/// range: entries past the plan's table read 0, as the executor does.
pub(crate) fn softmax_table(plan: &CheckedPlan, n: &crate::plan::Node) -> Vec<i64> {
    let Op::Softmax { exp_table, .. } = &n.op else {
        return Vec::new();
    };
    let r = plan.info(n.inputs[0]).range;
    let span = (r.hi as i128 - r.lo as i128).clamp(0, 1 << 20) as usize;
    (0..=span)
        .map(|d| exp_table.get(d).copied().unwrap_or(0))
        .collect()
}

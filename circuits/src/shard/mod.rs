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
//! a function lookup); MaxPool; Lookup (function lookups share range lane
//! 0's lookup argument and its tagged table);
//! Reshape, Transpose and Concat as wiring. [`ShardCircuit::new`] rejects
//! only plans whose parameters do not fit the chips.

#[cfg(test)]
mod bundle_tests;
mod circuit;
mod commit;
mod config;
#[cfg(test)]
mod const_tests;
mod division;
mod error;
#[cfg(test)]
mod float_pool_tests;
mod forge;
mod linear;
mod lookup;
mod params;
mod partition;
mod pool;
mod requant;
mod size;
mod synth;
#[cfg(test)]
pub(crate) mod tests;
mod wiring;

pub use config::ShardConfig;
pub use error::ShardError;
pub use params::{chips, model_id, ShardParams, MAX_RANGE_LANES};
pub use partition::{
    bundle_cut_points, check_partition, crossing, cut_points, partition, partition_into, slice,
    ShardSpec, SizedShard, MAX_BUNDLE, MAX_BUNDLE_TENSORS,
};
pub use size::{node_rows, NodeRows};

use crate::field::fe;
use crate::plan::{CheckedPlan, Op, TensorId};
use crate::poseidon::{commit_tensor, Packing};
use crate::Trace;
#[cfg(test)]
use forge::Forges;
use halo2_proofs::circuit::Value;
use halo2_proofs::halo2curves::bn256::Fr;
use params::chips_used;

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
        let model = model_id(&plan);
        ShardCircuit::with_model(plan, model, index, trace)
    }

    /// [`Self::new`] claiming the model id `model` (a shard's is the full
    /// plan's, so its slice is never hashed; sizing needs none).
    pub(crate) fn with_model(
        plan: CheckedPlan,
        model: Fr,
        index: u32,
        trace: Option<&Trace>,
    ) -> Result<ShardCircuit, ShardError> {
        if plan.inputs.len() != 1 || plan.outputs.len() != 1 {
            return Err(ShardError::Arity {
                inputs: plan.inputs.len(),
                outputs: plan.outputs.len(),
            });
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
                | Op::Gather { .. }
                | Op::Mul { .. }
                | Op::Add { .. } => true,
                Op::Conv { .. } => n.inputs[1..].iter().all(|&t| plan.is_const(t)),
                Op::MatMul { .. } => n.inputs.get(2).is_none_or(|&t| plan.is_const(t)),
                Op::Sqrt { .. } => {
                    if Self::sqrt_params(&plan, n).is_none_or(|p| p.validate().is_err()) {
                        return Err(ShardError::DivisionTooWide {
                            node: i,
                            name: n.name.clone(),
                        });
                    }
                    true
                }
                Op::AvgPool { .. }
                | Op::AvgPoolF32 { .. }
                | Op::Softmax { .. }
                | Op::Div { .. } => {
                    let all_ok = Self::division_params(&plan, n)
                        .iter()
                        .all(|(p, _)| p.validate().is_ok());
                    let r = plan.info(n.inputs[0]).range;
                    let span_ok = !matches!(n.op, Op::Softmax { .. })
                        || (r.hi as i128 - r.lo as i128) <= 1 << 20;
                    if !all_ok || !span_ok {
                        return Err(ShardError::DivisionTooWide {
                            node: i,
                            name: n.name.clone(),
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
            model,
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

    /// The same circuit, claiming the model id `id` as its first public
    /// instance. Anyone can build such a circuit (the id is a constant it
    /// exposes): its verifying key then is not the one the model gives,
    /// which is what pinned or rebuilt keys catch. For verifiers' tests.
    #[doc(hidden)]
    pub fn claiming_model(mut self, id: Fr) -> ShardCircuit {
        self.model = id;
        self
    }

    /// The shard's index in its chain.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The constraint-system parameters (range lanes) of this circuit.
    pub fn params(&self) -> ShardParams {
        self.params
    }
}

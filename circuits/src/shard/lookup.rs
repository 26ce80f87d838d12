//! Table lookups (Sigmoid, Tanh, any function of one integer) on the
//! shared tagged table (range lane 0's lookup): node `i`'s table is tagged
//! `i + 1` ([`ShardCircuit::function_tables`]).

use super::params::softmax_table;
use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::poseidon::Wire;
use crate::plan::{Node, Op};
use halo2_proofs::plonk::Error;

impl ShardCircuit {
    /// The function tables of the shard's Lookup and Softmax nodes: (tag,
    /// first input, values), node `i`'s tagged `i + 1`.
    pub(super) fn function_tables(&self) -> Vec<(u64, i64, Vec<i64>)> {
        let plan = &self.plan;
        plan.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match &n.op {
                Op::Lookup { in_lo, table } => Some((i as u64 + 1, *in_lo, table.clone())),
                Op::Softmax { .. } => Some((i as u64 + 1, 0, softmax_table(plan, n))),
                _ => None,
            })
            .collect()
    }

    pub(super) fn assign_lookup(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
        i: usize,
    ) -> Result<Vec<Wire>, Error> {
        let Op::Lookup { in_lo, table } = &n.op else {
            return Err(Error::Synthesis);
        };
        let tag = i as u64 + 1;
        let x = s.operand(n.inputs[0])?;
        let xv: Vec<i64> = match &self.values {
            Some(v) => v[n.inputs[0] as usize].clone(),
            None => vec![*in_lo; x.len()],
        };
        let xs: Vec<(Wire, i64)> = x.into_iter().zip(xv).collect();
        let ys =
            s.config
                .lookup()?
                .assign(s.region, s.cur.lookup, tag, *in_lo, table, &xs, None)?;
        s.cur.lookup += xs.len();
        Ok(ys)
    }
}

//! Table lookups (Sigmoid, Tanh, any function of one integer) on the
//! shared tagged table: node `i`'s table is tagged `i + 1`.

use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::poseidon::Wire;
use crate::plan::{Node, Op};
use halo2_proofs::plonk::Error;

impl ShardCircuit {
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
        s.cur.table = s
            .config
            .lookup()?
            .assign_table(s.region, s.cur.table, tag, *in_lo, table);
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

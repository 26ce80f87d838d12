//! Transpose, Concat and Gather: no constraints, the output is the operands' wires
//! in the order the index maps of `ops::index` give (Reshape keeps the
//! wires as they are).

use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::poseidon::Wire;
use crate::ops::index::{concat_runs, transpose_map};
use crate::plan::Node;
use halo2_proofs::plonk::Error;

impl ShardCircuit {
    pub(super) fn assign_transpose(
        &self,
        s: &Synth<'_, '_>,
        n: &Node,
        perm: &[u32],
    ) -> Result<Vec<Wire>, Error> {
        let x = s.operand(n.inputs[0])?;
        Ok(transpose_map(&self.plan.info(n.inputs[0]).shape, perm)
            .into_iter()
            .map(|j| x[j])
            .collect())
    }

    pub(super) fn assign_concat(
        &self,
        s: &Synth<'_, '_>,
        n: &Node,
        axis: u32,
    ) -> Result<Vec<Wire>, Error> {
        let parts = n
            .inputs
            .iter()
            .map(|&t| s.operand(t))
            .collect::<Result<Vec<_>, _>>()?;
        let shapes: Vec<&[usize]> = n
            .inputs
            .iter()
            .map(|&t| self.plan.info(t).shape.as_slice())
            .collect();
        let mut out = Vec::with_capacity(n.info.len());
        for (operand, start, len) in concat_runs(&shapes, axis as usize) {
            out.extend_from_slice(&parts[operand][start..start + len]);
        }
        Ok(out)
    }
}

impl ShardCircuit {
    pub(super) fn assign_gather(
        &self,
        s: &Synth<'_, '_>,
        n: &Node,
        map: &[u32],
    ) -> Result<Vec<Wire>, Error> {
        let mut cat = Vec::new();
        for &t in &n.inputs {
            cat.extend(s.operand(t)?);
        }
        Ok(map.iter().map(|&j| cat[j as usize]).collect())
    }
}

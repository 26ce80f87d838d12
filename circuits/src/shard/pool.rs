//! Max pooling on the maxpool chip: one window per output, its taps from
//! [`pool_windows`] (padding taps left out: they never win).

use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::poseidon::Wire;
use crate::ops::index::pool_windows;
use crate::plan::{Node, Op};
use halo2_proofs::plonk::Error;

impl ShardCircuit {
    pub(super) fn assign_max_pool(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
    ) -> Result<Vec<Wire>, Error> {
        let Op::MaxPool {
            kernel,
            strides,
            pads,
            dilations,
            ..
        } = &n.op
        else {
            return Err(Error::Synthesis);
        };
        let x = s.operand(n.inputs[0])?;
        let xv = self.values_or_zero(n.inputs[0], x.len());
        let bits = self.pool_bits(n);
        let windows = pool_windows(
            &self.plan.info(n.inputs[0]).shape,
            &n.info.shape,
            *kernel,
            *strides,
            *pads,
            *dilations,
        );
        let mut outs = Vec::with_capacity(n.info.len());
        for window in windows {
            let taps: Vec<(Wire, i64)> = window.iter().map(|&idx| (x[idx], xv[idx])).collect();
            let (out, next, next_range) = s.config.maxpool()?.assign_window(
                s.region,
                s.cur.bank,
                s.cur.range,
                &taps,
                bits,
                self.values.is_some(),
                None,
            )?;
            s.cur.bank = next;
            s.cur.range = next_range;
            outs.push(out);
        }
        Ok(outs)
    }
}

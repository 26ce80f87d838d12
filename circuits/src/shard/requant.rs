//! Requantization on the rescale chip: Rescale (per tensor or per
//! channel, with a bias), Clamp (a rescale by one with bounds), and the
//! broadcasting Add and Mul of two operands (the second through the chip's
//! `Second`); operands are read through the index maps of `ops::index`.

use super::config::{Cursor, ShardConfig};
use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::poseidon::Wire;
use crate::chips::rescale::RescaleParams;
use crate::ops::index::{broadcast_index, channel_of};
use crate::plan::{Node, Op, TensorId};
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::Error;

impl ShardConfig {
    /// Runs the rescale chip over `xs` (and second operands), advancing the
    /// cursors; without a witness the outputs stay unknown.
    pub(super) fn requantize(
        &self,
        region: &mut Region<'_, Fr>,
        cur: &mut Cursor,
        xs: &[(Wire, i64, usize)],
        x2s: Option<&[(Wire, i64)]>,
        params: &RescaleParams,
        known: bool,
    ) -> Result<Vec<Wire>, Error> {
        let chip = self.rescale()?;
        let (ys, next_range) =
            chip.assign_sum(region, cur.bank, cur.range, xs, x2s, params, |_, _| {})?;
        cur.bank += chip.rows(params) * xs.len();
        cur.range = next_range;
        Ok(if known {
            ys
        } else {
            ys.into_iter()
                .map(|w| Wire {
                    cell: w.cell,
                    value: Value::unknown(),
                })
                .collect()
        })
    }
}

impl ShardCircuit {
    /// The witness value of element `k` of tensor `t` (0 without a witness).
    fn value_at(&self, t: TensorId, k: usize) -> i64 {
        self.values.as_ref().map_or(0, |v| v[t as usize][k])
    }

    /// `a + b` or `a · b`, broadcast, requantized.
    pub(super) fn assign_add_mul(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
    ) -> Result<Vec<Wire>, Error> {
        let plan = &self.plan;
        let params = self.rescale_params(n);
        let out_shape = &n.info.shape;
        let (a_t, b_t) = (n.inputs[0], n.inputs[1]);
        let (aw, bw) = (s.operand(a_t)?, s.operand(b_t)?);
        let (ash, bsh) = (&plan.info(a_t).shape, &plan.info(b_t).shape);
        let mut xs = Vec::with_capacity(n.info.len());
        let mut x2s = Vec::with_capacity(n.info.len());
        for k in 0..n.info.len() {
            let (ia, ib) = (
                broadcast_index(k, out_shape, ash),
                broadcast_index(k, out_shape, bsh),
            );
            xs.push((aw[ia], self.value_at(a_t, ia), 0));
            x2s.push((bw[ib], self.value_at(b_t, ib)));
        }
        let known = self.values.is_some();
        s.config
            .requantize(s.region, &mut s.cur, &xs, Some(&x2s), &params, known)
    }

    /// Rescale (per tensor, or per channel along its axis) or Clamp.
    pub(super) fn assign_rescale(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
    ) -> Result<Vec<Wire>, Error> {
        let params = self.rescale_params(n);
        let xw = s.operand(n.inputs[0])?;
        let xv = self.values_or_zero(n.inputs[0], xw.len());
        let shape = &self.plan.info(n.inputs[0]).shape;
        let channel = |k: usize| match &n.op {
            Op::Rescale {
                mult, bias, axis, ..
            } if mult.len() > 1 || bias.len() > 1 => channel_of(k, shape, *axis as usize),
            _ => 0,
        };
        let xs: Vec<(Wire, i64, usize)> = xw
            .into_iter()
            .zip(xv)
            .enumerate()
            .map(|(k, (w, x))| (w, x, channel(k)))
            .collect();
        let known = self.values.is_some();
        s.config
            .requantize(s.region, &mut s.cur, &xs, None, &params, known)
    }
}

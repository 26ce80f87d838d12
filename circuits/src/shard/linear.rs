//! Matrix products and convolutions on the Freivalds chip: the first phase
//! (operands and claimed products as cells) is laid out in node order; the
//! second phase (the challenge-weighted checks) after the output
//! commitment. A convolution is a product of its im2col patches (from
//! [`ConvGeometry::patch`]) with its weights, one per group.

use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::matmul::{rows_for, rows_for_witness, Weights};
use crate::chips::poseidon::Wire;
use crate::field::fe;
use crate::ops::index::{ConvGeometry, MatMulDims};
use crate::plan::{Node, Op, TensorId};
use halo2_proofs::plonk::Error;

impl ShardCircuit {
    /// The constant values of operand `k` of `n`, if it is a constant.
    fn const_operand(&self, n: &Node, k: usize) -> Option<&Vec<i64>> {
        match n.inputs.get(k).map(|&x| &self.plan.nodes[x as usize].op) {
            Some(Op::Const { values }) => Some(values),
            _ => None,
        }
    }

    /// `A · B (+ bias)` with `B` constant (fixed columns) or a witness.
    pub(super) fn assign_matmul(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
        t: TensorId,
    ) -> Result<Vec<Wire>, Error> {
        let Op::MatMul { a_zero, b_zero } = &n.op else {
            return Err(Error::Synthesis);
        };
        let plan = &self.plan;
        if super::params::is_dot(plan, n) {
            return self.assign_dot(s, n, a_zero, b_zero);
        }
        let d = MatMulDims::new(&plan.info(n.inputs[0]).shape, &plan.info(n.inputs[1]).shape);
        let (k, nn) = (d.k, d.n);
        let bias = self.const_operand(n, 2).cloned().unwrap_or_default();
        let b_const = self.const_operand(n, 1);
        let b_wires = match b_const {
            Some(_) => None,
            None => Some(s.operand(n.inputs[1])?),
        };
        let a = s.operand(n.inputs[0])?;
        let c = self.tensor_values(t);
        let rows_per = d.rows_per_product();
        let mut out = Vec::with_capacity(c.len());
        for g in 0..d.products() {
            let kn = k * nn;
            let weights = Weights {
                k,
                n: nn,
                b: b_const
                    .map(|b| b[g * kn..(g + 1) * kn].to_vec())
                    .unwrap_or_default(),
                b_zero: b_zero.clone(),
                bias: bias.clone(),
                witness: b_wires.as_ref().map(|w| w[g * kn..(g + 1) * kn].to_vec()),
            };
            let offset = s.cur.matmul;
            let p1 = s.config.matmul()?.assign_phase1(
                s.region,
                offset,
                &a[g * rows_per * k..(g + 1) * rows_per * k],
                &c[g * rows_per * nn..(g + 1) * rows_per * nn],
                &weights,
            )?;
            s.cur.matmul += if weights.witness.is_some() {
                rows_for_witness(rows_per, k, nn)
            } else {
                rows_for(rows_per, k, nn)
            };
            out.extend(p1.c.iter().copied());
            s.pending.push((offset, p1, weights, *a_zero));
        }
        Ok(out)
    }

    /// `A · b (+ bias)` for a constant column `b` (`[K, 1]`): on the bank,
    /// `c0 + Σ_k w_k a_k` per row with `w_k = b_k - b_zero` and `c0 = bias
    /// - a_zero Σ_k w_k`.
    fn assign_dot(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
        a_zero: &i64,
        b_zero: &[i64],
    ) -> Result<Vec<Wire>, Error> {
        let b = self.const_operand(n, 1).ok_or(Error::Synthesis)?;
        let zero = b_zero.first().copied().unwrap_or(0);
        let w: Vec<i64> = b.iter().map(|&v| v - zero).collect();
        let bias = self
            .const_operand(n, 2)
            .and_then(|v| v.first().copied())
            .unwrap_or(0) as i128;
        let c0 = bias - *a_zero as i128 * w.iter().map(|&v| v as i128).sum::<i128>();
        let a = s.operand(n.inputs[0])?;
        let (ys, next) = s
            .config
            .dot()?
            .assign(s.region, s.cur.bank, &a, &w, c0, |_, _| None)?;
        s.cur.bank = next;
        Ok(ys)
    }

    /// A 2-D convolution (any batch and groups): per group, the product of
    /// the patches (padding reads a cell pinned to the input's zero point)
    /// with the group's weights.
    pub(super) fn assign_conv(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
        t: TensorId,
    ) -> Result<Vec<Wire>, Error> {
        let Op::Conv {
            x_zero,
            w_zero,
            strides,
            pads,
            dilations,
            group,
        } = &n.op
        else {
            return Err(Error::Synthesis);
        };
        let plan = &self.plan;
        let geo = ConvGeometry::new(
            &plan.info(n.inputs[0]).shape,
            &plan.info(n.inputs[1]).shape,
            &n.info.shape,
            *strides,
            *pads,
            *dilations,
            *group,
        );
        let (cog, kp, p_count) = (geo.out_per_group(), geo.taps(), geo.positions());
        let wv = self.const_operand(n, 1).ok_or(Error::Synthesis)?;
        let bias = self.const_operand(n, 2).cloned().unwrap_or_default();
        let x = s.operand(n.inputs[0])?;
        let pad = s
            .config
            .constant(s.region, &mut s.cur, fe(*x_zero as i128))?;
        let out = self.tensor_values(t);
        let mut out_wires = vec![pad; geo.batch * geo.c_out * p_count];
        let mut patch = Vec::with_capacity(kp);
        for gi in 0..geo.group {
            // B[k, o] = w[gi cog + o, k] with k = (ci, ky, kx)
            let b: Vec<i64> = (0..kp)
                .flat_map(|k| (0..cog).map(move |o| (k, o)))
                .map(|(k, o)| wv[geo.weight_index(gi * cog + o, k)])
                .collect();
            let slice = |v: &[i64]| {
                if v.len() > 1 {
                    v[gi * cog..(gi + 1) * cog].to_vec()
                } else {
                    v.to_vec()
                }
            };
            let weights = Weights {
                k: kp,
                n: cog,
                b,
                b_zero: slice(w_zero),
                bias: slice(&bias),
                witness: None,
            };
            // im2col: one row of A per (batch, output position)
            let mut a = Vec::with_capacity(geo.batch * p_count * kp);
            let mut c = Vec::with_capacity(geo.batch * p_count * cog);
            for bi in 0..geo.batch {
                for p in 0..p_count {
                    geo.patch(bi, gi, p, &mut patch);
                    a.extend(patch.iter().map(|tap| tap.map_or(pad, |j| x[j])));
                    for o in gi * cog..(gi + 1) * cog {
                        c.push(out[geo.output_index(bi, o, p)]);
                    }
                }
            }
            let offset = s.cur.matmul;
            let p1 = s
                .config
                .matmul()?
                .assign_phase1(s.region, offset, &a, &c, &weights)?;
            s.cur.matmul += rows_for(geo.batch * p_count, kp, cog);
            for bi in 0..geo.batch {
                for p in 0..p_count {
                    for o in 0..cog {
                        out_wires[geo.output_index(bi, gi * cog + o, p)] =
                            p1.c[(bi * p_count + p) * cog + o];
                    }
                }
            }
            s.pending.push((offset, p1, weights, *x_zero));
        }
        Ok(out_wires)
    }
}

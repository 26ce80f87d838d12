//! The shard circuit's divisions: average pooling (a running sum per window,
//! then a rounded division by the window's count) and softmax (the lane's
//! maximum, table exponentials, their sum, a rounded division per element),
//! both on the divide chip.

use super::params::softmax_table;
use super::synth::Synth;
use super::ShardCircuit;
use crate::chips::divide::{sum_rows, Divisor};
use crate::chips::poseidon::Wire;
use crate::ops::index::{axis_lanes, pool_windows};
use crate::plan::{Node, Op};
use halo2_proofs::plonk::Error;

impl ShardCircuit {
    /// Average pooling of the wires `x` (node `n`'s input); returns the
    /// output wires.
    pub(super) fn assign_avg_pool(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
        t: crate::plan::TensorId,
    ) -> Result<Vec<Wire>, Error> {
        let plan = &self.plan;
        let x = s.operand(n.inputs[0])?;
        let (config, region, cur) = (s.config, &mut *s.region, &mut s.cur);
        let xv = self.values_or_zero(n.inputs[0], x.len());
        let (Op::AvgPool {
            kernel,
            strides,
            pads,
            in_zero,
            ..
        }
        | Op::AvgPoolF32 {
            kernel,
            strides,
            pads,
            in_zero,
            ..
        }) = &n.op
        else {
            return Err(Error::Synthesis);
        };
        // onnxruntime's float32 rounding: the executor's output, within the
        // slack of the division (see `chips::divide`)
        let relaxed = matches!(n.op, Op::AvgPoolF32 { .. });
        let yv = if relaxed {
            self.values_or_zero(t, n.info.len())
        } else {
            Vec::new()
        };
        let windows = pool_windows(
            &plan.info(n.inputs[0]).shape,
            &n.info.shape,
            *kernel,
            *strides,
            *pads,
            [1, 1],
        );
        let divisions = Self::division_params(plan, n);
        let mut outs = Vec::with_capacity(windows.len());
        for (o, (window, (params, _))) in windows.iter().zip(&divisions).enumerate() {
            let terms: Vec<Wire> = window.iter().map(|&i| x[i]).collect();
            let c0 = -(window.len() as i64) * in_zero;
            let sum = config
                .divide()?
                .assign_sum(region, cur.bank, &terms, None, c0, None)?;
            cur.bank += sum_rows(terms.len());
            let sv: i64 = window.iter().map(|&i| xv[i]).sum::<i64>() + c0;
            let (ys, next) = config.divide()?.assign(
                region,
                cur.bank,
                cur.range,
                &[(sum, sv)],
                &Divisor::Const(params.d_lo),
                params,
                |_, row| {
                    if relaxed {
                        *row = relaxed_row(params, sv, yv[o]);
                    }
                },
            )?;
            cur.bank += 1;
            cur.range = next;
            outs.push(ys[0]);
        }
        Ok(outs)
    }

    /// Softmax (node `n`, number `i` in the plan: its table's tag) of the
    /// wires `x`; returns the output wires.
    pub(super) fn assign_softmax(
        &self,
        s: &mut Synth<'_, '_>,
        n: &Node,
        i: usize,
    ) -> Result<Vec<Wire>, Error> {
        let plan = &self.plan;
        let x = s.operand(n.inputs[0])?;
        let (config, region, cur) = (s.config, &mut *s.region, &mut s.cur);
        let xv = self.values_or_zero(n.inputs[0], x.len());
        let shape = &plan.info(n.inputs[0]).shape;
        let Op::Softmax { axis, .. } = &n.op else {
            return Err(Error::Synthesis);
        };
        let len = shape[*axis as usize];
        let table = softmax_table(plan, n);
        let tag = i as u64 + 1;
        let (params, _) = &Self::division_params(plan, n)[0];
        let bits = self.pool_bits(n);
        let known = self.values.is_some();
        let mut outs = vec![x[0]; x.len()];
        for lane in axis_lanes(shape, *axis as usize) {
            let taps: Vec<(Wire, i64)> = lane.iter().map(|&e| (x[e], xv[e])).collect();
            let (mx, next, next_range) = config
                .maxpool()?
                .assign_window(region, cur.bank, cur.range, &taps, bits, known, None)?;
            cur.bank = next;
            cur.range = next_range;
            let max_v = taps.iter().map(|t| t.1).max().unwrap_or(0);
            // d = max - x, then e = table[d]
            let mut ds = Vec::with_capacity(len);
            for &(w, v) in &taps {
                let d = config.divide()?.assign_sum(
                    region,
                    cur.bank,
                    &[mx, w],
                    Some(&[1, -1]),
                    0,
                    None,
                )?;
                cur.bank += sum_rows(2);
                ds.push((d, max_v - v));
            }
            let es = config
                .lookup()?
                .assign(region, cur.lookup, tag, 0, &table, &ds, None)?;
            cur.lookup += len;
            let ev: Vec<i64> = ds
                .iter()
                .map(|&(_, d)| table.get(d as usize).copied().unwrap_or(0))
                .collect();
            let total = config
                .divide()?
                .assign_sum(region, cur.bank, &es, None, 0, None)?;
            cur.bank += sum_rows(len);
            let sum_v: i128 = ev.iter().map(|&e| e as i128).sum();
            let divisor = Divisor::Wire(total, if known { sum_v } else { params.d_lo });
            let xs: Vec<(Wire, i64)> = es.iter().copied().zip(ev.iter().copied()).collect();
            let (ys, next) = config.divide()?.assign(
                region,
                cur.bank,
                cur.range,
                &xs,
                &divisor,
                params,
                |_, _| {},
            )?;
            cur.bank += len;
            cur.range = next;
            for (j, &e) in lane.iter().enumerate() {
                outs[e] = ys[j];
            }
        }
        Ok(outs)
    }
}

impl ShardCircuit {
    /// Floor square roots of node `n`'s operand, one divide-chip row each.
    pub(super) fn assign_sqrt(&self, s: &mut Synth<'_, '_>, n: &Node) -> Result<Vec<Wire>, Error> {
        let x = s.operand(n.inputs[0])?;
        let (config, region, cur) = (s.config, &mut *s.region, &mut s.cur);
        let xv = self.values_or_zero(n.inputs[0], x.len());
        let params = Self::sqrt_params(&self.plan, n).ok_or(Error::Synthesis)?;
        // without a witness, roots of the range's low end (any valid value)
        let lo = self.plan.info(n.inputs[0]).range.lo;
        let xs: Vec<(Wire, i64)> = x
            .iter()
            .zip(&xv)
            .map(|(&w, &v)| (w, if self.values.is_some() { v } else { lo }))
            .collect();
        let (ys, next) =
            config
                .divide()?
                .assign_sqrt(region, cur.bank, cur.range, &xs, &params, |_, _| {})?;
        cur.bank += xs.len();
        cur.range = next;
        Ok(ys)
    }

    /// Division of node `n`'s first operand by its second (one divisor per
    /// row or per element): one divide-chip call per divisor.
    pub(super) fn assign_div(&self, s: &mut Synth<'_, '_>, n: &Node) -> Result<Vec<Wire>, Error> {
        let a = s.operand(n.inputs[0])?;
        let b = s.operand(n.inputs[1])?;
        let (config, region, cur) = (s.config, &mut *s.region, &mut s.cur);
        let av = self.values_or_zero(n.inputs[0], a.len());
        let bv = self.values_or_zero(n.inputs[1], b.len());
        let known = self.values.is_some();
        let divisions = Self::division_params(&self.plan, n);
        let mut outs = Vec::with_capacity(a.len());
        for (j, (params, per)) in divisions.iter().enumerate() {
            let d = if known { bv[j] as i128 } else { params.d_lo };
            let xs: Vec<(Wire, i64)> = (j * per..(j + 1) * per).map(|e| (a[e], av[e])).collect();
            let (ys, next) = config.divide()?.assign(
                region,
                cur.bank,
                cur.range,
                &xs,
                &Divisor::Wire(b[j], d),
                params,
                |_, _| {},
            )?;
            cur.bank += per;
            cur.range = next;
            outs.extend(ys);
        }
        Ok(outs)
    }
}

/// The division row of an `AvgPoolF32` output `y` (onnxruntime's rounding
/// of the average of `n`): the quotient is `y - out_zero` inside the clamp,
/// and the exact rounding moved to the clamp's bound at it.
fn relaxed_row(
    params: &crate::chips::divide::DivideParams,
    n: i64,
    y: i64,
) -> crate::chips::divide::Row {
    let d = params.d_lo;
    let exact = crate::arith::div_round_half_even(n as i128 * params.mult as i128, d);
    let oz = params.out_zero as i128;
    let q = if y > params.lo && y < params.hi {
        y as i128 - oz
    } else if y == params.hi {
        exact.max(params.hi as i128 - oz)
    } else {
        exact.min(params.lo as i128 - oz)
    };
    params.row_for(n, d, q, y)
}

//! Products by one constant column on the bank: `y = c0 + Σ_k w_k x_k`
//! for each row `x` of `A` (`[M, K]` times constant `[K, 1]`: the row sums
//! of a normalization, ReduceSum, any MatMul with one output column).
//! The Freivalds chip would spend `K + M (K + 3) + 2` rows of its own
//! columns on such a product; here an output takes `ceil(K / T) + 1` rows
//! of the shared bank, `T` terms per row.
//!
//! Row `i` of an output holds the running sum `acc_i` and terms `t_1..t_T`
//! (copies of `A`'s cells), the fixed columns their weights `w_1..w_T`;
//! the step gate makes `acc_{i+1} = acc_i + Σ_j w_j t_j`, the start gate
//! `acc_0 = c0` (the bias minus `a_zero Σ_k w_k`, on the first row's last
//! fixed column). The last row's `acc` is the output. A term cell past `K`
//! has weight 0, so whatever it holds adds nothing. Every value is an
//! integer in the field: the terms are checked by their producers and the
//! weights are constants, so the output is the integer sum, within the
//! bounds the plan infers for it (no range check needed).

#[cfg(test)]
pub(crate) mod tests;

use crate::chips::poseidon::Wire;
use crate::field::fe;
use crate::mutation;
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

#[derive(Clone, Debug)]
pub struct DotConfig {
    acc: Column<Advice>,
    terms: Vec<Column<Advice>>,
    /// the terms' weights; the last holds `c0` on a start row
    fixed: Vec<Column<Fixed>>,
    start: Selector,
    step: Selector,
}

/// Terms per row on `advice` advice and `fixed` fixed columns.
pub fn terms_per_row(advice: usize, fixed: usize) -> usize {
    (advice - 1).min(fixed - 1).max(1)
}

/// Rows one output of `k` terms takes with `t` terms per row.
pub fn rows_for(k: usize, t: usize) -> usize {
    k.div_ceil(t) + 1
}

impl DotConfig {
    /// `advice[0]` holds the running sums, the next `T` the terms (all made
    /// equality-enabled); `fixed[..T]` the weights, `fixed[T]` `c0`.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        advice: &[Column<Advice>],
        fixed: &[Column<Fixed>],
    ) -> DotConfig {
        let t = terms_per_row(advice.len(), fixed.len());
        let (acc, terms) = (advice[0], advice[1..=t].to_vec());
        let fixed = fixed[..=t].to_vec();
        meta.enable_equality(acc);
        for &c in &terms {
            meta.enable_equality(c);
        }
        let (start, step) = (meta.selector(), meta.selector());
        meta.create_gate("dot start", |meta| {
            let s = meta.query_selector(start);
            let a = meta.query_advice(acc, Rotation::cur());
            let c0 = meta.query_fixed(fixed[t], Rotation::cur());
            vec![mutation::gate("dot/gate:start", s * (a - c0))]
        });
        meta.create_gate("dot step", |meta| {
            let s = meta.query_selector(step);
            let (a, next) = (
                meta.query_advice(acc, Rotation::cur()),
                meta.query_advice(acc, Rotation::next()),
            );
            let sum =
                terms
                    .iter()
                    .zip(&fixed)
                    .fold(Expression::Constant(Fr::ZERO), |e, (&c, &f)| {
                        e + meta.query_advice(c, Rotation::cur())
                            * meta.query_fixed(f, Rotation::cur())
                    });
            vec![mutation::gate("dot/gate:step", s * (next - a - sum))]
        });
        DotConfig {
            acc,
            terms,
            fixed,
            start,
            step,
        }
    }

    /// Terms per row.
    pub fn width(&self) -> usize {
        self.terms.len()
    }

    /// The outputs `c0 + Σ_k w_k x_k` of the rows `xs` (each of `w.len()`
    /// wires) from row `offset`; returns the output wires and the next free
    /// row. `forge` (tests) replaces the running sum at (output, row).
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        mut offset: usize,
        xs: &[Wire],
        w: &[i64],
        c0: i128,
        forge: impl Fn(usize, usize) -> Option<i128>,
    ) -> Result<(Vec<Wire>, usize), Error> {
        let (k, t) = (w.len(), self.width());
        if k == 0 || xs.len() % k != 0 {
            return Err(Error::Synthesis);
        }
        let mut out = Vec::with_capacity(xs.len() / k);
        for (m, row) in xs.chunks(k).enumerate() {
            let steps = k.div_ceil(t);
            self.start.enable(region, offset)?;
            region.assign_fixed(self.fixed[t], offset, fe(c0));
            let mut acc = Value::known(fe(c0));
            let mut last = None;
            for i in 0..=steps {
                let r = offset + i;
                let v = match forge(m, i) {
                    Some(f) => acc.map(|_| fe(f)),
                    None => acc,
                };
                let cell = region.assign_advice(self.acc, r, v);
                last = Some(Wire {
                    cell: cell.cell(),
                    value: v,
                });
                if i == steps {
                    break;
                }
                self.step.enable(region, r)?;
                for j in 0..t {
                    let kk = i * t + j;
                    let (x, wk) = match row.get(kk) {
                        Some(x) => (x.value, w[kk]),
                        None => (Value::known(Fr::ZERO), 0),
                    };
                    region.assign_fixed(self.fixed[j], r, fe(wk as i128));
                    let cell = region.assign_advice(self.terms[j], r, x).cell();
                    if let Some(src) = row.get(kk) {
                        mutation::equal(region, "dot/copy:term", cell, src.cell);
                    }
                    acc = acc + x * Value::known(fe(wk as i128));
                }
            }
            out.push(last.ok_or(Error::Synthesis)?);
            offset += steps + 1;
        }
        Ok((out, offset))
    }
}

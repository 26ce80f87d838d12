//! Matrix products checked with Freivalds' method: for `C = (A - a_zero)(B -
//! b_zero) + bias` with `A: [M, K]` witnessed, `B: [K, N]` either fixed
//! (weights, bound by the verifying key) or witnessed (a product of two
//! activations, e.g. attention), and `C: [M, N]` witnessed, a challenge `r`
//! drawn after A, B and C are committed gives `v = (1, r, ..., r^(N-1))`,
//! and the chip checks `C v = (A - a_zero)(B' v) + bias . v` row by row with
//! Horner chains in a second-phase column (`B' = B - b_zero`; a witnessed
//! B's chain subtracts the fixed zero point at each step). A wrong C passes
//! with probability at most N / |F|. Cost: K N + M N + M K + N rows, instead
//! of M K N multiplications.
//!
//! Assignment has two phases: [`MatMulConfig::assign_phase1`] places A and C
//! (before the challenge), [`MatMulConfig::assign_phase2`] the chains.

#[cfg(test)]
pub(crate) mod tests;

use crate::chips::poseidon::Wire;
use crate::field::fe;
use crate::mutation;
use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Challenge, Column, ConstraintSystem, Error, Fixed, Selector};
use halo2_proofs::poly::Rotation;

#[derive(Clone, Debug)]
pub struct MatMulConfig {
    /// phase 1: copies of A and C entries
    pub val: Column<Advice>,
    /// phase 2: Horner / dot-product accumulators
    pub acc: Column<Advice>,
    /// phase 2: copies of (B' v)_k next to A's entries
    pub w: Column<Advice>,
    /// weights minus zero points, bias, a_zero
    pub fixed: Column<Fixed>,
    /// the other constants of a packed Horner row (`fixed` is the first)
    pack: [Column<Fixed>; PACK - 1],
    start: Selector,
    horner_fixed: Selector,
    horner_val: Selector,
    dot: Selector,
    pub r: Challenge,
}

/// The right operand (row-major `[K, N]`) with its zero points and bias:
/// constant weights (`b`), or the wires of a witnessed matrix (`witness`,
/// then `b` is ignored).
#[derive(Clone, Debug)]
pub struct Weights {
    pub k: usize,
    pub n: usize,
    pub b: Vec<i64>,
    pub b_zero: Vec<i64>,
    pub bias: Vec<i64>,
    pub witness: Option<Vec<Wire>>,
}

impl Weights {
    fn zero(&self, n: usize) -> i128 {
        (if self.b_zero.len() > 1 {
            self.b_zero[n]
        } else {
            self.b_zero.first().copied().unwrap_or(0)
        }) as i128
    }

    fn b_prime(&self, k: usize, n: usize) -> i128 {
        self.b[k * self.n + n] as i128 - self.zero(n)
    }
}

/// Phase-1 cells of one product.
pub struct MatMulPhase1 {
    pub a: Vec<Wire>,
    pub c: Vec<Wire>,
    /// a witnessed B's copies, in chain order (row `k`: `B[k, N-1] .. B[k, 0]`)
    pub b: Vec<Wire>,
}

/// A phase-2 chain (for [`MatMulConfig::assign_phase2_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chain {
    /// `(B' v)_k`
    B(usize),
    /// `bias . v`
    Bias,
    /// `C_i . v`
    C(usize),
    /// `(A_i - a_zero) . (B' v) + bias . v`
    Dot(usize),
    /// the copies of `(B' v)_k` next to `A_i`'s entries
    W(usize),
}

/// Fixed values a Horner chain over constants absorbs per row.
pub const PACK: usize = 11;

/// Rows of a Horner chain over `n` constants (a start row, then `PACK` per
/// row).
fn fixed_chain_rows(n: usize) -> usize {
    n.div_ceil(PACK) + 1
}

/// Rows a product of `M x K` by a constant `K x N` uses (in `val`, `acc`,
/// `w` alike).
pub fn rows_for(m: usize, k: usize, n: usize) -> usize {
    layout(m, k, n, false).3
}

/// Rows a product of `M x K` by a witnessed `K x N` uses.
pub fn rows_for_witness(m: usize, k: usize, n: usize) -> usize {
    layout(m, k, n, true).3
}

/// Layout (relative to the product's first row): the K chains of `B' v`
/// (stride returned first: packed over constants, one value per row over a
/// witnessed B), the bias chain, the M chains over C's rows (from the
/// second offset), the M dot products over A's rows (from the third); the
/// fourth is the total.
fn layout(m: usize, k: usize, n: usize, witness: bool) -> (usize, usize, usize, usize) {
    let stride = if witness { n + 1 } else { fixed_chain_rows(n) };
    let c_base = k * stride + fixed_chain_rows(n);
    let a_base = c_base + m * (n + 1);
    (stride, c_base, a_base, a_base + m * (k + 1))
}

impl MatMulConfig {
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        val: Column<Advice>,
        acc: Column<Advice>,
        w: Column<Advice>,
        fixed: Column<Fixed>,
        r: Challenge,
    ) -> MatMulConfig {
        for c in [val, acc, w] {
            meta.enable_equality(c);
        }
        let (start, horner_fixed, horner_val, dot) = (
            meta.selector(),
            meta.selector(),
            meta.selector(),
            meta.selector(),
        );
        meta.create_gate("freivalds chain start", |meta| {
            let q = meta.query_selector(start);
            vec![mutation::gate(
                "matmul/gate:chain-start",
                q * meta.query_advice(acc, Rotation::cur()),
            )]
        });
        let pack: [Column<Fixed>; PACK - 1] = std::array::from_fn(|_| meta.fixed_column());
        // next = cur r^PACK + f_0 r^(PACK-1) + ... + f_(PACK-1): PACK constants
        // of a Horner chain per row (challenges have degree 0)
        meta.create_gate("freivalds horner (fixed)", |meta| {
            let q = meta.query_selector(horner_fixed);
            let (cur, next) = (
                meta.query_advice(acc, Rotation::cur()),
                meta.query_advice(acc, Rotation::next()),
            );
            let r = meta.query_challenge(r);
            let mut sum = cur;
            for col in std::iter::once(fixed).chain(pack) {
                sum = sum * r.clone() + meta.query_fixed(col, Rotation::cur());
            }
            vec![mutation::gate("matmul/gate:horner-fixed", q * (next - sum))]
        });
        // next = cur r + (val - fixed): fixed is 0 on C's chains and B's
        // zero point on a witnessed B's chains
        meta.create_gate("freivalds horner (witness)", |meta| {
            let q = meta.query_selector(horner_val);
            let (cur, next) = (
                meta.query_advice(acc, Rotation::cur()),
                meta.query_advice(acc, Rotation::next()),
            );
            let r = meta.query_challenge(r);
            let v =
                meta.query_advice(val, Rotation::cur()) - meta.query_fixed(fixed, Rotation::cur());
            vec![mutation::gate(
                "matmul/gate:horner-witness",
                q * (next - (cur * r + v)),
            )]
        });
        meta.create_gate("freivalds dot", |meta| {
            let q = meta.query_selector(dot);
            let (cur, next) = (
                meta.query_advice(acc, Rotation::cur()),
                meta.query_advice(acc, Rotation::next()),
            );
            let a =
                meta.query_advice(val, Rotation::cur()) - meta.query_fixed(fixed, Rotation::cur());
            vec![mutation::gate(
                "matmul/gate:dot",
                q * (next - (cur + a * meta.query_advice(w, Rotation::cur()))),
            )]
        });
        MatMulConfig {
            val,
            acc,
            w,
            fixed,
            pack,
            start,
            horner_fixed,
            horner_val,
            dot,
            r,
        }
    }

    /// Phase 1: A (`[M, K]`, copied from `a`), a witnessed B (copied), and C
    /// (`[M, N]`, the claimed product, returned for the next op) in the
    /// `val` column.
    pub fn assign_phase1(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        a: &[Wire],
        c: &[Value<Fr>],
        w: &Weights,
    ) -> Result<MatMulPhase1, Error> {
        let (k, n) = (w.k, w.n);
        let m = a.len() / k;
        let (stride, c_base, a_base, _) = layout(m, k, n, w.witness.is_some());
        let mut a_cells = Vec::new();
        for i in 0..m {
            for j in 0..k {
                let row = offset + a_base + i * (k + 1) + j;
                let cell = region
                    .assign_advice(self.val, row, a[i * k + j].value)
                    .cell();
                mutation::equal(region, "matmul/copy:a", cell, a[i * k + j].cell);
                a_cells.push(Wire {
                    cell,
                    value: a[i * k + j].value,
                });
            }
        }
        let mut c_cells = Vec::new();
        for i in 0..m {
            // Horner runs from the highest power down: the first value is C[i, N-1]
            for (step, j) in (0..n).rev().enumerate() {
                let row = offset + c_base + i * (n + 1) + step;
                let cell = region.assign_advice(self.val, row, c[i * n + j]).cell();
                c_cells.push((
                    i * n + j,
                    Wire {
                        cell,
                        value: c[i * n + j],
                    },
                ));
            }
        }
        c_cells.sort_by_key(|(idx, _)| *idx);
        let mut b_cells = Vec::new();
        if let Some(bw) = &w.witness {
            if bw.len() != k * n {
                return Err(Error::Synthesis);
            }
            for kk in 0..k {
                for (step, j) in (0..n).rev().enumerate() {
                    let row = offset + kk * stride + step;
                    let src = bw[kk * n + j];
                    let cell = region.assign_advice(self.val, row, src.value).cell();
                    mutation::equal(region, "matmul/copy:b", cell, src.cell);
                    b_cells.push(Wire {
                        cell,
                        value: src.value,
                    });
                }
            }
        }
        Ok(MatMulPhase1 {
            a: a_cells,
            c: c_cells.into_iter().map(|(_, w)| w).collect(),
            b: b_cells,
        })
    }

    /// Phase 2: the chains and the final equalities. `a_zero` is A's zero point.
    pub fn assign_phase2(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        p1: &MatMulPhase1,
        w: &Weights,
        a_zero: i64,
    ) -> Result<(), Error> {
        self.assign_phase2_with(region, offset, p1, w, a_zero, |_, _, _, _| {})
    }

    /// As [`Self::assign_phase2`]; `tamper(chain, step, r, acc)` edits the
    /// accumulator of `chain` after `step` steps (0: its start; for
    /// [`Chain::W`], the copy of `(B' v)_step`) before it is assigned, and
    /// the chain goes on from the edited value (tests play a cheating
    /// prover with it).
    #[allow(clippy::too_many_arguments)]
    pub fn assign_phase2_with(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        p1: &MatMulPhase1,
        w: &Weights,
        a_zero: i64,
        tamper: impl Fn(Chain, usize, Fr, &mut Fr),
    ) -> Result<(), Error> {
        let (k, n) = (w.k, w.n);
        let m = p1.a.len() / k;
        let (stride, c_base, a_base, _) = layout(m, k, n, w.witness.is_some());
        let r = region.get_challenge(self.r);
        let edit = |chain: Chain, step: usize, acc: Value<Fr>| {
            acc.zip(r).map(|(mut acc, r)| {
                tamper(chain, step, r, &mut acc);
                acc
            })
        };
        // a Horner chain over fixed values, PACK per row (leading zeros pad
        // the first row; they do not change the value), returning the final
        // accumulator cell
        let cols: Vec<Column<Fixed>> = std::iter::once(self.fixed).chain(self.pack).collect();
        let fixed_chain = |region: &mut Region<'_, Fr>,
                           chain: Chain,
                           base: usize,
                           vals: &[Fr]|
         -> Result<(Cell, Value<Fr>), Error> {
            self.start.enable(region, base)?;
            let mut acc = edit(chain, 0, Value::known(Fr::ZERO));
            region.assign_advice(self.acc, base, acc);
            let pad = (PACK - vals.len() % PACK) % PACK;
            let padded: Vec<Fr> = std::iter::repeat_n(Fr::ZERO, pad)
                .chain(vals.iter().copied())
                .collect();
            let rows = padded.len() / PACK;
            for (step, chunk) in padded.chunks(PACK).enumerate() {
                self.horner_fixed.enable(region, base + step)?;
                for (col, v) in cols.iter().zip(chunk) {
                    region.assign_fixed(*col, base + step, *v);
                    acc = acc * r + Value::known(*v);
                }
                acc = edit(chain, step + 1, acc);
                region.assign_advice(self.acc, base + step + 1, acc);
            }
            let cell = region.assign_advice(self.acc, base + rows, acc).cell();
            Ok((cell, acc))
        };
        // (B' v)_k for every k
        let mut wv = Vec::with_capacity(k);
        for kk in 0..k {
            let base = offset + kk * stride;
            if w.witness.is_some() {
                // over the copies of B's row, minus the zero points
                self.start.enable(region, base)?;
                let mut acc = edit(Chain::B(kk), 0, Value::known(Fr::ZERO));
                region.assign_advice(self.acc, base, acc);
                for (step, j) in (0..n).rev().enumerate() {
                    self.horner_val.enable(region, base + step)?;
                    let z = fe(w.zero(j));
                    region.assign_fixed(self.fixed, base + step, z);
                    acc = acc * r + p1.b[kk * n + step].value - Value::known(z);
                    acc = edit(Chain::B(kk), step + 1, acc);
                    region.assign_advice(self.acc, base + step + 1, acc);
                }
                let cell = region.assign_advice(self.acc, base + n, acc).cell();
                wv.push((cell, acc));
            } else {
                let vals: Vec<Fr> = (0..n).rev().map(|j| fe(w.b_prime(kk, j))).collect();
                wv.push(fixed_chain(region, Chain::B(kk), base, &vals)?);
            }
        }
        // bias . v
        let bias_vals: Vec<Fr> = (0..n)
            .rev()
            .map(|j| fe(w.bias.get(j).copied().unwrap_or(0) as i128))
            .collect();
        let (bias_cell, bias_val) =
            fixed_chain(region, Chain::Bias, offset + k * stride, &bias_vals)?;
        for i in 0..m {
            // C_i . v
            let base = offset + c_base + i * (n + 1);
            self.start.enable(region, base)?;
            let mut acc = edit(Chain::C(i), 0, Value::known(Fr::ZERO));
            region.assign_advice(self.acc, base, acc);
            for step in 0..n {
                self.horner_val.enable(region, base + step)?;
                let j = n - 1 - step;
                acc = acc * r + p1.c[i * n + j].value;
                acc = edit(Chain::C(i), step + 1, acc);
                region.assign_advice(self.acc, base + step + 1, acc);
            }
            let lhs = region.assign_advice(self.acc, base + n, acc).cell();
            // (A_i - a_zero) . (B' v) + bias . v, starting from bias . v
            let base = offset + a_base + i * (k + 1);
            let mut acc = edit(Chain::Dot(i), 0, bias_val);
            let start = region.assign_advice(self.acc, base, acc).cell();
            mutation::equal(region, "matmul/copy:bias-start", start, bias_cell);
            for (kk, &(w_cell, w_val)) in wv.iter().enumerate().take(k) {
                let row = base + kk;
                self.dot.enable(region, row)?;
                region.assign_fixed(self.fixed, row, fe(a_zero as i128));
                let wk = edit(Chain::W(i), kk, w_val);
                let wc = region.assign_advice(self.w, row, wk).cell();
                mutation::equal(region, "matmul/copy:w", wc, w_cell);
                acc = acc + (p1.a[i * k + kk].value - Value::known(fe(a_zero as i128))) * wk;
                acc = edit(Chain::Dot(i), kk + 1, acc);
                region.assign_advice(self.acc, row + 1, acc);
            }
            let rhs = region.assign_advice(self.acc, base + k, acc).cell();
            mutation::equal(region, "matmul/copy:lhs-rhs", lhs, rhs);
        }
        Ok(())
    }
}

//! Floor square root on the divide chip's rows: `s = floor(sqrt(x + b))`
//! for a witness `x` (copied in) and a fixed bias `b`, one row per value,
//! no table. A normalization takes it once per row of its input (the sum of
//! squares of the row's centred values plus epsilon) and divides the row by
//! `s` on the same chip ([`super::Divisor::Wire`]).
//!
//! Columns: `x` in advice 0, `g1` in advice 3, `g2` in advice 4, `s` in
//! advice 5 (copyable: the divisor a division reads), `b` in fixed 1. Gates
//! (selector `q_sqrt`, degree 3):
//! - `g1 = x + b - s²`,
//! - `g2 = 2 s - g1`,
//!
//! and `g1`, `g2` are range checked to `gb` bits (`2^gb > 2 s` for every
//! honest `s`). Soundness: both checks give `0 <= g1, g2 < 2^gb` as
//! integers, so `2 s = g1 + g2` is an integer in `[0, 2^(gb+1))`. If it were
//! odd, `4 (x + b) = (2s)² + 4 g1` would equate a multiple of 4 with an odd
//! integer (every term is far below the field size: `x + b < 2^62`,
//! `gb < 64`), so `s` is an integer in `[0, 2^gb)` and `x + b = s² + g1`
//! holds over the integers with `0 <= g1 <= 2 s`: `s² <= x + b < (s + 1)²`,
//! which only `s = floor(sqrt(x + b))` satisfies. No range check of `s`
//! itself is needed (the mutation test confirms each of the five
//! constraints is).

use super::{bits_for, DivideConfig};
use crate::chips::poseidon::Wire;
use crate::chips::range::rows_for;
use crate::field::fe;
use crate::mutation;
use crate::plan::infer::isqrt;
use halo2_proofs::circuit::Region;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

/// A square root's bounds: the operand range and the bias.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SqrtParams {
    pub bias: i64,
    pub x_lo: i64,
    pub x_hi: i64,
}

/// The witness of one root (tests forge it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SqrtRow {
    /// the value written in the `x` cell (the copied one when honest)
    pub x: i128,
    pub s: i128,
    pub g1: i128,
    pub g2: i128,
    /// (tests) range-check this value instead of the gap in column `.0`
    /// (3: `g1`, 4: `g2`; a cheating prover's range rows)
    pub check_instead: Option<(usize, i128)>,
}

impl SqrtParams {
    /// Bits of the two gap checks: `2 s` of the largest root.
    pub fn gap_bits(&self) -> u32 {
        let top = isqrt((self.x_hi as i128 + self.bias as i128).max(0));
        bits_for(2 * top + 1)
    }

    /// Range-check rows of one root.
    pub fn range_rows(&self) -> usize {
        2 * rows_for(self.gap_bits())
    }

    /// Whether the bounds are admissible: `x + b >= 0` and far below the
    /// field (the plan's range rules already ensure it; keys from untrusted
    /// plans are checked again).
    pub fn validate(&self) -> Result<(), &'static str> {
        let (lo, hi) = (
            self.x_lo as i128 + self.bias as i128,
            self.x_hi as i128 + self.bias as i128,
        );
        if lo < 0 || hi < lo {
            return Err("square root of a range below zero");
        }
        if hi >= 1 << 62 {
            return Err("square root operand too wide");
        }
        Ok(())
    }

    /// The honest witness for `x`.
    pub fn witness(&self, x: i64) -> SqrtRow {
        let v = x as i128 + self.bias as i128;
        self.row_for(x as i128, isqrt(v))
    }

    /// The witness claiming root `s` for `x` (honest when `s` is the root).
    pub fn row_for(&self, x: i128, s: i128) -> SqrtRow {
        let g1 = x + self.bias as i128 - s * s;
        SqrtRow {
            x,
            s,
            g1,
            g2: 2 * s - g1,
            check_instead: None,
        }
    }
}

/// The square root's gates (see the module docs).
pub(super) fn configure(
    meta: &mut ConstraintSystem<Fr>,
    q: Selector,
    advice: &[Column<Advice>],
    fixed: &[Column<Fixed>],
) {
    meta.create_gate("square root", |meta| {
        let s = meta.query_selector(q);
        let x = meta.query_advice(advice[0], Rotation::cur());
        let g1 = meta.query_advice(advice[3], Rotation::cur());
        let g2 = meta.query_advice(advice[4], Rotation::cur());
        let root = meta.query_advice(advice[5], Rotation::cur());
        let bias = meta.query_fixed(fixed[1], Rotation::cur());
        let two = Expression::Constant(Fr::from(2));
        vec![
            mutation::gate(
                "divide/gate:sqrt-g1",
                s.clone() * (g1.clone() - (x + bias - root.clone() * root.clone())),
            ),
            mutation::gate("divide/gate:sqrt-g2", s * (g2 - (two * root - g1))),
        ]
    });
}

impl DivideConfig {
    /// Assigns `floor(sqrt(x + b))` of each of `xs` at rows
    /// `offset..offset + xs.len()`, the gap checks in the range column from
    /// `range_offset`. `tamper` edits element `i`'s witness (tests).
    /// Returns the roots' wires and the next free range row.
    pub fn assign_sqrt(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        mut range_offset: usize,
        xs: &[(Wire, i64)],
        params: &SqrtParams,
        tamper: impl Fn(usize, &mut SqrtRow),
    ) -> Result<(Vec<Wire>, usize), Error> {
        let bits = params.gap_bits();
        let mut out = Vec::with_capacity(xs.len());
        for (i, &(wire, x)) in xs.iter().enumerate() {
            let row = offset + i;
            self.q_sqrt.enable(region, row)?;
            region.assign_fixed(self.fixed[1], row, fe(params.bias as i128));
            let mut r = params.witness(x);
            tamper(i, &mut r);
            let cell = |col: usize, v: i128, region: &mut Region<'_, Fr>| {
                region
                    .assign_advice(self.advice[col], row, wire.value.map(|_| fe(v)))
                    .cell()
            };
            let xc = cell(0, r.x, region);
            mutation::equal(region, "divide/copy:sqrt-x", xc, wire.cell);
            let g1 = cell(3, r.g1, region);
            let g2 = cell(4, r.g2, region);
            let sc = cell(5, r.s, region);
            for (col, c, v, id) in [
                (3, g1, r.g1, "divide/copy:range-sqrt-g1"),
                (4, g2, r.g2, "divide/copy:range-sqrt-g2"),
            ] {
                let v = match r.check_instead {
                    Some((k, w)) if k == col => w,
                    _ => v,
                };
                let z0 =
                    self.range
                        .check(region, &mut range_offset, wire.value.map(|_| fe(v)), bits)?;
                mutation::equal(region, id, z0.cell, c);
            }
            out.push(Wire {
                cell: sc,
                value: wire.value.map(|_| fe(r.s)),
            });
        }
        Ok((out, range_offset))
    }
}

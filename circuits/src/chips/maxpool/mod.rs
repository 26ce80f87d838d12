//! Max pooling: for each window, `y >= x_i` for every tap (range checks of
//! `y - x_i`) and `y` equals one tap (a running product of `y - x_i` that
//! must end at zero). Padded taps never win and are left out.

#[cfg(test)]
pub(crate) mod tests;

use crate::chips::poseidon::Wire;
use crate::chips::range::{rows_for, RangeConfig};
use crate::mutation;
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Selector};
use halo2_proofs::poly::Rotation;

#[derive(Clone, Debug)]
pub struct MaxPoolConfig {
    /// a tap (copied from the input)
    pub x: Column<Advice>,
    /// the window's maximum (copied along the window's rows)
    pub y: Column<Advice>,
    /// `y - x` on this row (range checked)
    pub d: Column<Advice>,
    /// running product of `y - x`
    pub prod: Column<Advice>,
    first: Selector,
    step: Selector,
    last: Selector,
    pub range: RangeConfig,
}

/// The witness of one tap row: the claimed maximum, `y - x`, the running
/// product and the value the range check sees (honestly `d`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TapRow {
    pub y: Fr,
    pub d: Fr,
    pub prod: Fr,
    pub checked: Fr,
}

/// Rows one window of `taps` taps uses (in this chip's columns), and its
/// range rows for `bits`-bit differences.
pub fn rows_for_window(taps: usize, bits: u32) -> (usize, usize) {
    (taps, taps * rows_for(bits))
}

impl MaxPoolConfig {
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        cols: [Column<Advice>; 4],
        range: RangeConfig,
    ) -> MaxPoolConfig {
        let [x, y, d, prod] = cols;
        // copied cells: inputs, the maximum, the range-checked differences
        for c in [x, y, d] {
            meta.enable_equality(c);
        }
        let (first, step, last) = (meta.selector(), meta.selector(), meta.selector());
        meta.create_gate("maxpool tap", |meta| {
            let (qf, qs) = (meta.query_selector(first), meta.query_selector(step));
            let (xv, yv, dv) = (
                meta.query_advice(x, Rotation::cur()),
                meta.query_advice(y, Rotation::cur()),
                meta.query_advice(d, Rotation::cur()),
            );
            let p = meta.query_advice(prod, Rotation::cur());
            let (y_prev, p_prev) = (
                meta.query_advice(y, Rotation::prev()),
                meta.query_advice(prod, Rotation::prev()),
            );
            vec![
                mutation::gate(
                    "maxpool/gate:diff-first",
                    qf.clone() * (dv.clone() - (yv.clone() - xv.clone())),
                ),
                mutation::gate(
                    "maxpool/gate:diff-step",
                    qs.clone() * (dv.clone() - (yv.clone() - xv)),
                ),
                mutation::gate("maxpool/gate:prod-first", qf * (p.clone() - dv.clone())),
                mutation::gate("maxpool/gate:prod-step", qs.clone() * (p - p_prev * dv)),
                mutation::gate("maxpool/gate:same-max", qs * (yv - y_prev)),
            ]
        });
        meta.create_gate("maxpool some tap is the max", |meta| {
            let q = meta.query_selector(last);
            vec![mutation::gate(
                "maxpool/gate:some-tap-is-max",
                q * meta.query_advice(prod, Rotation::cur()),
            )]
        });
        MaxPoolConfig {
            x,
            y,
            d,
            prod,
            first,
            step,
            last,
            range,
        }
    }

    /// Assigns one window: `taps` (wires with their integer values), the
    /// differences range checked with `bits` bits. `claim` replaces the
    /// maximum (tests use it to play a cheating prover). Returns the output
    /// wire and the next free rows (chip, range).
    #[allow(clippy::too_many_arguments)]
    pub fn assign_window(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        range_offset: usize,
        taps: &[(Wire, i64)],
        bits: u32,
        known: bool,
        claim: Option<i64>,
    ) -> Result<(Wire, usize, usize), Error> {
        self.assign_window_with(
            region,
            offset,
            range_offset,
            taps,
            bits,
            known,
            claim,
            |_, _| {},
        )
    }

    /// As [`Self::assign_window`]; `tamper` edits tap row `i`'s witness
    /// (tests play a cheating prover with it; the running product goes on
    /// from the edited one).
    #[allow(clippy::too_many_arguments)]
    pub fn assign_window_with(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        range_offset: usize,
        taps: &[(Wire, i64)],
        bits: u32,
        known: bool,
        claim: Option<i64>,
        tamper: impl Fn(usize, &mut TapRow),
    ) -> Result<(Wire, usize, usize), Error> {
        let max = claim.unwrap_or_else(|| taps.iter().map(|t| t.1).max().unwrap_or(0));
        let yv = if known {
            Value::known(crate::field::fe(max as i128))
        } else {
            Value::unknown()
        };
        let mut prod = Value::known(Fr::ONE);
        let mut out = None;
        let mut r = range_offset;
        for (i, (w, _)) in taps.iter().enumerate() {
            let row = offset + i;
            if i == 0 {
                self.first.enable(region, row)?
            } else {
                self.step.enable(region, row)?
            }
            let dv = yv - w.value;
            let pv = if i == 0 { dv } else { prod * dv };
            let t = yv.zip(dv).zip(pv).map(|((y, d), prod)| {
                let mut t = TapRow {
                    y,
                    d,
                    prod,
                    checked: d,
                };
                tamper(i, &mut t);
                t
            });
            let xc = region.assign_advice(self.x, row, w.value).cell();
            mutation::equal(region, "maxpool/copy:tap", xc, w.cell);
            let y = t.map(|t| t.y);
            let yc = region.assign_advice(self.y, row, y).cell();
            if i == 0 {
                out = Some(Wire { cell: yc, value: y });
            }
            let dc = region.assign_advice(self.d, row, t.map(|t| t.d)).cell();
            prod = t.map(|t| t.prod);
            region.assign_advice(self.prod, row, prod);
            let z0 = self
                .range
                .check(region, &mut r, t.map(|t| t.checked), bits)?;
            mutation::equal(region, "maxpool/copy:range-diff", z0.cell, dc);
        }
        self.last.enable(region, offset + taps.len() - 1)?;
        Ok((out.expect("a window has taps"), offset + taps.len(), r))
    }
}

//! Table lookups `y = table[x - in_lo]` (sigmoid, tanh, ... precomputed by
//! the compiler): every `(tag, x, y)` row must appear in one fixed table that
//! holds the entries of every Lookup op of the circuit, each under its own
//! tag. Unused rows are `(0, 0, 0)`, which the table also holds.

#[cfg(test)]
pub(crate) mod tests;

use crate::chips::poseidon::Wire;
use crate::field::fe;
use crate::mutation;
use halo2_proofs::circuit::Region;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed};
use halo2_proofs::poly::Rotation;

#[derive(Clone, Debug)]
pub struct LookupConfig {
    pub x: Column<Advice>,
    pub y: Column<Advice>,
    tag: Column<Fixed>,
    /// the table: tag, input, output
    table: [Column<Fixed>; 3],
}

impl LookupConfig {
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        x: Column<Advice>,
        y: Column<Advice>,
        tag: Column<Fixed>,
        table: [Column<Fixed>; 3],
    ) -> LookupConfig {
        meta.enable_equality(x);
        meta.enable_equality(y);
        if mutation::on("lookup/lookup:table") {
            meta.lookup_any("table lookup", |meta| {
                let (tg, xv, yv) = (
                    meta.query_fixed(tag, Rotation::cur()),
                    meta.query_advice(x, Rotation::cur()),
                    meta.query_advice(y, Rotation::cur()),
                );
                let t: Vec<_> = table
                    .iter()
                    .map(|c| meta.query_fixed(*c, Rotation::cur()))
                    .collect();
                vec![(tg, t[0].clone()), (xv, t[1].clone()), (yv, t[2].clone())]
            });
        }
        LookupConfig { x, y, tag, table }
    }

    /// Writes table `tag` (entries `in_lo + j -> table[j]`) from table row
    /// `offset`; returns the next free table row. Row 0 of the table must
    /// stay `(0, 0, 0)`: start tables at 1.
    pub fn assign_table(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        tag: u64,
        in_lo: i64,
        table: &[i64],
    ) -> usize {
        for (j, &v) in table.iter().enumerate() {
            let row = offset + j;
            region.assign_fixed(self.table[0], row, Fr::from(tag));
            region.assign_fixed(self.table[1], row, fe(in_lo as i128 + j as i128));
            region.assign_fixed(self.table[2], row, fe(v as i128));
        }
        offset + table.len()
    }

    /// Looks up each input wire (with its integer value) in table `tag` from
    /// row `offset`; `forge` replaces an output (tests). Returns the outputs.
    #[allow(clippy::too_many_arguments)]
    pub fn assign(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        tag: u64,
        in_lo: i64,
        table: &[i64],
        xs: &[(Wire, i64)],
        forge: Option<(usize, i64)>,
    ) -> Result<Vec<Wire>, Error> {
        let mut ys = Vec::with_capacity(xs.len());
        for (i, (w, x)) in xs.iter().enumerate() {
            let row = offset + i;
            region.assign_fixed(self.tag, row, Fr::from(tag));
            let xc = region.assign_advice(self.x, row, w.value).cell();
            mutation::equal(region, "lookup/copy:x", xc, w.cell);
            let idx = (*x as i128 - in_lo as i128).clamp(0, table.len().saturating_sub(1) as i128)
                as usize;
            let y = match forge {
                Some((k, v)) if k == i => v,
                _ => table.get(idx).copied().unwrap_or(0),
            };
            let value = w.value.map(|_| fe(y as i128));
            let cell = region.assign_advice(self.y, row, value).cell();
            ys.push(Wire { cell, value });
        }
        Ok(ys)
    }
}

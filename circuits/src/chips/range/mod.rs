//! Range checks by running-sum decomposition into `LIMB_BITS`-bit limbs, one
//! limb per row, every limb looked up in one shared tagged table holding
//! `(t, v)` for every width `t` in [`TAGS`] and `v` in `[0, 2^t)`. Width 6
//! is left out so that the table (447 rows) fits circuits of 2^9 rows: a
//! 6-bit top limb is checked as a 5-bit limb and a 1-bit top limb. (Width 7
//! is in: the requantization chips check a 7-bit half of every int8 output.)
//!
//! For `v` in `[0, 2^bits)` with `L = ceil(bits / LIMB_BITS)` limbs the rows
//! hold `z_0 = v`, `z_{i+1} = (z_i - limb_i) / 2^LIMB_BITS`. Row `i < L - 1`
//! looks up `(LIMB_BITS, z_i - 2^LIMB_BITS z_{i+1})`: the limb is a true
//! `LIMB_BITS`-bit integer. The top row looks up `(top, z_{L-1})` with
//! `top = bits - (L - 1) LIMB_BITS`: the top limb is an integer below
//! `2^top`. So `v = Σ limb_i 2^(i LIMB_BITS)` is an integer below
//! `2^bits`, with no field element slipping through (a shifted single
//! lookup `2^(LIMB_BITS - top) z` would admit `z = c / 2^(LIMB_BITS - top)`).
//! (A 6-bit top is split as described above: its 5-bit row is a non-top
//! row with coefficient `2^5`.)
//! The fixed columns give each row its tag and the coefficient of `z_{i+1}`
//! (`2^LIMB_BITS`, or 0 on a top row); rows outside checks have tag 0 and
//! look up `(0, 0)`. A check takes exactly `L` rows.
//!
//! Function lookups (`y = f(x)` for a table of the compiler: sigmoid, GELU,
//! softmax's exponentials) share lane 0 and its lookup argument when the
//! lanes are configured with an output column ([`RangeConfig::configure_lanes_with_output`]):
//! the table gains a third column, `0` on every limb entry and `f(x)` on the
//! entries `(FUNCTION_TAGS + t, x, f(x))` of function `t`, and every lane
//! looks up `(tag, z - next z', out)` (lanes other than 0: `out` is the
//! constant 0). A limb row's `out` is therefore 0, a function row (`next`
//! = 0, tag `FUNCTION_TAGS + t`, both fixed) holds `(x, f(x))` of table `t`,
//! and one lookup argument serves both: a circuit with functions pays for
//! one output column, not for a second lookup argument with its own
//! input, output, tag and three table columns.

#[cfg(test)]
pub(crate) mod tests;

use crate::chips::poseidon::Wire;
use crate::field::fe;
use crate::mutation;
use halo2_proofs::circuit::{Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, TableColumn,
};
use halo2_proofs::poly::Rotation;

/// Bits per (non-top) limb: the table has [`TABLE_ROWS`] rows, so circuits
/// using it need `k >= 9`.
pub const LIMB_BITS: u32 = 8;

/// One lane: a running-sum column, the coefficient of the next row's
/// value and the tag of each row (each lane has its own lookup into the
/// shared table).
#[derive(Clone, Debug)]
struct Lane {
    z: Column<Advice>,
    next: Column<Fixed>,
    tag: Column<Fixed>,
}

/// Range checks in one or more lanes. [`RangeConfig::check`] places checks
/// at a virtual offset: lane `offset / height`, row `offset % height`, a
/// check never straddling two lanes. With several lanes the checks of a
/// tall circuit spread over several columns, so fewer rows are needed.
#[derive(Clone, Debug)]
pub struct RangeConfig {
    /// lane 0's running-sum column
    pub z: Column<Advice>,
    lanes: Vec<Lane>,
    /// lane 0's function output column (with function lookups)
    pub out: Option<Column<Advice>>,
    /// tag, limb (or function input) and, with `out`, function output
    table: Vec<TableColumn>,
    /// rows of each lane the checks may use (the circuit sets it from its
    /// size before assigning; unbounded: one lane)
    pub height: usize,
}

/// The limb widths the table holds.
pub const TAGS: [u32; 8] = [0, 1, 2, 3, 4, 5, 7, 8];

/// Function `t`'s entries carry tag `FUNCTION_TAGS + t` (above every limb
/// width).
pub const FUNCTION_TAGS: u64 = 16;

/// A function's table for [`RangeConfig::load_tables`]: `x = in_lo + j`
/// maps to `values[j]`.
#[derive(Clone, Copy, Debug)]
pub struct FunctionTable<'a> {
    pub tag: u64,
    pub in_lo: i64,
    pub values: &'a [i64],
}

/// Rows `check_bits` uses for a `bits`-bit value.
pub fn rows_for(bits: u32) -> usize {
    limb_widths(bits).len()
}

/// Limb widths of a `bits`-bit check, low limb first: `LIMB_BITS`-bit limbs
/// and a top limb of the rest (a width missing from [`TAGS`] as one bit
/// less and one bit).
fn limb_widths(bits: u32) -> Vec<u32> {
    let limbs = bits.div_ceil(LIMB_BITS).max(1) as usize;
    let top = bits.saturating_sub((limbs as u32 - 1) * LIMB_BITS);
    let mut w = vec![LIMB_BITS; limbs - 1];
    if !TAGS.contains(&top) {
        w.extend([top - 1, 1]);
    } else {
        w.push(top);
    }
    w
}

/// Rows of the tagged limb table.
pub const TABLE_ROWS: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < TAGS.len() {
        n += 1 << TAGS[i];
        i += 1;
    }
    n
};

/// The most rows one check may use (a 248-bit value).
pub const MAX_CHECK_ROWS: usize = (248usize).div_ceil(LIMB_BITS as usize);

impl RangeConfig {
    /// One lane over `z` (advice) and `next` (fixed: the coefficient of the
    /// next row's `z`); the lane's tag column is allocated here.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        z: Column<Advice>,
        next: Column<Fixed>,
    ) -> RangeConfig {
        Self::configure_lanes(meta, &[(z, next)])
    }

    /// One lane per `(z, next)` pair, all looking up one table.
    pub fn configure_lanes(
        meta: &mut ConstraintSystem<Fr>,
        columns: &[(Column<Advice>, Column<Fixed>)],
    ) -> RangeConfig {
        Self::configure_lanes_with_output(meta, columns, None)
    }

    /// [`Self::configure_lanes`], with lane 0 also serving function lookups
    /// through the output column `out` when given (equality-enabled here).
    pub fn configure_lanes_with_output(
        meta: &mut ConstraintSystem<Fr>,
        columns: &[(Column<Advice>, Column<Fixed>)],
        out: Option<Column<Advice>>,
    ) -> RangeConfig {
        assert!(!columns.is_empty(), "at least one range lane");
        let table: Vec<TableColumn> = (0..if out.is_some() { 3 } else { 2 })
            .map(|_| meta.lookup_table_column())
            .collect();
        if let Some(o) = out {
            meta.enable_equality(o);
        }
        let lanes: Vec<Lane> = columns
            .iter()
            .enumerate()
            .map(|(i, &(z, next))| {
                let tag = meta.fixed_column();
                meta.enable_equality(z);
                if mutation::on("range/lookup:limb") {
                    let table = table.clone();
                    meta.lookup("range limb", |meta| {
                        let t = meta.query_fixed(tag, Rotation::cur());
                        let n = meta.query_fixed(next, Rotation::cur());
                        let cur = meta.query_advice(z, Rotation::cur());
                        let nxt = meta.query_advice(z, Rotation::next());
                        let mut v = vec![(t, table[0]), (cur - n * nxt, table[1])];
                        if let Some(&t_out) = table.get(2) {
                            let y = match out {
                                Some(o) if i == 0 => meta.query_advice(o, Rotation::cur()),
                                _ => Expression::Constant(Fr::ZERO),
                            };
                            v.push((y, t_out));
                        }
                        v
                    });
                }
                Lane { z, next, tag }
            })
            .collect();
        RangeConfig {
            z: lanes[0].z,
            lanes,
            out,
            table,
            height: usize::MAX,
        }
    }

    /// Number of lanes.
    pub fn lanes(&self) -> usize {
        self.lanes.len()
    }

    /// Constrains `v < 2^bits` at the virtual offset `*offset` (moved to the
    /// next lane's first row if the check does not fit in the current
    /// lane), advancing `*offset` past it; returns the cell holding `v`.
    pub fn check(
        &self,
        region: &mut Region<'_, Fr>,
        offset: &mut usize,
        v: Value<Fr>,
        bits: u32,
    ) -> Result<Wire, Error> {
        let need = rows_for(bits);
        let h = self.height.max(need);
        let (mut lane, mut row) = (*offset / h, *offset % h);
        if row + need > h {
            lane += 1;
            row = 0;
        }
        let l = self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let w = Self::check_in(l, region, row, v, bits)?;
        *offset = lane * h + row + need;
        Ok(w)
    }

    /// Fills the tagged limb table (once per circuit).
    pub fn load_table(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        self.load_tables(layouter, &[])
    }

    /// Fills the table (once per circuit): the limb entries, then each
    /// function's (only with an output column).
    pub fn load_tables(
        &self,
        layouter: &mut impl Layouter<Fr>,
        functions: &[FunctionTable<'_>],
    ) -> Result<(), Error> {
        if !functions.is_empty() && self.out.is_none() {
            return Err(Error::Synthesis);
        }
        layouter.assign_table(
            || "range table",
            |mut table| {
                let mut row = 0;
                let mut put = |entry: [Fr; 3]| -> Result<(), Error> {
                    for (c, v) in self.table.iter().zip(entry) {
                        table.assign_cell(|| "table", *c, row, || Value::known(v))?;
                    }
                    row += 1;
                    Ok(())
                };
                for t in TAGS {
                    for v in 0..(1u64 << t) {
                        put([Fr::from(t as u64), Fr::from(v), Fr::ZERO])?;
                    }
                }
                for f in functions {
                    for (j, &y) in f.values.iter().enumerate() {
                        put([
                            Fr::from(FUNCTION_TAGS + f.tag),
                            fe(f.in_lo as i128 + j as i128),
                            fe(y as i128),
                        ])?;
                    }
                }
                Ok(())
            },
        )
    }

    /// One function lookup in lane 0's row `row`: the input cell `x`
    /// (copied from its source) and the output `y` (returned) must be an
    /// entry of function `tag`'s table.
    pub fn lookup_row(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        tag: u64,
        x: &Wire,
        y: Value<Fr>,
    ) -> Result<Wire, Error> {
        let out = self.out.ok_or(Error::Synthesis)?;
        let lane = &self.lanes[0];
        let xc = region.assign_advice(lane.z, row, x.value).cell();
        mutation::equal(region, "lookup/copy:x", xc, x.cell);
        region.assign_fixed(lane.tag, row, Fr::from(FUNCTION_TAGS + tag));
        region.assign_fixed(lane.next, row, Fr::ZERO);
        let cell = region.assign_advice(out, row, y).cell();
        Ok(Wire { cell, value: y })
    }

    /// Constrains `v < 2^bits` (`1 <= bits <= 248`) in rows `offset..offset +
    /// rows_for(bits)` of lane 0; returns the cell holding `v`
    /// (copy-constrain it to the value being checked).
    pub fn check_bits(
        &self,
        region: &mut Region<'_, Fr>,
        offset: usize,
        v: Value<Fr>,
        bits: u32,
    ) -> Result<Wire, Error> {
        Self::check_in(&self.lanes[0], region, offset, v, bits)
    }

    fn check_in(
        lane: &Lane,
        region: &mut Region<'_, Fr>,
        offset: usize,
        v: Value<Fr>,
        bits: u32,
    ) -> Result<Wire, Error> {
        assert!((1..=248).contains(&bits), "range check of {bits} bits");
        let widths = limb_widths(bits);
        let mut z = v;
        let mut first = None;
        for (i, &w) in widths.iter().enumerate() {
            let row = offset + i;
            let cell = region.assign_advice(lane.z, row, z).cell();
            if i == 0 {
                first = Some(Wire { cell, value: z });
            }
            region.assign_fixed(lane.tag, row, Fr::from(w as u64));
            if i + 1 < widths.len() {
                region.assign_fixed(lane.next, row, Fr::from(1u64 << w));
                // z_{i+1} = (z_i - limb_i) / 2^w with limb_i the low w bits of z_i
                // 2^-w as a power of the constant 1/2 (no field inversion per limb)
                let inv_shift = Fr::TWO_INV.pow_vartime([w as u64]);
                z = z.map(|zi| {
                    let repr = zi.to_repr();
                    let low = u64::from_le_bytes(repr[..8].try_into().expect("8 bytes"))
                        & ((1u64 << w) - 1);
                    (zi - Fr::from(low)) * inv_shift
                });
            }
        }
        Ok(first.expect("at least one row"))
    }
}

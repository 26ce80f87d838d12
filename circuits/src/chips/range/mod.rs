//! Range checks by running-sum decomposition into `LIMB_BITS`-bit limbs, one
//! limb per row, every limb looked up in one shared table `[0, 2^LIMB_BITS)`.
//!
//! For `v` in `[0, 2^bits)` the rows hold `z_0 = v`, `z_{i+1} = (z_i -
//! limb_i) / 2^LIMB_BITS`, and `z_L = 0`. Each row `i < L` looks up
//! `m_i * (z_i - 2^LIMB_BITS * z_{i+1})` where the fixed multiplier `m_i` is 1
//! for a full limb and `2^(LIMB_BITS - r)` for a top limb of `r` bits (so it
//! must be below `2^r`), and 0 on rows that are not limbs. A gate pins `z_L`
//! to zero.

#[cfg(test)]
mod tests;

use crate::chips::poseidon::Wire;
use halo2_proofs::circuit::{Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

/// Bits per limb: the table has `2^LIMB_BITS` rows, so circuits using it
/// need `k > LIMB_BITS`.
pub const LIMB_BITS: u32 = 8;

/// One lane: a running-sum column, its limb multipliers and its end gate
/// (each lane has its own lookup into the shared table).
#[derive(Clone, Debug)]
struct Lane {
    z: Column<Advice>,
    multiplier: Column<Fixed>,
    last: Selector,
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
    table: TableColumn,
    /// rows of each lane the checks may use (the circuit sets it from its
    /// size before assigning; unbounded: one lane)
    pub height: usize,
}

/// Rows `check_bits` uses for a `bits`-bit value.
pub fn rows_for(bits: u32) -> usize {
    bits.div_ceil(LIMB_BITS) as usize + 1
}

/// The most rows one check may use (a 248-bit value).
pub const MAX_CHECK_ROWS: usize = (248usize).div_ceil(LIMB_BITS as usize) + 1;

impl RangeConfig {
    /// One lane over `z` (advice) and `multiplier` (fixed).
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        z: Column<Advice>,
        multiplier: Column<Fixed>,
    ) -> RangeConfig {
        Self::configure_lanes(meta, &[(z, multiplier)])
    }

    /// One lane per `(z, multiplier)` pair, all looking up one table.
    pub fn configure_lanes(
        meta: &mut ConstraintSystem<Fr>,
        columns: &[(Column<Advice>, Column<Fixed>)],
    ) -> RangeConfig {
        assert!(!columns.is_empty(), "at least one range lane");
        let table = meta.lookup_table_column();
        let shift = Fr::from(1u64 << LIMB_BITS);
        let lanes: Vec<Lane> = columns
            .iter()
            .map(|&(z, multiplier)| {
                let last = meta.selector();
                meta.enable_equality(z);
                meta.lookup("range limb", |meta| {
                    let m = meta.query_fixed(multiplier, Rotation::cur());
                    let cur = meta.query_advice(z, Rotation::cur());
                    let next = meta.query_advice(z, Rotation::next());
                    vec![(m * (cur - next * shift), table)]
                });
                meta.create_gate("range running sum ends at zero", |meta| {
                    let q = meta.query_selector(last);
                    vec![q * meta.query_advice(z, Rotation::cur())]
                });
                Lane {
                    z,
                    multiplier,
                    last,
                }
            })
            .collect();
        RangeConfig {
            z: lanes[0].z,
            lanes,
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

    /// Fills the limb table (once per circuit).
    pub fn load_table(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "range table",
            |mut table| {
                for v in 0..(1u64 << LIMB_BITS) {
                    table.assign_cell(
                        || "limb",
                        self.table,
                        v as usize,
                        || Value::known(Fr::from(v)),
                    )?;
                }
                Ok(())
            },
        )
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
        let limbs = bits.div_ceil(LIMB_BITS) as usize;
        let top = bits - (limbs as u32 - 1) * LIMB_BITS;
        let inv_shift = Fr::from(1u64 << LIMB_BITS).invert().unwrap_or(Fr::ZERO);
        let mut z = v;
        let mut first = None;
        for i in 0..=limbs {
            let cell = region.assign_advice(lane.z, offset + i, z).cell();
            if i == 0 {
                first = Some(Wire { cell, value: z });
            }
            if i < limbs {
                let m = if i + 1 == limbs {
                    Fr::from(1u64 << (LIMB_BITS - top))
                } else {
                    Fr::ONE
                };
                region.assign_fixed(lane.multiplier, offset + i, m);
                // z_{i+1} = (z_i - limb_i) / 2^LIMB_BITS with limb_i the low bits of z_i
                z = z.map(|zi| {
                    let repr = zi.to_repr();
                    let low = u64::from_le_bytes(repr[..8].try_into().expect("8 bytes"))
                        & ((1u64 << LIMB_BITS) - 1);
                    (zi - Fr::from(low)) * inv_shift
                });
            } else {
                lane.last.enable(region, offset + i)?;
            }
        }
        Ok(first.expect("at least one row"))
    }
}

//! The shard circuit's columns: a bank of advice and fixed columns shared
//! by the chips with few rows, the range lanes, and the chips a plan uses
//! (the others are not configured at all), plus the row cursors of one
//! synthesis.

use super::forge::ForgeAt;
#[cfg(test)]
use super::forge::Forges;
use super::params::{chips, ShardParams, MAX_RANGE_LANES};
use crate::chips::divide::{DivideConfig, ADVICE as DIVIDE_ADVICE};
use crate::chips::dot::DotConfig;
use crate::chips::lookup::LookupConfig;
use crate::chips::matmul::MatMulConfig;
use crate::chips::maxpool::MaxPoolConfig;
use crate::chips::poseidon::PoseidonConfig;
use crate::chips::range::RangeConfig;
use crate::chips::rescale::{RescaleConfig, ADVICE as RESCALE_ADVICE};
use crate::mutation;
use halo2_proofs::circuit::Value;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, FirstPhase, Fixed, Instance, SecondPhase, Selector,
};
use halo2_proofs::poly::Rotation;

/// Bank columns every circuit has (all equality-enabled: chips copy into them).
const BANK: usize = RESCALE_ADVICE;

/// Columns of the shard circuit.
#[derive(Clone, Debug)]
pub struct ShardConfig {
    pub(super) src: Column<Advice>,
    pub(super) consts: Column<Fixed>,
    pub(super) const_on: Selector,
    pub(super) instance: Column<Instance>,
    pub(super) pack_val: Column<Advice>,
    pub(super) pack_u: Column<Advice>,
    pub(super) pack_acc: Column<Advice>,
    pub(super) pack_base: Column<Fixed>,
    pub(super) pack_lo: Column<Fixed>,
    pub(super) pack_step: Selector,
    pub(super) pack_start: Selector,
    /// (tests) the circuit's forged cells
    #[cfg(test)]
    pub(super) forges: Forges,
    pub(super) range: RangeConfig,
    /// the chips a circuit uses (ShardParams::chips); the others are not
    /// configured at all, so they cost no columns, gates or lookups
    pub(super) rescale: Option<RescaleConfig>,
    /// rounded divisions and running sums (AvgPool, Softmax), on the rescale
    /// chip's columns and rows
    pub(super) divide: Option<DivideConfig>,
    pub(super) matmul: Option<MatMulConfig>,
    /// products by one constant column, on the bank
    pub(super) dot: Option<DotConfig>,
    pub(super) maxpool: Option<MaxPoolConfig>,
    pub(super) lookup: Option<LookupConfig>,
    pub(super) poseidon: PoseidonConfig,
}

impl ShardConfig {
    /// A chip this circuit was configured with (a missing one is a
    /// synthesis error: the parameters do not match the plan).
    fn chip<T>(c: &Option<T>) -> Result<&T, Error> {
        c.as_ref().ok_or(Error::Synthesis)
    }
    pub(super) fn rescale(&self) -> Result<&RescaleConfig, Error> {
        Self::chip(&self.rescale)
    }
    pub(super) fn divide(&self) -> Result<&DivideConfig, Error> {
        Self::chip(&self.divide)
    }
    pub(super) fn matmul(&self) -> Result<&MatMulConfig, Error> {
        Self::chip(&self.matmul)
    }
    pub(super) fn dot(&self) -> Result<&DotConfig, Error> {
        Self::chip(&self.dot)
    }
    pub(super) fn maxpool(&self) -> Result<&MaxPoolConfig, Error> {
        Self::chip(&self.maxpool)
    }
    pub(super) fn lookup(&self) -> Result<&LookupConfig, Error> {
        Self::chip(&self.lookup)
    }

    /// The witness value `v` of the cell at `at`: `v` itself, but in this
    /// crate's tests a cheating prover's replacement when one is set.
    #[inline(always)]
    pub(super) fn forged(&self, at: ForgeAt, v: Value<Fr>) -> Value<Fr> {
        #[cfg(test)]
        {
            self.forges.apply(at, v)
        }
        #[cfg(not(test))]
        {
            let _ = at;
            v
        }
    }
}

/// Row counters of each column group inside the one region.
#[derive(Default)]
pub(super) struct Cursor {
    /// the shared bank (inputs and constants, packing, Poseidon,
    /// requantization and divisions, maxpool)
    pub(super) bank: usize,
    pub(super) range: usize,
    pub(super) matmul: usize,
    /// function lookups: the first rows of range lane 0 (the range checks
    /// start after them)
    pub(super) lookup: usize,
}

impl ShardConfig {
    /// Declares every column, gate and lookup of a shard circuit of shape
    /// `params` (only the chips it uses).
    pub(super) fn configure(meta: &mut ConstraintSystem<Fr>, params: ShardParams) -> ShardConfig {
        let has = |flag: u32| params.chips & flag != 0;
        // The bank: advice and fixed columns shared by every chip whose rows
        // are few (inputs and constants, packing, Poseidon, requantization,
        // divisions, maxpool). They take consecutive rows of one cursor, so
        // their selectors never meet on a row, and the circuit pays for one
        // set of columns instead of one per chip. The divide chip's rows are
        // wider: with it the bank has its width.
        let wide = has(chips::DIVIDE);
        let (advice_n, fixed_n) = super::params::bank_width(params.chips);
        let bank: Vec<Column<Advice>> = (0..advice_n)
            .map(|_| meta.advice_column_in(FirstPhase))
            .collect();
        for &c in &bank[..BANK] {
            meta.enable_equality(c);
        }
        let fixed_bank: Vec<Column<Fixed>> = (0..fixed_n).map(|_| meta.fixed_column()).collect();
        let src = bank[0];
        // constants: a gate pins src to a fixed bank column on their rows
        // (no equality-enabled fixed column)
        let consts = fixed_bank[0];
        let const_on = meta.selector();
        meta.create_gate("constant", |meta| {
            let q = meta.query_selector(const_on);
            vec![mutation::gate(
                "shard/gate:constant",
                q * (meta.query_advice(src, Rotation::cur())
                    - meta.query_fixed(consts, Rotation::cur())),
            )]
        });
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        // (src and the packing columns are bank columns: equality-enabled above)
        let (pack_val, pack_u, pack_acc) = (bank[0], bank[1], bank[2]);
        let (pack_base, pack_lo) = (fixed_bank[0], fixed_bank[1]);
        let (pack_step, pack_start) = (meta.selector(), meta.selector());
        meta.create_gate("pack step", |meta| {
            let q = meta.query_selector(pack_step);
            let (val, u) = (
                meta.query_advice(pack_val, Rotation::cur()),
                meta.query_advice(pack_u, Rotation::cur()),
            );
            let (acc, next) = (
                meta.query_advice(pack_acc, Rotation::cur()),
                meta.query_advice(pack_acc, Rotation::next()),
            );
            let (base, lo) = (
                meta.query_fixed(pack_base, Rotation::cur()),
                meta.query_fixed(pack_lo, Rotation::cur()),
            );
            vec![
                mutation::gate("shard/gate:pack-u", q.clone() * (u.clone() - (val - lo))),
                mutation::gate("shard/gate:pack-acc", q * (next - (acc * base + u))),
            ]
        });
        meta.create_gate("pack start", |meta| {
            let q = meta.query_selector(pack_start);
            vec![mutation::gate(
                "shard/gate:pack-start",
                q * meta.query_advice(pack_acc, Rotation::cur()),
            )]
        });
        let lanes: Vec<_> = (0..params.range_lanes.clamp(1, MAX_RANGE_LANES))
            .map(|_| (meta.advice_column(), meta.fixed_column()))
            .collect();
        // function lookups share lane 0's lookup argument (an output column)
        let out = has(chips::LOOKUP).then(|| meta.advice_column());
        let range = RangeConfig::configure_lanes_with_output(meta, &lanes, out);
        // (one element per row when the bank is wide)
        let rescale = has(chips::RESCALE)
            .then(|| RescaleConfig::configure(meta, &bank, &fixed_bank, range.clone()));
        // the divide chip's cells that are never copied (sl, sh: its columns
        // 8 and 9) sit in the bank's last columns
        let divide = wide.then(|| {
            const ORDER: [usize; DIVIDE_ADVICE] = [0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 8, 9, 10];
            let advice = std::array::from_fn(|i| bank[ORDER[i]]);
            let fixed = std::array::from_fn(|i| fixed_bank[i]);
            DivideConfig::configure(meta, advice, fixed, range.clone())
        });
        let dot = has(chips::DOT).then(|| DotConfig::configure(meta, &bank, &fixed_bank));
        let matmul = has(chips::MATMUL).then(|| {
            let val = meta.advice_column_in(FirstPhase);
            let r = meta.challenge_usable_after(FirstPhase);
            let (acc, w) = (
                meta.advice_column_in(SecondPhase),
                meta.advice_column_in(SecondPhase),
            );
            let mm_fixed = meta.fixed_column();
            MatMulConfig::configure(meta, val, acc, w, mm_fixed, r)
        });
        let lookup = has(chips::LOOKUP).then(|| LookupConfig {
            range: range.clone(),
        });
        let maxpool = has(chips::MAXPOOL).then(|| {
            let pool_cols = [bank[0], bank[1], bank[2], bank[3]];
            MaxPoolConfig::configure(meta, pool_cols, range.clone())
        });
        let state = [bank[0], bank[1], bank[2]];
        let aux = [bank[3], bank[4], bank[5]];
        let rc = [fixed_bank[2], fixed_bank[3], fixed_bank[4]];
        let poseidon = PoseidonConfig::configure(meta, state, aux, rc);
        ShardConfig {
            src,
            consts,
            const_on,
            instance,
            pack_val,
            pack_u,
            pack_acc,
            pack_base,
            pack_lo,
            pack_step,
            pack_start,
            #[cfg(test)]
            forges: Default::default(),
            range,
            rescale,
            divide,
            matmul,
            dot,
            maxpool,
            lookup,
            poseidon,
        }
    }
}

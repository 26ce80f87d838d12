//! The state of one synthesis pass over a shard's plan: the region, the row
//! cursors, the wires of every tensor laid out so far and the Freivalds
//! products waiting for the second phase.

use super::config::{Cursor, ShardConfig};
use crate::chips::matmul::{MatMulPhase1, Weights};
use crate::chips::poseidon::Wire;
use crate::plan::TensorId;
use halo2_proofs::circuit::Region;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::Error;
use std::collections::HashMap;

/// A Freivalds product whose first phase is laid out: its row offset, the
/// cells, the weights and `A`'s zero point.
pub(super) type Pending = (usize, MatMulPhase1, Weights, i64);

pub(super) struct Synth<'a, 'r> {
    pub(super) config: &'a ShardConfig,
    pub(super) region: &'a mut Region<'r, Fr>,
    pub(super) cur: Cursor,
    pub(super) wires: HashMap<TensorId, Vec<Wire>>,
    pub(super) pending: Vec<Pending>,
}

impl<'a, 'r> Synth<'a, 'r> {
    /// A pass whose range checks start after `lookup_rows` function lookups
    /// (the first rows of range lane 0).
    pub(super) fn new(
        config: &'a ShardConfig,
        region: &'a mut Region<'r, Fr>,
        lookup_rows: usize,
    ) -> Self {
        Synth {
            config,
            region,
            cur: Cursor {
                range: lookup_rows,
                ..Cursor::default()
            },
            wires: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// The wires of tensor `t` (laid out earlier).
    pub(super) fn operand(&self, t: TensorId) -> Result<Vec<Wire>, Error> {
        self.wires.get(&t).cloned().ok_or(Error::Synthesis)
    }
}

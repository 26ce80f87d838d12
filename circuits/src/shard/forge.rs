//! Forged cells: where the shard circuit's own tests play a cheating prover
//! (a commitment's packing rows, its sponge inputs, a constant). Outside
//! this crate's tests [`ForgeAt`] only names a cell and nothing is replaced
//! (see `ShardConfig::forged`).

#[cfg(test)]
use halo2_proofs::circuit::Value;
#[cfg(test)]
use halo2_proofs::halo2curves::bn256::Fr;

/// A cell of a commitment's witness, or of a constant (tests replace it to
/// play a cheating prover; see [`ShardConfig::forged`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ForgeAt {
    /// the packing row of the tensor's value `j`: the copy of the value, its
    /// offset `u`, the `u` the accumulator adds, the value its range check sees
    Val(usize),
    U(usize),
    AccU(usize),
    Checked(usize),
    /// the accumulator start of packed element `e`
    Start(usize),
    /// sponge input `k` (0: `lo`, then the packed elements)
    Absorbed(usize),
    /// the constant cell on bank row `row`
    Constant(usize),
}

/// (tests) Forged cells: `(commitment, cell, value)` with commitment 0 the
/// input's and 1 the output's (ignored for constants).
#[cfg(test)]
#[derive(Clone, Debug, Default)]
pub(super) struct Forges {
    pub(super) cells: Vec<(usize, ForgeAt, Fr)>,
    /// the commitment being assigned
    pub(super) commitment: std::cell::Cell<usize>,
}

#[cfg(test)]
impl Forges {
    pub(super) fn apply(&self, at: ForgeAt, v: Value<Fr>) -> Value<Fr> {
        let c = self.commitment.get();
        self.cells
            .iter()
            .find(|(k, a, _)| *a == at && (*k == c || matches!(at, ForgeAt::Constant(_))))
            .map_or(v, |&(_, _, f)| Value::known(f))
    }
}

//! The hybrid mode's commitment record and its sample.
//!
//! A prover first runs the whole model and publishes a [`CommitRecord`]: the
//! model hash, the keys digest and the Poseidon commitment at every shard
//! boundary (the input, then each shard's output), with no proof. The
//! verifier keeps the record's hash ([`CommitRecord::hash`]) and only then
//! gives its randomness (a seed it chose, or a block hash drawn after the
//! record was posted). The shards to prove are [`draw_sample`] of (record
//! hash, randomness): the prover fixed every boundary before it could know
//! the sample, so re-rolling a wrong value changes the record's hash (which
//! the verifier holds) and cannot move the sample. Every shard left out
//! stays open to challenge: its proof against the recorded boundaries is
//! owed on demand, and none exists for a wrong boundary.
//!
//! Record file layout (little-endian):
//!
//! ```text
//! "ZKINFREC"  version u32
//! model hash  32 bytes (SHA-256 of the plan)
//! keys digest 32 bytes
//! beacon      u8 kind: 0 none, 1 drand (then chain hash 32 bytes, round u64)
//! shards      u32 n, then (n + 1) × 32-byte commitments (canonical Fr)
//! ```
//!
//! A record that names a beacon round takes its randomness from that round
//! (the hex of its signature), not from the verifier: see [`crate::beacon`].

use crate::check::detection_probability;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use sha2::{Digest, Sha256};
use thiserror::Error;

pub const RECORD_MAGIC: &[u8; 8] = b"ZKINFREC";
pub const RECORD_FORMAT_VERSION: u32 = 2;
/// The most shards a record may hold (as a bundle).
pub const MAX_RECORD_SHARDS: usize = 1 << 16;
/// The longest randomness (seed) accepted, in bytes.
pub const MAX_SEED_BYTES: usize = 1024;

#[derive(Debug, Error, PartialEq)]
pub enum CommitRecordError {
    #[error("not a zkinf commitment record (bad magic bytes)")]
    BadMagic,
    #[error("commitment record format version {found} is not supported (this zkinf reads version {supported})")]
    Version { found: u32, supported: u32 },
    #[error("the commitment record is truncated (in its {0})")]
    Truncated(&'static str),
    #[error("{0} trailing bytes after the commitment record")]
    Trailing(usize),
    #[error("the commitment record holds {0} shards (between 1 and {MAX_RECORD_SHARDS})")]
    Shards(usize),
    #[error("commitment record: commitment {0} is not a canonical field element")]
    Commitment(usize),
    #[error("commitment record: unknown beacon kind {0} (0 none, 1 drand)")]
    BeaconKind(u8),
}

/// A drand round named in a record: its randomness draws the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeaconRound {
    /// the drand chain hash
    pub chain: [u8; 32],
    pub round: u64,
}

/// What a prover commits to before it learns the sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRecord {
    /// SHA-256 of the plan (the model's identity)
    pub model_hash: [u8; 32],
    /// the keys digest (SRS verifier part and every verifying key)
    pub keys_digest: [u8; 32],
    /// the beacon round whose randomness draws the sample, if any (else
    /// the verifier gives its own after it kept the record's hash)
    pub beacon: Option<BeaconRound>,
    /// the commitment at every boundary: the input, then each shard's output
    pub boundaries: Vec<Fr>,
}

impl CommitRecord {
    /// The number of shards (boundaries less one).
    pub fn shards(&self) -> usize {
        self.boundaries.len().saturating_sub(1)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + 32 * self.boundaries.len());
        out.extend(RECORD_MAGIC);
        out.extend(RECORD_FORMAT_VERSION.to_le_bytes());
        out.extend(self.model_hash);
        out.extend(self.keys_digest);
        match &self.beacon {
            None => out.push(0),
            Some(b) => {
                out.push(1);
                out.extend(b.chain);
                out.extend(b.round.to_le_bytes());
            }
        }
        out.extend((self.shards() as u32).to_le_bytes());
        for b in &self.boundaries {
            out.extend(b.to_repr().as_ref());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<CommitRecord, CommitRecordError> {
        let mut at = 0usize;
        let mut take = |n: usize, what: &'static str| -> Result<&[u8], CommitRecordError> {
            let s = bytes
                .get(at..at + n)
                .ok_or(CommitRecordError::Truncated(what))?;
            at += n;
            Ok(s)
        };
        if take(8, "magic").map_err(|_| CommitRecordError::BadMagic)? != RECORD_MAGIC {
            return Err(CommitRecordError::BadMagic);
        }
        let found = u32::from_le_bytes(take(4, "version")?.try_into().unwrap_or_default());
        if found != RECORD_FORMAT_VERSION {
            return Err(CommitRecordError::Version {
                found,
                supported: RECORD_FORMAT_VERSION,
            });
        }
        let model_hash: [u8; 32] = take(32, "model hash")?.try_into().unwrap_or_default();
        let keys_digest: [u8; 32] = take(32, "keys digest")?.try_into().unwrap_or_default();
        let beacon = match take(1, "beacon")?[0] {
            0 => None,
            1 => Some(BeaconRound {
                chain: take(32, "beacon")?.try_into().unwrap_or_default(),
                round: u64::from_le_bytes(take(8, "beacon")?.try_into().unwrap_or_default()),
            }),
            k => return Err(CommitRecordError::BeaconKind(k)),
        };
        let n = u32::from_le_bytes(take(4, "shard count")?.try_into().unwrap_or_default()) as usize;
        if n == 0 || n > MAX_RECORD_SHARDS {
            return Err(CommitRecordError::Shards(n));
        }
        let mut boundaries = Vec::with_capacity(n + 1);
        for i in 0..=n {
            let repr: [u8; 32] = take(32, "commitments")?.try_into().unwrap_or_default();
            let c: Option<Fr> = Fr::from_repr(repr).into();
            boundaries.push(c.ok_or(CommitRecordError::Commitment(i))?);
        }
        if at != bytes.len() {
            return Err(CommitRecordError::Trailing(bytes.len() - at));
        }
        Ok(CommitRecord {
            model_hash,
            keys_digest,
            beacon,
            boundaries,
        })
    }

    /// SHA-256 of the record file: what the verifier keeps before it gives
    /// its randomness.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }
}

/// The `m` shards (sorted, distinct) out of `n` that a record with hash
/// `record_hash` must prove under the verifier's `randomness`: a
/// Fisher-Yates draw from SHA-256 of both.
pub fn draw_sample(record_hash: &[u8; 32], randomness: &[u8], n: usize, m: u32) -> Vec<u32> {
    let mut h = Sha256::new();
    h.update(b"zkinf-sample-v1");
    h.update(record_hash);
    h.update((randomness.len() as u32).to_le_bytes());
    h.update(randomness);
    h.update((n as u32).to_le_bytes());
    h.update(m.to_le_bytes());
    let seed: [u8; 32] = h.finalize().into();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let m = (m as usize).min(n);
    for j in 0..m {
        let mut d = Sha256::new();
        d.update(seed);
        d.update((j as u32).to_le_bytes());
        let r: [u8; 32] = d.finalize().into();
        let r = u128::from_le_bytes(r[..16].try_into().unwrap_or([0; 16]));
        let pick = j + (r % (n - j) as u128) as usize;
        order.swap(j, pick);
    }
    let mut s = order[..m].to_vec();
    s.sort_unstable();
    s
}

/// The smallest sample out of `n` shards that catches `bad` wrong ones with
/// probability at least `p` (`n` when none smaller does).
pub fn sample_size_for(n: usize, bad: usize, p: f64) -> usize {
    (1..=n)
        .find(|&m| detection_probability(n, m, bad) >= p - 1e-12)
        .unwrap_or(n)
}

//! The bundle: one self-contained file with everything needed to check an
//! inference — the Plan (the model, whose SHA-256 is its identity), the
//! SRS verifier part, every shard's verifying key and proof, the claimed
//! input and output (quantized integers), and, for an audit (hybrid mode),
//! the commitments at every shard boundary with proofs for a sample only.
//!
//! Layout (little-endian):
//!
//! ```text
//! "ZKINFBND"  version u32  kind u8 (1 chain, 2 audit)
//! plan        u32 length + bytes
//! srs         160 bytes (SrsVerifierPart)
//! input       u32 count + count × i64
//! output      u32 count + count × i64
//! shards      u32 count, then per shard: its nodes of the plan (u32 start,
//!             u32 end), u32 length + verifying-key file, u32 length +
//!             proof file (length 0: not proven)
//! audit only  u32 sample size M, u32 length + the verifier's randomness,
//!             u32 length + the commitment record file ([`CommitRecord`])
//! ```
//!
//! Format 3 (this one) carries the commitment record and the randomness the
//! sample is drawn from; format 2 audits drew their sample from a hash of the
//! prover's own commitments (a cheater could re-roll a wrong value until the
//! sample missed it) and are refused. Chain bundles are the same in both and
//! read.

use crate::claim::ClaimError;
use crate::record::{CommitRecord, CommitRecordError, MAX_SEED_BYTES};
use crate::srs::{SrsPartError, SrsVerifierPart, SRS_PART_BYTES};
use thiserror::Error;
use zkinf_circuits::shard::{ShardError, ShardSpec};
use zkinf_circuits::PlanError;

/// Version 2 added each shard's node range (so that a verifier can rebuild
/// the verifying keys from the plan); version 3 the commitment record and
/// the randomness of an audit. Version 1 bundles and version 2 audits are
/// refused (version 2 chains read).
pub const BUNDLE_FORMAT_VERSION: u32 = 3;
pub const BUNDLE_MAGIC: &[u8; 8] = b"ZKINFBND";
/// The most shards a bundle may hold.
pub const MAX_BUNDLE_SHARDS: usize = 1 << 16;

#[derive(Debug, Error, PartialEq)]
pub enum BundleError {
    #[error("not a zkinf bundle (bad magic bytes)")]
    BadMagic,
    #[error(
        "bundle format version {found} is not supported (this zkinf reads version {supported})"
    )]
    Version { found: u32, supported: u32 },
    #[error("unknown bundle kind {0}")]
    Kind(u8),
    #[error("the bundle is truncated (in its {0})")]
    Truncated(&'static str),
    #[error("{0} trailing bytes after the bundle")]
    Trailing(usize),
    #[error("the bundle holds {0} shards (at most {MAX_BUNDLE_SHARDS})")]
    TooManyShards(usize),
    #[error("the bundle holds no shards")]
    NoShards,
    #[error("bundle: {0}")]
    Srs(#[from] SrsPartError),
    #[error("the bundle's {0}")]
    Record(#[from] CommitRecordError),
    #[error("audit: randomness of {0} bytes (between 1 and {MAX_SEED_BYTES})")]
    Randomness(usize),
    #[error("this is an audit bundle of format 2, whose sample the prover's own commitments chose; make a new audit (zkinf commit, then sample with the verifier's randomness)")]
    OldAudit,
    #[error("audit record: sample of {sample} shards out of {shards}")]
    Sample { sample: u32, shards: usize },
    #[error("the bundle's model: {0}")]
    Plan(#[from] PlanError),
    #[error(
        "the bundle's model has {inputs} inputs and {outputs} outputs (bundles carry one of each)"
    )]
    Arity { inputs: usize, outputs: usize },
    #[error("the bundle's {0}")]
    Claim(#[from] ClaimError),
    #[error("the bundle's shards do not cut its model: {0}")]
    Cut(ShardError),
    #[error("the bundle's audit record has {found} boundary commitments for {shards} shards")]
    Boundaries { found: usize, shards: usize },
    #[error("this is {found} bundle, expected {expected} bundle")]
    WrongKind {
        found: &'static str,
        expected: &'static str,
    },
}

/// What a bundle claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleKind {
    /// every shard proven, linked in order
    Chain,
    /// commitments at every boundary, proofs of a sample of shards
    Audit,
}

impl BundleKind {
    pub fn name(self) -> &'static str {
        match self {
            BundleKind::Chain => "chain",
            BundleKind::Audit => "audit",
        }
    }
    fn article_name(self) -> &'static str {
        match self {
            BundleKind::Chain => "a chain",
            BundleKind::Audit => "an audit",
        }
    }
}

/// One shard's files.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleShard {
    /// the plan's nodes `start..end` this shard proves
    pub nodes: ShardSpec,
    /// verifying-key file bytes
    pub vk: Vec<u8>,
    /// proof file bytes, `None` when the shard was not proven (audit)
    pub proof: Option<Vec<u8>>,
}

/// The audit of a hybrid run: the commitment record made before the
/// sample was known, the verifier's randomness and the sample size.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// how many shards are proven (drawn from the record's hash and the
    /// randomness)
    pub sample: u32,
    /// the verifier's randomness (its seed, or a block hash)
    pub randomness: Vec<u8>,
    pub record: CommitRecord,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    pub plan: Vec<u8>,
    pub srs: SrsVerifierPart,
    pub input: Vec<i64>,
    pub output: Vec<i64>,
    pub shards: Vec<BundleShard>,
    pub audit: Option<AuditRecord>,
}

impl Bundle {
    pub fn kind(&self) -> BundleKind {
        if self.audit.is_some() {
            BundleKind::Audit
        } else {
            BundleKind::Chain
        }
    }

    /// Errors unless the bundle is of kind `expected`.
    pub fn expect_kind(&self, expected: BundleKind) -> Result<(), BundleError> {
        if self.kind() != expected {
            return Err(BundleError::WrongKind {
                found: self.kind().article_name(),
                expected: expected.article_name(),
            });
        }
        Ok(())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = BUNDLE_MAGIC.to_vec();
        out.extend(BUNDLE_FORMAT_VERSION.to_le_bytes());
        out.push(match self.kind() {
            BundleKind::Chain => 1,
            BundleKind::Audit => 2,
        });
        put_bytes(&mut out, &self.plan);
        out.extend(self.srs.to_bytes());
        for ints in [&self.input, &self.output] {
            out.extend((ints.len() as u32).to_le_bytes());
            for v in ints {
                out.extend(v.to_le_bytes());
            }
        }
        out.extend((self.shards.len() as u32).to_le_bytes());
        for s in &self.shards {
            out.extend((s.nodes.start as u32).to_le_bytes());
            out.extend((s.nodes.end as u32).to_le_bytes());
            put_bytes(&mut out, &s.vk);
            put_bytes(&mut out, s.proof.as_deref().unwrap_or(&[]));
        }
        if let Some(a) = &self.audit {
            out.extend(a.sample.to_le_bytes());
            put_bytes(&mut out, &a.randomness);
            put_bytes(&mut out, &a.record.to_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let mut rd = Reader { bytes, at: 0 };
        if rd.take(8, "header").ok() != Some(&BUNDLE_MAGIC[..]) {
            return Err(BundleError::BadMagic);
        }
        let version = rd.u32("header")?;
        if !(2..=BUNDLE_FORMAT_VERSION).contains(&version) {
            return Err(BundleError::Version {
                found: version,
                supported: BUNDLE_FORMAT_VERSION,
            });
        }
        let kind = match rd.take(1, "header")?[0] {
            1 => BundleKind::Chain,
            2 if version == 2 => return Err(BundleError::OldAudit),
            2 => BundleKind::Audit,
            k => return Err(BundleError::Kind(k)),
        };
        let plan = rd.bytes("plan")?.to_vec();
        let srs = SrsVerifierPart::from_bytes(rd.take(SRS_PART_BYTES, "SRS verifier part")?)?;
        let input = rd.ints("claimed input")?;
        let output = rd.ints("claimed output")?;
        let n = rd.u32("shard list")? as usize;
        if n == 0 {
            return Err(BundleError::NoShards);
        }
        if n > MAX_BUNDLE_SHARDS {
            return Err(BundleError::TooManyShards(n));
        }
        let mut shards = Vec::new();
        for _ in 0..n {
            let start = rd.u32("shard nodes")? as usize;
            let end = rd.u32("shard nodes")? as usize;
            let vk = rd.bytes("verifying keys")?.to_vec();
            let proof = rd.bytes("proofs")?;
            shards.push(BundleShard {
                nodes: ShardSpec { start, end },
                vk,
                proof: (!proof.is_empty()).then(|| proof.to_vec()),
            });
        }
        let audit = match kind {
            BundleKind::Chain => None,
            BundleKind::Audit => {
                let sample = rd.u32("audit record")?;
                if sample == 0 || sample as usize > n {
                    return Err(BundleError::Sample { sample, shards: n });
                }
                let randomness = rd.bytes("audit randomness")?.to_vec();
                if randomness.is_empty() || randomness.len() > MAX_SEED_BYTES {
                    return Err(BundleError::Randomness(randomness.len()));
                }
                let record = CommitRecord::from_bytes(rd.bytes("audit record")?)?;
                Some(AuditRecord {
                    sample,
                    randomness,
                    record,
                })
            }
        };
        if rd.at != bytes.len() {
            return Err(BundleError::Trailing(bytes.len() - rd.at));
        }
        Ok(Bundle {
            plan,
            srs,
            input,
            output,
            shards,
            audit,
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend((b.len() as u32).to_le_bytes());
    out.extend(b);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], BundleError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(BundleError::Truncated(what))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, BundleError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], BundleError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }
    fn ints(&mut self, what: &'static str) -> Result<Vec<i64>, BundleError> {
        let n = self.u32(what)? as usize;
        let raw = self.take(n.checked_mul(8).ok_or(BundleError::Truncated(what))?, what)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
}

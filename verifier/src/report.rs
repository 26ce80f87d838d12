//! What a verification found, as a serializable report: each shard's
//! result, the claims, and the verdict with what it was checked against
//! ([`Trust`]): a chain that verifies against keys the bundle itself
//! carries proves nothing unless those keys are the model owner's.

use crate::format::FormatError;
use crate::key::KeyError;
use crate::verify::VerifyError;
use serde::{Serialize, Serializer};
use thiserror::Error;

/// What the person verifying expects, beyond what the bundle says of
/// itself: a model hash and a keys digest published by the model owner.
#[derive(Clone, Debug, Default)]
pub struct Pins {
    pub model_hash: Option<String>,
    pub keys_digest: Option<String>,
    /// an audit's commitment record hash, kept by the verifier before it
    /// gave its randomness
    pub record_hash: Option<String>,
    /// the randomness the verifier gave (its seed, or the block hash)
    pub randomness: Option<String>,
    /// the smallest sample the verifier accepts
    pub min_sample: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardStatus {
    Verified,
    Rejected,
    /// an audit's shard outside the sample: open to challenge
    NotSampled,
}

/// Why one shard of a bundle is rejected.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ShardFailure {
    #[error("shard {shard}: verifying key: {source}")]
    Key { shard: u32, source: KeyError },
    #[error("shard {shard}: no proof in the bundle")]
    MissingProof { shard: u32 },
    #[error("shard {shard}: proof: {source}")]
    Proof { shard: u32, source: FormatError },
    #[error("shard {shard}: the input commitment does not match the claimed input")]
    ClaimedInput { shard: u32 },
    #[error("shard {shard}: the output commitment does not match the claimed output")]
    ClaimedOutput { shard: u32 },
    #[error("shard {shard}: the input commitment differs from the audit record's")]
    RecordedInput { shard: u32 },
    #[error("shard {shard}: the output commitment differs from the audit record's")]
    RecordedOutput { shard: u32 },
    /// any other verifier error (model, index, link, SRS size, the proof)
    #[error(transparent)]
    Verify(VerifyError),
}

/// Why a bundle is not verified (the first reason found).
#[derive(Clone, Debug, Error, PartialEq)]
pub enum Failure {
    #[error("the bundle is of model {found}, not of the expected model {expected}")]
    ModelPin { found: String, expected: String },
    #[error("the bundle's keys digest is {found}, not the expected {expected}")]
    KeysPin { found: String, expected: String },
    #[error("the bundle's SRS verifier part is not the one of the SRS given to rebuild its keys")]
    RebuiltSrs,
    #[error("shard {shard}: the bundle's verifying key is not the one its model gives (rebuilt from the plan and the SRS)")]
    RebuiltKey { shard: u32 },
    #[error("the commitment record's hash is {found}, not the {expected} the verifier kept: its commitments changed after the randomness was given")]
    RecordPin { found: String, expected: String },
    #[error("the audit's randomness is {found:?}, not the {expected:?} the verifier gave")]
    RandomnessPin { found: String, expected: String },
    #[error("the audit's randomness: {0}")]
    Beacon(crate::BeaconError),
    #[error(
        "the audit proves a sample of {sample} shard(s), below the verifier's floor of {floor}"
    )]
    SampleFloor { sample: u32, floor: u32 },
    #[error("the commitment record is of model {found}, not of the bundle's model {expected}")]
    RecordModel { found: String, expected: String },
    #[error("the commitment record names keys digest {found}, not the bundle's {expected}")]
    RecordKeys { found: String, expected: String },
    #[error("the audit record's input commitment does not match the claimed input")]
    RecordedInput,
    #[error("the audit record's output commitment does not match the claimed output")]
    RecordedOutput,
    #[error(transparent)]
    Shard(#[from] ShardFailure),
}

/// Errors serialize as their one-line message (the page shows it).
fn as_message<E: std::fmt::Display, S: Serializer>(e: &Option<E>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.collect_str(e),
        None => s.serialize_none(),
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ShardReport {
    pub index: u32,
    /// the circuit's size, `2^k` rows (when its key reads)
    pub k: Option<u32>,
    pub status: ShardStatus,
    #[serde(serialize_with = "as_message")]
    pub error: Option<ShardFailure>,
    pub proof_bytes: usize,
    /// time to verify this shard, in milliseconds
    pub ms: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TensorReport {
    pub name: String,
    pub shape: Vec<usize>,
    /// the integers the commitments are of
    pub q: Vec<i64>,
    /// dequantized with the model's scales
    pub values: Vec<f64>,
    /// index of the largest value (the predicted class of a classifier)
    pub argmax: Option<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// the shards drawn from the record's hash and the randomness
    pub sample: Vec<u32>,
    pub shards: usize,
    /// probability that the sample catches a run with one wrong shard
    pub detection_one: f64,
    /// the sample sizes that catch one wrong shard with probability 0.9
    /// and 0.99
    pub for_90: usize,
    pub for_99: usize,
    /// SHA-256 of the commitment record
    pub record_hash: String,
    /// the verifier's randomness (as text)
    pub randomness: String,
    /// the record hash was compared with the one the verifier kept
    pub record_pinned: bool,
    /// the randomness was compared with the one the verifier gave
    pub randomness_pinned: bool,
    /// the verifier's floor on the sample size
    pub floor: Option<u32>,
    /// the beacon round the record names, its signature verified as the
    /// randomness
    pub beacon: Option<crate::BeaconReport>,
}

impl AuditReport {
    /// Record the verifier's, and randomness the verifier's or a verified
    /// beacon round's that the record named: the sample was drawn after the
    /// commitments were fixed.
    pub fn pinned(&self) -> bool {
        self.record_pinned && (self.randomness_pinned || self.beacon.is_some())
    }

    fn describe(&self) -> String {
        let pin = |p: bool, what: &str| {
            if p {
                format!("{what} pinned")
            } else {
                format!("{what} NOT PINNED")
            }
        };
        let randomness = match &self.beacon {
            Some(b) => b.describe(),
            None => format!("randomness {:?}", self.randomness),
        };
        let mut s = format!(
            "sample {:?} of {} drawn from record {} and {} ({}, {}{})",
            self.sample,
            self.shards,
            &self.record_hash[..16.min(self.record_hash.len())],
            randomness,
            pin(self.record_pinned, "record hash"),
            pin(
                self.randomness_pinned || self.beacon.is_some(),
                "randomness"
            ),
            self.floor
                .map(|f| format!(", floor {f}"))
                .unwrap_or_default()
        );
        if !self.pinned() {
            s.push_str(": a prover that chose the randomness, or changed its commitments after seeing it, could have steered the sample; pin the record hash you kept and the randomness you gave");
        }
        s
    }
}

/// Whether a value the verdict rests on was compared with one the verifier
/// holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pinning {
    /// equal to the value the verifier was given (published by the owner)
    Pinned,
    /// rebuilt by the verifier (every verifying key from the plan and an
    /// SRS the verifier trusts) and equal
    Recomputed,
    /// only consistent with what the bundle carries
    Unpinned,
}

impl std::fmt::Display for Pinning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Pinning::Pinned => "pinned",
            Pinning::Recomputed => "recomputed",
            Pinning::Unpinned => "unpinned",
        })
    }
}

/// What a claimed tensor was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Binding {
    /// the proofs' commitment equals the commitment of values the verifier
    /// gave (`--input`, `--output`)
    Given,
    /// the proofs' commitment equals the commitment of the values the
    /// bundle or claim carries (shown in the report)
    Claimed,
    /// an audit whose sample left out the shard that reads the input (or
    /// writes the output): the values equal the audit record's commitment,
    /// which no proof checked
    Recorded,
}

/// What a verdict was checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Trust {
    /// the model hash (SHA-256 of the plan)
    pub model: Pinning,
    /// the keys digest (SRS verifier part and verifying keys)
    pub keys: Pinning,
    /// model pinned and keys pinned or recomputed: the verdict holds against
    /// a prover who made up its own keys or SRS
    pub pinned: bool,
    pub input: Binding,
    pub output: Binding,
}

impl Trust {
    /// The trust of checks made against `pins`, before any key is rebuilt.
    pub fn of(pins: &Pins, input: Binding, output: Binding) -> Trust {
        let pin = |p: &Option<String>| match p {
            Some(_) => Pinning::Pinned,
            None => Pinning::Unpinned,
        };
        let (model, keys) = (pin(&pins.model_hash), pin(&pins.keys_digest));
        Trust {
            model,
            keys,
            pinned: model == Pinning::Pinned && keys != Pinning::Unpinned,
            input,
            output,
        }
    }

    /// The keys were rebuilt from the plan and found equal.
    pub fn with_recomputed_keys(self) -> Trust {
        let keys = match self.keys {
            Pinning::Pinned => Pinning::Pinned,
            _ => Pinning::Recomputed,
        };
        Trust {
            keys,
            pinned: self.model == Pinning::Pinned,
            ..self
        }
    }

    /// What was trusted, in words (the end of a verdict line).
    pub fn describe(&self) -> String {
        let what = match (self.model, self.keys) {
            (Pinning::Pinned, Pinning::Pinned) => {
                "model hash and keys digest pinned to the published ones".to_string()
            }
            (Pinning::Pinned, Pinning::Recomputed) => {
                "model hash pinned, every verifying key rebuilt from the model and the SRS"
                    .to_string()
            }
            (Pinning::Pinned, _) => {
                "model hash pinned; keys NOT PINNED: they are the bundle's own (pin the keys digest or rebuild the keys)".to_string()
            }
            (_, Pinning::Recomputed) => {
                "keys rebuilt from the bundle's model; model hash NOT PINNED: compare it with the published one".to_string()
            }
            (_, Pinning::Pinned) => {
                "keys digest pinned; model hash NOT PINNED: compare it with the published one"
                    .to_string()
            }
            _ => "NOT PINNED: checked only against the model, keys and SRS the bundle carries, which a prover can make up; pin the published model hash and keys digest".to_string(),
        };
        let bind = |b: Binding, name: &str| match b {
            Binding::Given => format!("{name} checked against the one given"),
            Binding::Claimed => format!("{name} checked against the claim"),
            Binding::Recorded => {
                format!("{name} only equal to the audit record's (its shard was not sampled)")
            }
        };
        format!(
            "{what}; {}, {}",
            bind(self.input, "input"),
            bind(self.output, "output")
        )
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// every proven shard verified, linked, and the claims match
    pub verified: bool,
    pub kind: &'static str,
    /// the first reason the bundle is not verified
    #[serde(serialize_with = "as_message")]
    pub error: Option<Failure>,
    /// what the verdict was checked against
    pub trust: Trust,
    /// the verdict in one line (the CLI's last line, the page's headline)
    pub verdict: String,
    /// SHA-256 of the Plan: the model's identity (`zkinf compile` prints it)
    pub model_hash: String,
    /// SHA-256 over the SRS verifier part and every verifying key
    pub keys_digest: String,
    pub shards: Vec<ShardReport>,
    pub input: TensorReport,
    pub output: TensorReport,
    pub audit: Option<AuditReport>,
    /// total verification time, in milliseconds
    pub verify_ms: f64,
}

impl Report {
    /// Verified, and pinned: the verdict holds against a prover who made up
    /// its own keys or SRS. What an embedder should require.
    pub fn trusted(&self) -> bool {
        self.verified && self.pinned()
    }

    /// Model and keys pinned and, for an audit, its record and randomness.
    fn pinned(&self) -> bool {
        self.trust.pinned && self.audit.as_ref().is_none_or(AuditReport::pinned)
    }

    /// Records a failure found after the shards were checked (the first
    /// failure stays the report's error).
    pub fn fail(&mut self, f: Failure) {
        if self.error.is_none() {
            self.error = Some(f);
        }
        self.verified = false;
        self.verdict = self.verdict_line();
    }

    /// The claimed input and/or output were found equal to values the
    /// verifier gave.
    pub fn given(&mut self, input: bool, output: bool) {
        if input {
            self.trust.input = Binding::Given;
        }
        if output {
            self.trust.output = Binding::Given;
        }
        self.verdict = self.verdict_line();
    }

    /// The keys were rebuilt from the plan and found equal.
    pub fn keys_recomputed(&mut self) {
        self.trust = self.trust.with_recomputed_keys();
        self.verdict = self.verdict_line();
    }

    /// The verdict in one line: what was verified and what it was checked
    /// against, or the first reason it is not verified.
    pub fn verdict_line(&self) -> String {
        match &self.error {
            Some(e) => format!("NOT verified: {e}"),
            None => {
                let what = if let Some(a) = &self.audit {
                    format!(
                        "the audited sample of {} of {} shard(s) (an audit, not a proof of every shard: one wrong shard is caught with probability {:.3}; {} and {} sampled shards catch it with 0.9 and 0.99; {})",
                        a.sample.len(),
                        a.shards,
                        a.detection_one,
                        a.for_90,
                        a.for_99,
                        a.describe()
                    )
                } else {
                    format!("the linked chain of {} shard(s)", self.shards.len())
                };
                let head = if self.pinned() {
                    "verified (pinned)"
                } else {
                    "verified, UNPINNED"
                };
                format!(
                    "{head}: {what} in {:.1} ms; {}",
                    self.verify_ms,
                    self.trust.describe()
                )
            }
        }
    }
}

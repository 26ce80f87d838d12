//! The prover's errors: each variant says what went wrong and where (the
//! file, the shard), so that a caller can branch on it; the CLI prints
//! their one-line messages.

use crate::budget::human;
use std::path::PathBuf;
use thiserror::Error;
use zkinf_circuits::shard::ShardError;
use zkinf_circuits::{ExecError, PlanError};
use zkinf_compiler::{CompileError, InputError};
use zkinf_verifier::{
    BundleError, ClaimError, CommitRecordError, Failure, FormatError, KeyError, SrsPartError,
    VerifyError,
};

/// A path as the messages show it.
fn p(path: &std::path::Path) -> std::path::Display<'_> {
    path.display()
}

/// The step a memory estimate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Keygen,
    Prove,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Keygen => "generate its keys",
            Step::Prove => "prove",
        })
    }
}

/// What is wrong with a `claim.json` (the claimed input and output of a
/// proven folder), against the folder's plan and what the verifier gave.
#[derive(Debug, Error)]
pub enum ClaimFileError {
    #[error("not a claim record ({0})")]
    Json(serde_json::Error),
    #[error("written by an older zkinf (no format version); run `zkinf prove` again")]
    Unversioned,
    #[error(
        "claim format version {found} is not supported (this zkinf reads version {supported})"
    )]
    Version { found: u32, supported: u32 },
    #[error("claims model {found}, but the folder's plan is model {expected}")]
    Model { found: String, expected: String },
    #[error("claims {found} shard(s), but the folder's plan has {expected}")]
    Shards { found: usize, expected: usize },
    #[error("names the {what} '{found}', but the model's {what} is '{expected}'")]
    Name {
        what: zkinf_verifier::Claimed,
        found: String,
        expected: String,
    },
    #[error(transparent)]
    Values(#[from] ClaimError),
    #[error("the {what} given differs from the claimed one at index {at} ({given} given, {claimed} claimed): the proofs are of another {what}")]
    Differs {
        what: zkinf_verifier::Claimed,
        at: usize,
        given: i64,
        claimed: i64,
    },
}

/// What is wrong with `keys/setup.json`.
#[derive(Debug, Error)]
pub enum RecordError {
    #[error("not a setup record ({0})")]
    Json(serde_json::Error),
    #[error("setup record format version {found} is not supported (this zkinf reads version {supported}); run `zkinf setup` again")]
    Version { found: u32, supported: u32 },
    #[error("unknown SRS '{0}'")]
    Srs(String),
    #[error("'srs_verifier': {0}")]
    SrsPart(#[from] SrsPartError),
    #[error("'srs_verifier' is not hex")]
    Hex,
    #[error("shard {shard}: k = {k} is over 2^{max}", max = zkinf_verifier::MAX_K)]
    K { shard: usize, k: u32 },
    #[error("no shards")]
    Empty,
    #[error("written before bundles (no SRS verifier part); run `zkinf setup` again (the keys are kept)")]
    NoSrsPart,
}

#[derive(Debug, Error)]
pub enum ProveError {
    #[error("cannot read {}: {source}", p(path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", p(path))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} exists and is not a directory", p(.0))]
    NotDir(PathBuf),
    #[error("{}: {source}", p(path))]
    Plan { path: PathBuf, source: PlanError },
    #[error(transparent)]
    Compile(#[from] CompileError),
    #[error("the model needs {rows} constraint rows, over the budget of {max} (--max-rows); nothing written")]
    TooManyRows { rows: u64, max: u64 },
    #[error("{}: {source}", p(path))]
    Input { path: PathBuf, source: InputError },
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error("{0}")]
    Shard(#[from] ShardError),
    #[error("{}: {source}", p(path))]
    Partition { path: PathBuf, source: ShardError },
    #[error("{}: not a shard list ({source})", p(path))]
    ShardsFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("--strict: {0} fell outside their calibrated ranges and were clamped; the model's answer would differ (recompile with calibration data that covers such inputs)")]
    Saturated(String),
    #[error("--strict: {} is missing, so the calibrated ranges are unknown; compile the model again", p(.0))]
    NoReport(PathBuf),
    #[error("{}: not a compile report ({source})", p(path))]
    ReportFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("this model cannot be proven: {0}")]
    NotProvable(String),
    #[error("{} has no keys; run `zkinf setup {}` first", p(.0), p(.0))]
    NoKeys(PathBuf),
    #[error("{}: {source}", p(path))]
    Record { path: PathBuf, source: RecordError },
    #[error("the keys in keys/ belong to another model or partition; run `zkinf setup` again")]
    KeysOfAnotherModel,
    #[error("SRS: cannot read {}: {source}", p(path))]
    SrsRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SRS: {} is not a KZG SRS: {reason}", p(path))]
    NotSrs { path: PathBuf, reason: String },
    #[error("SRS: {} has 2^{has} points; this model needs 2^{needs}", p(path))]
    SrsTooSmall { path: PathBuf, has: u32, needs: u32 },
    #[error("no SRS of 2^{0} points")]
    NoSrsOfSize(u32),
    #[error("shard {shard} (k = {k}) needs about {} to {step}, over the memory budget of {}: cut the model into smaller shards (zkinf compile --max-log-rows {}) or raise --memory-budget", human(*need), human(*budget), k.saturating_sub(1).max(9))]
    MemoryBudget {
        shard: usize,
        k: u32,
        step: Step,
        need: u64,
        budget: u64,
    },
    #[error("--memory-budget '{0}': not a size (e.g. 512M, 8G)")]
    BudgetArg(String),
    #[error("ZKINF_MEMORY_BUDGET='{0}' is not a size (e.g. 512M, 8G)")]
    BudgetEnv(String),
    #[error("this model has {shards} shard(s) (0..{}); shard {shard} does not exist", shards - 1)]
    NoSuchShard { shard: u32, shards: usize },
    #[error("shard {shard}: key generation failed: {source}")]
    Keygen {
        shard: u32,
        source: halo2_proofs::plonk::Error,
    },
    #[error("shard {shard}: proving failed: {source}")]
    Proving {
        shard: u32,
        source: halo2_proofs::plonk::Error,
    },
    #[error("{}: {source}", p(path))]
    Key { path: PathBuf, source: KeyError },
    #[error(
        "{}: this is the verifying key of shard {owner}, not of shard {shard}",
        p(path)
    )]
    SwappedKey {
        path: PathBuf,
        shard: usize,
        owner: usize,
    },
    #[error("{}: not the verifying key set up for shard {shard} (its digest differs from keys/setup.json)", p(path))]
    ForeignKey { path: PathBuf, shard: usize },
    #[error("{}: this key was made for another version of the shard circuit (its constraint system differs from this zkinf's); run `zkinf setup` again", p(path))]
    CircuitChanged { path: PathBuf },
    #[error("shard {0}: the circuit has no witness")]
    NoWitness(u32),
    #[error("the proof just written does not verify: {0}")]
    SelfCheck(VerifyError),
    #[error("shard {shard} has no proof ({} is missing)", p(path))]
    NoProof { shard: usize, path: PathBuf },
    #[error("{}: {source}", p(path))]
    Proof { path: PathBuf, source: FormatError },
    #[error("{} has no proofs; run `zkinf prove {}` first", p(.0), p(.0))]
    NotProven(PathBuf),
    #[error("{}: {source}", p(path))]
    Claim {
        path: PathBuf,
        source: ClaimFileError,
    },
    #[error("{}: per-channel outputs cannot be claimed as floats yet", p(.0))]
    PerChannelOutput(PathBuf),
    #[error("{}: {source}", p(path))]
    Bundle { path: PathBuf, source: BundleError },
    #[error("the proofs in {} do not verify, no bundle written: {failure}", p(dir))]
    NotVerified { dir: PathBuf, failure: Failure },
    #[error(
        "a sample of {sample}: this model has {shards} shard(s); sample between 1 and {shards}"
    )]
    Sample { sample: u32, shards: usize },
    #[error("{}: {source}", p(path))]
    CommitRecord {
        path: PathBuf,
        source: CommitRecordError,
    },
    #[error("{}: {why}", p(path))]
    HybridFile { path: PathBuf, why: String },
    #[error("the commitment record is {what}, not this folder's")]
    RecordOfAnother { what: String },
    #[error("shard {shard}: its {side} commitment on this input is not the commitment record's: no proof of this shard against the record exists (the record was not made from this model and input)")]
    RecordBoundary { shard: usize, side: &'static str },
    #[error("the response does not answer the challenge: {0}")]
    Response(String),
    #[error("the bundle's model: {0}")]
    BundlePlan(PlanError),
    #[error("the SRS given to rebuild the keys has 2^{has} points; the bundle's largest shard needs 2^{needs}")]
    RebuildSrsTooSmall { has: u32, needs: u32 },
    #[error("the web verifier is not built (no index.html and pkg/zkinf_web_bg.wasm in {tried}): run `bash scripts/build-web.sh`")]
    NoPage { tried: String },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
}

impl ProveError {
    pub(crate) fn read(path: impl Into<PathBuf>, source: std::io::Error) -> ProveError {
        ProveError::Read {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> ProveError {
        ProveError::Write {
            path: path.into(),
            source,
        }
    }
}

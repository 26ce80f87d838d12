//! zkinf verifier: the versioned shard-proof, key and bundle formats and
//! the checks an auditor runs — [`verify_shard`] (one proof against its
//! verifying key and expected public values), [`verify_chain`] (every shard
//! of an inference, in order, each shard's output commitment equal to the
//! next shard's input commitment) and [`verify_bundle`] (a self-contained
//! bundle into a [`Report`] that says what its verdict was checked
//! against). Builds for wasm32 (no threads, no file system).

mod beacon;
mod bundle;
mod check;
mod claim;
mod format;
mod key;
mod record;
mod report;
mod srs;
mod transcript;
mod verify;

pub use beacon::{
    check_randomness, utc, BeaconChain, BeaconError, BeaconReport, BEACON_CHAINS, QUICKNET,
};
pub use bundle::{
    AuditRecord, Bundle, BundleError, BundleKind, BundleShard, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC,
};
pub use check::{
    detection_probability, hex, keys_digest, keys_digest_of, verify_audit, verify_bundle,
};
pub use claim::{check_claim, claim_commitment, ClaimError, Claimed};
pub use format::{FormatError, ShardProof, Transcript, PROOF_FORMAT_VERSION};
pub use key::{
    check_selector_bytes, decode_key, encode_key, read_verifying_key, write_verifying_key,
    KeyError, KeyKind, KEY_FORMAT_VERSION, MAX_K, PK_MAGIC, VK_MAGIC,
};
pub use record::{
    draw_sample, sample_size_for, BeaconRound, CommitRecord, CommitRecordError, MAX_RECORD_SHARDS,
    MAX_SEED_BYTES, RECORD_FORMAT_VERSION, RECORD_MAGIC,
};
pub use report::{
    AuditReport, Binding, Failure, Pinning, Pins, Report, ShardFailure, ShardReport, ShardStatus,
    TensorReport, Trust,
};
pub use srs::{SrsPartError, SrsVerifierPart, SRS_PART_BYTES};
pub use verify::{verify_chain, verify_shard, Expected, SrsByK, VerifyError};

/// The scalar field, for embedders.
pub mod field {
    pub use halo2_proofs::halo2curves::bn256::Fr;
    pub use halo2_proofs::halo2curves::ff::Field;
}

//! zkinf verifier: the versioned shard-proof format and the checks an
//! auditor runs — [`verify_shard`] (one proof against its verifying key and
//! expected public values) and [`verify_chain`] (every shard of an inference,
//! in order, with each shard's output commitment equal to the next shard's
//! input commitment). Builds for wasm32 (no threads, no file system).

mod bundle;
mod format;
mod report;
mod srs;
mod transcript;
mod verify;

pub use bundle::{
    AuditRecord, Bundle, BundleError, BundleKind, BundleShard, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC,
};
pub use format::{FormatError, ShardProof, Transcript, PROOF_FORMAT_VERSION};
pub use report::{
    audit_sample, detection_probability, keys_digest, keys_digest_of, verify_audit, verify_bundle,
    AuditReport, Pins, Report, ShardReport, ShardStatus, TensorReport,
};
pub use srs::{SrsVerifierPart, SRS_PART_BYTES};
pub use verify::{
    decode_key, encode_key, read_verifying_key, verify_chain, verify_shard, write_verifying_key,
    Expected, SrsByK, VerifyError, KEY_FORMAT_VERSION, PK_MAGIC, VK_MAGIC,
};

/// The scalar field, for embedders (the web verifier fills halo2curves'
/// table of small scalars itself).
pub mod field {
    pub use halo2_proofs::halo2curves::bn256::Fr;
    pub use halo2_proofs::halo2curves::ff::Field;
}

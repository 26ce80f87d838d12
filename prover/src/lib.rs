//! zkinf's proving pipeline as a library: a compiled folder from an ONNX
//! model ([`compile_to_folder`]), keys for every shard ([`setup`], cached),
//! witnesses from the integer executor ([`witness`]), proofs of every shard
//! or one ([`prove_folder`], each proof checked with the verifier before it
//! is written), bundles and verdicts ([`export_bundle`], [`verify_folder`],
//! [`verify_bundle_file`], and [`rebuild_keys`] for auditors), and the web
//! verifier's server ([`serve`]). The `zkinf` binary parses arguments,
//! calls these and prints; a service embeds them the same way.
//!
//! ```ignore
//! let folder = zkinf_prover::Folder::new("out/cnn");
//! zkinf_prover::setup(&folder, zkinf_prover::SrsSource::dev(), None, &mut zkinf_prover::Silent)?;
//! zkinf_prover::prove_folder(&folder, "input.json".as_ref(), None, None, &mut zkinf_prover::Silent)?;
//! // pinned to what the model owner published; `verified` alone only says the
//! // proofs fit the keys the folder carries
//! let pins = zkinf_verifier::Pins { model_hash: Some(model), keys_digest: Some(keys) };
//! let report = zkinf_prover::verify_folder(&folder, None, None, &pins)?;
//! assert!(report.trusted());
//! ```

pub mod budget;
mod bundle;
mod claim;
mod compile;
mod error;
pub mod folder;
pub mod hybrid;
mod keys;
mod progress;
mod prove;
mod record;
mod saturation;
pub mod serve;
mod setup;
pub mod srs;
mod witness;

pub use bundle::{
    export_bundle, folder_bundle, read_bundle, rebuild_keys, verify_bundle_file, verify_folder,
    verify_folder_audit, Export,
};
pub use claim::{Claim, CLAIM_FORMAT_VERSION};
pub use compile::compile_to_folder;
pub use error::{ClaimFileError, ProveError, RecordError, Step};
pub use folder::Folder;
pub use keys::{keygen, keygen_vk, read_proving_key, write_proving_key};
pub use progress::{Progress, Silent};
pub use prove::{prove_folder, prove_folder_with, prove_shard, ProveSummary};
pub use record::{SetupRecord, ShardKeys, VkFile, SETUP_FORMAT_VERSION};
pub use saturation::{count_clamped, saturation_bounds, side_file, Clamped, SaturationFile};
pub use setup::{setup, setup_with, SetupSummary};
pub use srs::SrsSource;
pub use witness::{
    check_saturation, describe, infer, nested, output_ints, quantized_inputs, raw_inputs,
    run_input, witness, InferSummary, Run,
};

//! The verifier in a web page: `verify_chain` and `verify_audit` take a
//! bundle's bytes (written by `zkinf export-web`) and return the report as
//! JSON (see `zkinf_verifier::Report`). Single-threaded, no file system, no
//! network: everything the check needs is in the bundle.
//!
//! Built by `scripts/build-web.sh` (`--target wasm32-unknown-unknown`, then
//! `wasm-bindgen --target web` into `web/pkg/`).

use wasm_bindgen::prelude::*;
use zkinf_verifier::{verify_bundle, Bundle, BundleKind, Pins};

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: milliseconds, sub-millisecond resolution.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

#[cfg(not(target_arch = "wasm32"))]
fn performance_now() -> f64 {
    use std::sync::OnceLock;
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1e3
}

/// Verifies a bundle of kind `kind` into a JSON report; malformed bundles
/// are errors naming the problem.
pub fn verify_json(
    bundle: &[u8],
    kind: BundleKind,
    model_hash: Option<String>,
    keys_digest: Option<String>,
) -> Result<String, String> {
    let bundle = Bundle::from_bytes(bundle).map_err(|e| e.to_string())?;
    bundle.expect_kind(kind).map_err(|e| e.to_string())?;
    let pins = Pins {
        model_hash: model_hash.filter(|s| !s.is_empty()),
        keys_digest: keys_digest.filter(|s| !s.is_empty()),
    };
    let report = verify_bundle(&bundle, &pins, &performance_now).map_err(|e| e.to_string())?;
    serde_json::to_string(&report).map_err(|e| e.to_string())
}

/// Verifies a chain bundle (every shard proven): the JSON report.
/// `model_hash` and `keys_digest`, when given, pin what the bundle must be.
#[wasm_bindgen]
pub fn verify_chain(
    bundle: &[u8],
    model_hash: Option<String>,
    keys_digest: Option<String>,
) -> Result<String, JsError> {
    verify_json(bundle, BundleKind::Chain, model_hash, keys_digest).map_err(|e| JsError::new(&e))
}

/// Verifies an audit bundle (hybrid mode: every boundary committed, a
/// sample proven): the JSON report, with the sample and its detection
/// probability.
#[wasm_bindgen]
pub fn verify_audit(
    bundle: &[u8],
    model_hash: Option<String>,
    keys_digest: Option<String>,
) -> Result<String, JsError> {
    verify_json(bundle, BundleKind::Audit, model_hash, keys_digest).map_err(|e| JsError::new(&e))
}

/// "chain" or "audit" (which of the two to call), or an error for a file
/// that is not a bundle.
#[wasm_bindgen]
pub fn bundle_kind(bundle: &[u8]) -> Result<String, JsError> {
    Bundle::from_bytes(bundle)
        .map(|b| b.kind().name().to_string())
        .map_err(|e| JsError::new(&e.to_string()))
}

/// This verifier's version and the bundle format it reads.
#[wasm_bindgen]
pub fn verifier_version() -> String {
    format!(
        "zkinf {} (bundle format {})",
        env!("CARGO_PKG_VERSION"),
        zkinf_verifier::BUNDLE_FORMAT_VERSION
    )
}

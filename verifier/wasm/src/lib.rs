//! The verifier in a web page: `verify_chain` and `verify_audit` take a
//! bundle's bytes (written by `zkinf export-web`) and return the report as
//! JSON (see `zkinf_verifier::Report`). Single-threaded, no file system, no
//! network: everything the check needs is in the bundle.
//!
//! Built by `scripts/build-web.sh` (`--target wasm32-unknown-unknown`, then
//! `wasm-bindgen --target web` into `web/pkg/`).

#![forbid(unsafe_code)]

use wasm_bindgen::prelude::*;
use zkinf_verifier::{verify_bundle, Bundle, BundleKind, Pins};

/// halo2curves' `Fr::from(u64)` reads a constant table of the field
/// elements 0..65535 (2 MiB, two thirds of this module). The shipped module
/// does not carry it in its data section: `scripts/wasm-strip-fr-table.py`
/// cuts it out and adds a WebAssembly start function that writes the same
/// bytes at the same address. The WebAssembly specification runs the start
/// function when the module is instantiated, after the data segments are
/// applied and before any export can be called, so the table is written by
/// the module's loading, before the first instruction of Rust code: the
/// memory this program starts with is exactly what the unstripped module
/// defines, and no Rust code writes to the table (an immutable static).
///
/// This guard only reads: once, before anything is verified, it checks all
/// 65,536 entries through `Fr::from` itself against the table-free
/// `Fr::from_raw` (a few milliseconds), and a verifier whose table is wrong
/// (a module stripped without the start function, say) refuses to verify.
fn field_table() -> Result<(), String> {
    use std::sync::OnceLock;
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    CHECKED.get_or_init(check_field_table).clone()
}

fn check_field_table() -> Result<(), String> {
    use zkinf_verifier::field::Fr;
    for v in 0..1u64 << 16 {
        // black_box: the table in memory is read, not a constant folded in
        let v = std::hint::black_box(v);
        if Fr::from(v) != Fr::from_raw([v, 0, 0, 0]) {
            return Err(format!(
                "internal error: the field table is wrong at {v}; refusing to verify"
            ));
        }
    }
    Ok(())
}

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
pub fn verify_json(bundle: &[u8], kind: BundleKind, pins: Pins) -> Result<String, String> {
    field_table()?;
    let bundle = Bundle::from_bytes(bundle).map_err(|e| e.to_string())?;
    let report = match kind {
        BundleKind::Chain => bundle
            .expect_kind(kind)
            .and_then(|()| verify_bundle(&bundle, &pins, &performance_now)),
        BundleKind::Audit => zkinf_verifier::verify_audit(&bundle, &pins, &performance_now),
    }
    .map_err(|e| e.to_string())?;
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
    let pins = Pins {
        model_hash: nonempty(model_hash),
        keys_digest: nonempty(keys_digest),
        ..Pins::default()
    };
    verify_json(bundle, BundleKind::Chain, pins).map_err(|e| JsError::new(&e))
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Verifies an audit bundle (hybrid mode: every boundary committed, a
/// sample drawn from the record's hash and the verifier's randomness
/// proven): the JSON report, with the sample and its detection probability.
/// `record_hash` (kept before the randomness was given), `randomness` (the
/// seed or block hash given) and `min_sample` (the verifier's floor), when
/// given, pin what the audit must be.
#[wasm_bindgen]
pub fn verify_audit(
    bundle: &[u8],
    model_hash: Option<String>,
    keys_digest: Option<String>,
    record_hash: Option<String>,
    randomness: Option<String>,
    min_sample: Option<u32>,
) -> Result<String, JsError> {
    let pins = Pins {
        model_hash: nonempty(model_hash),
        keys_digest: nonempty(keys_digest),
        record_hash: nonempty(record_hash),
        randomness: nonempty(randomness),
        min_sample,
    };
    verify_json(bundle, BundleKind::Audit, pins).map_err(|e| JsError::new(&e))
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_field_table_checks_out() {
        assert_eq!(super::field_table(), Ok(()));
    }
}

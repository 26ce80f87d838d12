//! The verifier in a web page: `verify_chain` and `verify_audit` take a
//! bundle's bytes (written by `zkinf export-web`) and return the report as
//! JSON (see `zkinf_verifier::Report`). Single-threaded, no file system, no
//! network: everything the check needs is in the bundle.
//!
//! Built by `scripts/build-web.sh` (`--target wasm32-unknown-unknown`, then
//! `wasm-bindgen --target web` into `web/pkg/`).

use wasm_bindgen::prelude::*;
use zkinf_verifier::{verify_bundle, Bundle, BundleKind, Pins};

/// halo2curves' `Fr::from(u64)` reads a constant table of the field
/// elements 0..65535 (2 MiB, two thirds of this module). The shipped module
/// leaves it out: `scripts/wasm-strip-fr-table.py` cuts it from the data
/// section (that memory then starts zeroed) and writes its address into
/// [`FR_TABLE_AT`]. This fills it, once, before anything is verified, then
/// checks the table through `Fr::from` itself against the table-free
/// `Fr::from_raw`: a verifier whose table is wrong refuses to run.
#[cfg(target_arch = "wasm32")]
fn field_table() -> Result<(), String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use zkinf_verifier::field::{Field, Fr};
    static READY: AtomicBool = AtomicBool::new(false);
    if READY.load(Ordering::Acquire) {
        return Ok(());
    }
    // SAFETY: a plain read of a static, volatile so that the value the
    // build script wrote is the one read.
    let marker = unsafe { std::ptr::read_volatile(&FR_TABLE_AT) };
    if marker[..12] == *b"ZKINF_FR_AT:" {
        let at = u32::from_le_bytes([marker[12], marker[13], marker[14], marker[15]]) as usize;
        let table = at as *mut Fr;
        let mut x = Fr::ZERO;
        for i in 0..1usize << 16 {
            // SAFETY: `at` is where the module's data section placed the
            // table (in wasm32 linear memory, writable); this single-threaded
            // fill runs before any read of it and writes the values the
            // table is defined to hold. Checked below.
            unsafe { std::ptr::write_volatile(table.add(i), x) };
            x += Fr::ONE;
        }
    }
    for v in [0u64, 1, 2, 3, 255, 256, 4097, 40_000, 65_534, 65_535] {
        let v = std::hint::black_box(v);
        if Fr::from(v) != Fr::from_raw([v, 0, 0, 0]) {
            return Err(format!(
                "internal error: the field table is wrong at {v}; refusing to verify"
            ));
        }
    }
    READY.store(true, Ordering::Release);
    Ok(())
}

/// Where the module's table of small scalars is: written by
/// `scripts/wasm-strip-fr-table.py` as `ZKINF_FR_AT:` and a u32 address.
#[cfg(target_arch = "wasm32")]
static FR_TABLE_AT: [u8; 16] = *b"ZKINF_FR_TABLE?\0";

#[cfg(not(target_arch = "wasm32"))]
fn field_table() -> Result<(), String> {
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
pub fn verify_json(
    bundle: &[u8],
    kind: BundleKind,
    model_hash: Option<String>,
    keys_digest: Option<String>,
) -> Result<String, String> {
    field_table()?;
    let bundle = Bundle::from_bytes(bundle).map_err(|e| e.to_string())?;
    let pins = Pins {
        model_hash: model_hash.filter(|s| !s.is_empty()),
        keys_digest: keys_digest.filter(|s| !s.is_empty()),
    };
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

//! Verifying a bundle into a report: every shard checked on its own (so a
//! report names each rejected shard, not only the first), the links
//! between shards, the claimed input and output against the commitments,
//! and, for an audit, the sample recomputed from the commitments.

use crate::bundle::{Bundle, BundleError, BundleKind};
use crate::format::ShardProof;
use crate::srs::SrsVerifierPart;
use crate::verify::{read_verifying_key, verify_shard, Expected, VerifyError};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use serde::Serialize;
use sha2::{Digest, Sha256};
use zkinf_circuits::plan::InputQuant;
use zkinf_circuits::poseidon::{commit_tensor, Packing};
use zkinf_circuits::shard::model_id;
use zkinf_circuits::{CheckedPlan, IntRange, Plan};

/// What the person verifying expects, beyond what the bundle says of
/// itself: a model hash and a keys digest published by the model owner.
#[derive(Clone, Debug, Default)]
pub struct Pins {
    pub model_hash: Option<String>,
    pub keys_digest: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardStatus {
    Verified,
    Rejected,
    /// an audit's shard outside the sample: open to challenge
    NotSampled,
}

#[derive(Clone, Debug, Serialize)]
pub struct ShardReport {
    pub index: u32,
    /// the circuit's size, `2^k` rows (when its key reads)
    pub k: Option<u32>,
    pub status: ShardStatus,
    pub error: Option<String>,
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
    /// the shards the commitments select for proving
    pub sample: Vec<u32>,
    pub shards: usize,
    /// probability that the sample catches a run with one wrong shard
    pub detection_one: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// every proven shard verified, linked, and the claims match
    pub verified: bool,
    pub kind: &'static str,
    /// the first reason the bundle is not verified
    pub error: Option<String>,
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

/// SHA-256 over the SRS verifier part and every verifying-key file, in
/// order: what the circuits are, where the model hash says what they
/// compute. Both are needed to trust a bundle (a prover could otherwise
/// ship keys of another circuit, or an SRS whose secret it knows).
pub fn keys_digest(bundle: &Bundle) -> [u8; 32] {
    keys_digest_of(&bundle.srs, bundle.shards.iter().map(|s| s.vk.as_slice()))
}

/// [`keys_digest`] of an SRS verifier part and verifying-key files.
pub fn keys_digest_of<'a>(
    srs: &SrsVerifierPart,
    vks: impl ExactSizeIterator<Item = &'a [u8]>,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zkinf-keys-v1");
    h.update(srs.to_bytes());
    h.update((vks.len() as u32).to_le_bytes());
    for vk in vks {
        h.update((vk.len() as u32).to_le_bytes());
        h.update(vk);
    }
    h.finalize().into()
}

/// The shards an audit proves: `sample` distinct indices out of the
/// boundaries' `len - 1` shards, drawn by a hash of the model, the keys and
/// every boundary commitment (so the prover fixes every boundary before it
/// learns which shards it must prove). Sorted.
pub fn audit_sample(
    model_hash: &[u8; 32],
    keys: &[u8; 32],
    boundaries: &[Fr],
    sample: u32,
) -> Vec<u32> {
    let n = boundaries.len().saturating_sub(1);
    let mut h = Sha256::new();
    h.update(b"zkinf-audit-v1");
    h.update(model_hash);
    h.update(keys);
    h.update((n as u32).to_le_bytes());
    h.update(sample.to_le_bytes());
    for b in boundaries {
        h.update(b.to_repr());
    }
    let seed: [u8; 32] = h.finalize().into();
    let mut order: Vec<u32> = (0..n as u32).collect();
    let m = (sample as usize).min(n);
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

/// `1 - C(n - bad, m) / C(n, m)`: the chance that `m` shards sampled out
/// of `n` include at least one of `bad` wrong ones.
pub fn detection_probability(n: usize, m: usize, bad: usize) -> f64 {
    if bad == 0 {
        return 0.0;
    }
    if m + bad > n {
        return 1.0;
    }
    let miss: f64 = (0..m)
        .map(|t| (n - bad - t) as f64 / (n - t) as f64)
        .product();
    1.0 - miss
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn claim_err(what: &str, reason: String) -> BundleError {
    BundleError::Claim(format!("claimed {what}: {reason}"))
}

/// Checks a claimed tensor's length and range.
fn check_claim(what: &str, q: &[i64], shape: &[usize], r: IntRange) -> Result<(), BundleError> {
    let len: usize = shape.iter().product();
    if q.len() != len {
        return Err(claim_err(
            what,
            format!("{} values for shape {shape:?} ({len})", q.len()),
        ));
    }
    if let Some(at) = q.iter().position(|v| *v < r.lo || *v > r.hi) {
        return Err(claim_err(
            what,
            format!(
                "value {} at {at} is outside the model's range [{}, {}]",
                q[at], r.lo, r.hi
            ),
        ));
    }
    Ok(())
}

/// Verifies a bundle. Structural problems (not a bundle, a corrupt Plan, a
/// malformed claim) are errors; verification failures are in the report.
/// `now` returns milliseconds (`Instant` natively, `performance.now()` in
/// a browser).
pub fn verify_bundle(
    bundle: &Bundle,
    pins: &Pins,
    now: &dyn Fn() -> f64,
) -> Result<Report, BundleError> {
    let started = now();
    let n = bundle.shards.len();
    if n == 0 {
        return Err(BundleError::NoShards);
    }
    if let Some(a) = bundle
        .audit
        .as_ref()
        .filter(|a| a.sample == 0 || a.sample as usize > n)
    {
        return Err(BundleError::Sample {
            sample: a.sample,
            shards: n,
        });
    }
    let plan = Plan::from_bytes(&bundle.plan).map_err(|e| BundleError::Plan(e.to_string()))?;
    let plan = CheckedPlan::new(plan).map_err(|e| BundleError::Plan(e.to_string()))?;
    if plan.inputs.len() != 1 || plan.outputs.len() != 1 {
        return Err(BundleError::Plan(format!(
            "{} inputs and {} outputs (bundles carry one of each)",
            plan.inputs.len(),
            plan.outputs.len()
        )));
    }
    let model_hash: [u8; 32] = Sha256::digest(&bundle.plan).into();
    let keys = keys_digest(bundle);
    let id = model_id(&plan);

    let pin = &plan.inputs[0];
    check_claim("input", &bundle.input, &pin.shape, pin.range)?;
    let out = &plan.outputs[0];
    let out_info = plan.info(out.tensor);
    check_claim("output", &bundle.output, &out_info.shape, out_info.range)?;
    let in_c = commit_tensor(
        &bundle.input,
        Packing::for_range(pin.range.lo, pin.range.hi),
    );
    let out_c = commit_tensor(
        &bundle.output,
        Packing::for_range(out_info.range.lo, out_info.range.hi),
    );
    let input = TensorReport {
        name: pin.name.clone(),
        shape: pin.shape.clone(),
        values: bundle
            .input
            .iter()
            .map(|&q| match pin.quant {
                InputQuant::Affine { scale, zero_point } => {
                    ((q - zero_point) as f32 * scale) as f64
                }
                InputQuant::Integer => q as f64,
            })
            .collect(),
        argmax: None,
        q: bundle.input.clone(),
    };
    let out_values: Vec<f64> = match ndarray::ArrayD::from_shape_vec(
        ndarray::IxDyn(&out_info.shape),
        bundle.output.clone(),
    ) {
        Ok(a) => zkinf_circuits::dequantize_output(out, &a)
            .iter()
            .copied()
            .collect(),
        Err(_) => bundle.output.iter().map(|&q| q as f64).collect(),
    };
    let output = TensorReport {
        name: out.name.clone(),
        shape: out_info.shape.clone(),
        argmax: zkinf_circuits::argmax(&out_values),
        values: out_values,
        q: bundle.output.clone(),
    };

    let mut first_error: Option<String> = None;
    let fail = |e: String, first: &mut Option<String>| {
        if first.is_none() {
            *first = Some(e);
        }
    };
    if let Some(want) = pins.model_hash.as_deref() {
        if !want.eq_ignore_ascii_case(&hex(&model_hash)) {
            fail(
                format!(
                    "the bundle is of model {}, not of the expected model {want}",
                    hex(&model_hash)
                ),
                &mut first_error,
            );
        }
    }
    if let Some(want) = pins.keys_digest.as_deref() {
        if !want.eq_ignore_ascii_case(&hex(&keys)) {
            fail(
                format!(
                    "the bundle's keys digest is {}, not the expected {want}",
                    hex(&keys)
                ),
                &mut first_error,
            );
        }
    }

    let (sample, audit) = match &bundle.audit {
        None => (None, None),
        Some(a) => {
            if a.boundaries.len() != n + 1 {
                return Err(BundleError::Claim(format!(
                    "audit record has {} boundary commitments for {n} shards",
                    a.boundaries.len()
                )));
            }
            if a.boundaries[0] != in_c {
                fail(
                    "the audit record's input commitment does not match the claimed input".into(),
                    &mut first_error,
                );
            }
            if a.boundaries[n] != out_c {
                fail(
                    "the audit record's output commitment does not match the claimed output".into(),
                    &mut first_error,
                );
            }
            let s = audit_sample(&model_hash, &keys, &a.boundaries, a.sample);
            let report = AuditReport {
                sample: s.clone(),
                shards: n,
                detection_one: detection_probability(n, s.len(), 1),
            };
            (Some(s), Some(report))
        }
    };

    let proofs: Vec<Option<Result<ShardProof, String>>> = bundle
        .shards
        .iter()
        .map(|s| {
            s.proof
                .as_ref()
                .map(|p| ShardProof::from_bytes(p).map_err(|e| e.to_string()))
        })
        .collect();
    let mut shards = Vec::with_capacity(n);
    for (i, s) in bundle.shards.iter().enumerate() {
        let t = now();
        let index = i as u32;
        let sampled = sample.as_ref().is_none_or(|s| s.contains(&index));
        let vk = read_verifying_key(&s.vk);
        let k = vk.as_ref().ok().map(|vk| vk.get_domain().k());
        let proof_bytes = s.proof.as_ref().map_or(0, |p| p.len());
        let result: Result<(), String> = (|| {
            let vk = vk.map_err(|e| format!("shard {i}: verifying key: {e}"))?;
            let proof = match &proofs[i] {
                None if sampled => return Err(format!("shard {i}: no proof in the bundle")),
                None => return Ok(()),
                Some(Err(e)) => return Err(format!("shard {i}: proof: {e}")),
                Some(Ok(p)) => p,
            };
            let (input, output) = match &bundle.audit {
                Some(a) => (Some(a.boundaries[i]), Some(a.boundaries[i + 1])),
                None => {
                    if i > 0 {
                        if let Some(Ok(prev)) = &proofs[i - 1] {
                            if prev.output_commitment() != proof.input_commitment() {
                                return Err(VerifyError::Link(index - 1, index).to_string());
                            }
                        }
                    }
                    ((i == 0).then_some(in_c), (i + 1 == n).then_some(out_c))
                }
            };
            let expected = Expected {
                model_id: Some(id),
                shard: index,
                input,
                output,
            };
            verify_shard(
                &bundle.srs.params(vk.get_domain().k()),
                &vk,
                proof,
                &expected,
            )
            .map_err(|e| claim_wording(e, bundle.kind()))
        })();
        let status = match (&result, sampled, &proofs[i]) {
            (Err(_), _, _) => ShardStatus::Rejected,
            (Ok(()), false, None) => ShardStatus::NotSampled,
            (Ok(()), _, _) => ShardStatus::Verified,
        };
        let error = result.err();
        if let Some(e) = &error {
            fail(e.clone(), &mut first_error);
        }
        shards.push(ShardReport {
            index,
            k,
            status,
            error,
            proof_bytes,
            ms: now() - t,
        });
    }
    Ok(Report {
        verified: first_error.is_none(),
        kind: bundle.kind().name(),
        error: first_error,
        model_hash: hex(&model_hash),
        keys_digest: hex(&keys),
        shards,
        input,
        output,
        audit,
        verify_ms: now() - started,
    })
}

/// Verifies an audit (hybrid mode): the bundle must be an audit bundle;
/// the report lists the recomputed sample, each sampled shard's result
/// against the recorded boundary commitments, and the detection
/// probability.
pub fn verify_audit(
    bundle: &Bundle,
    pins: &Pins,
    now: &dyn Fn() -> f64,
) -> Result<Report, BundleError> {
    bundle.expect_kind(BundleKind::Audit)?;
    verify_bundle(bundle, pins, now)
}

/// A verifier error as the bundle's reader should read it: the "given"
/// input and output of the native API are the bundle's claims.
fn claim_wording(e: VerifyError, kind: BundleKind) -> String {
    match (e, kind) {
        (VerifyError::Input(s), BundleKind::Chain) => {
            format!("shard {s}: the input commitment does not match the claimed input")
        }
        (VerifyError::Output(s), BundleKind::Chain) => {
            format!("shard {s}: the output commitment does not match the claimed output")
        }
        (VerifyError::Input(s), BundleKind::Audit) => {
            format!("shard {s}: the input commitment differs from the audit record's")
        }
        (VerifyError::Output(s), BundleKind::Audit) => {
            format!("shard {s}: the output commitment differs from the audit record's")
        }
        (e, _) => e.to_string(),
    }
}

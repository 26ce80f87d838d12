//! Verifying a bundle into a [`Report`]: every shard checked on its own (so
//! a report names each rejected shard, not only the first), the links
//! between shards, the claimed input and output against the commitments,
//! the pins, and, for an audit, the commitment record and the sample drawn
//! from its hash and the verifier's randomness.

use crate::bundle::{Bundle, BundleError, BundleKind};
use crate::claim::{check_claim, claim_commitment, Claimed};
use crate::format::ShardProof;
use crate::key::read_verifying_key;
use crate::record::{draw_sample, sample_size_for};
use crate::report::{
    AuditReport, Binding, Failure, Pins, Report, ShardFailure, ShardReport, ShardStatus,
    TensorReport, Trust,
};
use crate::srs::SrsVerifierPart;
use crate::verify::{verify_shard, Expected, VerifyError};
use sha2::{Digest, Sha256};
use zkinf_circuits::plan::InputQuant;
use zkinf_circuits::shard::{check_partition, model_id, ShardSpec};
use zkinf_circuits::{CheckedPlan, Plan};

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

/// Verifies a bundle. Structural problems (not a bundle, a corrupt Plan, a
/// malformed claim) are errors; verification failures are in the report,
/// whose [`Trust`] says what the verdict was checked against. `now`
/// returns milliseconds (`Instant` natively, `performance.now()` in a
/// browser).
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
    let plan = CheckedPlan::new(Plan::from_bytes(&bundle.plan)?)?;
    if plan.inputs.len() != 1 || plan.outputs.len() != 1 {
        return Err(BundleError::Arity {
            inputs: plan.inputs.len(),
            outputs: plan.outputs.len(),
        });
    }
    let specs: Vec<ShardSpec> = bundle.shards.iter().map(|s| s.nodes).collect();
    check_partition(&plan, &specs).map_err(BundleError::Cut)?;
    let model_hash: [u8; 32] = Sha256::digest(&bundle.plan).into();
    let keys = keys_digest(bundle);
    let id = model_id(&plan);

    let pin = &plan.inputs[0];
    check_claim(Claimed::Input, &bundle.input, &pin.shape, pin.range)?;
    let out = &plan.outputs[0];
    let out_info = plan.info(out.tensor);
    check_claim(
        Claimed::Output,
        &bundle.output,
        &out_info.shape,
        out_info.range,
    )?;
    let in_c = claim_commitment(&bundle.input, pin.range);
    let out_c = claim_commitment(&bundle.output, out_info.range);
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

    let mut failures: Vec<Failure> = Vec::new();
    if let Some(want) = pins.model_hash.as_deref() {
        if !want.eq_ignore_ascii_case(&hex(&model_hash)) {
            failures.push(Failure::ModelPin {
                found: hex(&model_hash),
                expected: want.to_string(),
            });
        }
    }
    if let Some(want) = pins.keys_digest.as_deref() {
        if !want.eq_ignore_ascii_case(&hex(&keys)) {
            failures.push(Failure::KeysPin {
                found: hex(&keys),
                expected: want.to_string(),
            });
        }
    }

    let (sample, audit) = match &bundle.audit {
        None => (None, None),
        Some(a) => {
            let r = &a.record;
            if r.boundaries.len() != n + 1 {
                return Err(BundleError::Boundaries {
                    found: r.boundaries.len(),
                    shards: n,
                });
            }
            let record_hash = r.hash();
            if let Some(want) = pins.record_hash.as_deref() {
                if !want.eq_ignore_ascii_case(&hex(&record_hash)) {
                    failures.push(Failure::RecordPin {
                        found: hex(&record_hash),
                        expected: want.to_string(),
                    });
                }
            }
            let randomness = String::from_utf8_lossy(&a.randomness).into_owned();
            if let Some(want) = pins.randomness.as_deref() {
                if want.as_bytes() != a.randomness.as_slice() {
                    failures.push(Failure::RandomnessPin {
                        found: randomness.clone(),
                        expected: want.to_string(),
                    });
                }
            }
            let beacon = match crate::beacon::check_randomness(r, &a.randomness) {
                Ok(b) => b,
                Err(e) => {
                    failures.push(Failure::Beacon(e));
                    None
                }
            };
            if let Some(floor) = pins.min_sample.filter(|&f| a.sample < f) {
                failures.push(Failure::SampleFloor {
                    sample: a.sample,
                    floor,
                });
            }
            if r.model_hash != model_hash {
                failures.push(Failure::RecordModel {
                    found: hex(&r.model_hash),
                    expected: hex(&model_hash),
                });
            }
            if r.keys_digest != keys {
                failures.push(Failure::RecordKeys {
                    found: hex(&r.keys_digest),
                    expected: hex(&keys),
                });
            }
            if r.boundaries[0] != in_c {
                failures.push(Failure::RecordedInput);
            }
            if r.boundaries[n] != out_c {
                failures.push(Failure::RecordedOutput);
            }
            let s = draw_sample(&record_hash, &a.randomness, n, a.sample);
            let report = AuditReport {
                detection_one: detection_probability(n, s.len(), 1),
                sample: s.clone(),
                shards: n,
                for_90: sample_size_for(n, 1, 0.9),
                for_99: sample_size_for(n, 1, 0.99),
                record_hash: hex(&record_hash),
                randomness,
                record_pinned: pins.record_hash.is_some(),
                randomness_pinned: pins.randomness.is_some(),
                floor: pins.min_sample,
                beacon,
            };
            (Some(s), Some(report))
        }
    };

    let proofs: Vec<Option<Result<ShardProof, _>>> = bundle
        .shards
        .iter()
        .map(|s| s.proof.as_ref().map(|p| ShardProof::from_bytes(p)))
        .collect();
    let mut shards = Vec::with_capacity(n);
    for (i, s) in bundle.shards.iter().enumerate() {
        let t = now();
        let index = i as u32;
        let sampled = sample.as_ref().is_none_or(|s| s.contains(&index));
        let vk = read_verifying_key(&s.vk);
        let k = vk.as_ref().ok().map(|vk| vk.get_domain().k());
        let proof_bytes = s.proof.as_ref().map_or(0, |p| p.len());
        let result: Result<(), ShardFailure> = (|| {
            let vk = vk.map_err(|source| ShardFailure::Key {
                shard: index,
                source,
            })?;
            let proof = match &proofs[i] {
                None if sampled => return Err(ShardFailure::MissingProof { shard: index }),
                None => return Ok(()),
                Some(Err(e)) => {
                    return Err(ShardFailure::Proof {
                        shard: index,
                        source: e.clone(),
                    })
                }
                Some(Ok(p)) => p,
            };
            let (input, output) = match &bundle.audit {
                Some(a) => (
                    Some(a.record.boundaries[i]),
                    Some(a.record.boundaries[i + 1]),
                ),
                None => ((i == 0).then_some(in_c), (i + 1 == n).then_some(out_c)),
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
            .map_err(|e| shard_failure(e, bundle.kind()))?;
            // a chain: this shard starts where the previous one ended
            let prev = i
                .checked_sub(1)
                .and_then(|p| proofs[p].as_ref()?.as_ref().ok());
            match prev {
                Some(prev)
                    if bundle.audit.is_none()
                        && prev.output_commitment() != proof.input_commitment() =>
                {
                    Err(ShardFailure::Verify(VerifyError::Link(index - 1, index)))
                }
                _ => Ok(()),
            }
        })();
        let status = match (&result, sampled, &proofs[i]) {
            (Err(_), _, _) => ShardStatus::Rejected,
            (Ok(()), false, None) => ShardStatus::NotSampled,
            (Ok(()), _, _) => ShardStatus::Verified,
        };
        let error = result.err();
        if let Some(e) = &error {
            failures.push(Failure::Shard(e.clone()));
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
    // an audit binds the claimed input (output) by a proof only when the
    // first (last) shard was sampled
    let proven = |i: usize| sample.as_ref().is_none_or(|s| s.contains(&(i as u32)));
    let (input_binding, output_binding) = (
        if proven(0) {
            Binding::Claimed
        } else {
            Binding::Recorded
        },
        if proven(n - 1) {
            Binding::Claimed
        } else {
            Binding::Recorded
        },
    );
    let mut report = Report {
        verified: true,
        kind: bundle.kind().name(),
        error: None,
        trust: Trust::of(pins, input_binding, output_binding),
        verdict: String::new(),
        model_hash: hex(&model_hash),
        keys_digest: hex(&keys),
        shards,
        input,
        output,
        audit,
        verify_ms: now() - started,
    };
    report.verdict = report.verdict_line();
    if let Some(f) = failures.into_iter().next() {
        report.fail(f);
    }
    Ok(report)
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

/// A verifier error in the words of a bundle's reader: the "given" input
/// and output of the native API are the bundle's claims (chain) or the
/// audit record's boundaries (audit).
fn shard_failure(e: VerifyError, kind: BundleKind) -> ShardFailure {
    match (e, kind) {
        (VerifyError::Input(shard), BundleKind::Chain) => ShardFailure::ClaimedInput { shard },
        (VerifyError::Output(shard), BundleKind::Chain) => ShardFailure::ClaimedOutput { shard },
        (VerifyError::Input(shard), BundleKind::Audit) => ShardFailure::RecordedInput { shard },
        (VerifyError::Output(shard), BundleKind::Audit) => ShardFailure::RecordedOutput { shard },
        (e, _) => ShardFailure::Verify(e),
    }
}

/// The hex form of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

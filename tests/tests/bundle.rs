//! The bundle (one file with the Plan, the SRS verifier part, every shard's
//! verifying key and proof, and the claimed input and output) through the
//! library API: an honest two-shard chain round-trips and verifies; every
//! forgery (a flipped proof byte, swapped shards, changed claims, another
//! model's Plan, another shard's key, another SRS, wrong pins) is rejected
//! naming the problem and the shard; hostile bytes (every cut, a changed
//! version or kind, trailing bytes, corrupt keys or Plans) are errors, never
//! panics; the SRS verifier part checks its points; audit bundles prove
//! exactly the sample their boundary commitments select.
//!
//! The honest proofs are made once per test binary (proving is the slow
//! part) and every forgery is derived from them.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1, G2};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, GroupEncoding};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::OnceLock;
use zkinf_circuits::shard::{partition_into, ShardCircuit};
use zkinf_circuits::{dequantize_output, execute, quantize_input, CheckedPlan};
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_prover::{keygen, prove_shard};
use zkinf_tests::{argmax, digits, samples};
use zkinf_verifier::{
    audit_sample, detection_probability, keys_digest, keys_digest_of, read_verifying_key,
    verify_audit, verify_bundle, verify_shard, write_verifying_key, AuditRecord, Bundle,
    BundleError, BundleKind, BundleShard, Expected, Pins, Report, ShardProof, ShardStatus,
    SrsVerifierPart, VerifyError, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, SRS_PART_BYTES,
};

const MODEL: &str = "mlp_int8_qdq";
/// The SRS the honest proofs are made with.
const SRS_K: u32 = 12;

/// An honest two-shard inference of [`MODEL`].
struct Honest {
    plan: CheckedPlan,
    params: ParamsKZG<Bn256>,
    /// each shard's circuit size
    ks: Vec<u32>,
    /// verifying-key files
    vks: Vec<Vec<u8>>,
    proofs: Vec<ShardProof>,
    input: Vec<i64>,
    output: Vec<i64>,
    /// the executor's dequantized output and its argmax
    values: Vec<f64>,
    argmax: usize,
}

fn honest() -> &'static Honest {
    static HONEST: OnceLock<Honest> = OnceLock::new();
    HONEST.get_or_init(|| {
        let plan = compile_file(
            &digits(&format!("{MODEL}.onnx")),
            &CompileOptions::default(),
        )
        .unwrap()
        .plan;
        let shards = partition_into(&plan, SRS_K, 2).unwrap();
        assert_eq!(shards.len(), 2, "{shards:?}");
        let params = ParamsKZG::<Bn256>::setup(SRS_K, StdRng::seed_from_u64(11));
        let s = samples(MODEL);
        let q = quantize_input(&plan.inputs[0], &s.inputs[0]).unwrap();
        let input: Vec<i64> = q.iter().copied().collect();
        let trace = execute(&plan, vec![q]).unwrap();
        let out = trace.get(plan.outputs[0].tensor);
        let output: Vec<i64> = out.iter().copied().collect();
        let values: Vec<f64> = dequantize_output(&plan.outputs[0], out)
            .iter()
            .copied()
            .collect();
        let mut vks = Vec::new();
        let mut proofs = Vec::new();
        for (i, sh) in shards.iter().enumerate() {
            let c = ShardCircuit::for_shard(&plan, sh.spec(), i as u32, Some(&trace)).unwrap();
            assert_eq!(c.k(), sh.k);
            assert!(sh.k <= SRS_K);
            let mut p = params.clone();
            if sh.k < SRS_K {
                p.downsize(sh.k);
            }
            let shard_params = c.params();
            let pk = keygen(&p, &c).unwrap();
            proofs.push(prove_shard(&p, &pk, c, i as u32).unwrap());
            vks.push(write_verifying_key(pk.get_vk(), shard_params));
        }
        Honest {
            ks: shards.iter().map(|s| s.k).collect(),
            argmax: argmax(&values),
            plan,
            params,
            vks,
            proofs,
            input,
            output,
            values,
        }
    })
}

impl Honest {
    /// The honest chain bundle.
    fn bundle(&self) -> Bundle {
        Bundle {
            plan: self.plan.to_bytes(),
            srs: SrsVerifierPart::of(&self.params),
            input: self.input.clone(),
            output: self.output.clone(),
            shards: self
                .vks
                .iter()
                .zip(&self.proofs)
                .map(|(vk, p)| BundleShard {
                    vk: vk.clone(),
                    proof: Some(p.to_bytes()),
                })
                .collect(),
            audit: None,
        }
    }

    /// The commitment at every boundary: each shard's input, then the last
    /// shard's output.
    fn boundaries(&self) -> Vec<Fr> {
        let mut b: Vec<Fr> = self.proofs.iter().map(|p| p.input_commitment()).collect();
        b.push(self.proofs.last().unwrap().output_commitment());
        b
    }

    /// An audit bundle proving the shards `audit_sample` selects (as
    /// `zkinf export-web --sample` builds it), and that sample.
    fn audit(&self, sample: u32) -> (Bundle, Vec<u32>) {
        let mut b = self.bundle();
        let boundaries = self.boundaries();
        let chosen = audit_sample(
            &model_hash_bytes(&b.plan),
            &keys_digest(&b),
            &boundaries,
            sample,
        );
        for (i, s) in b.shards.iter_mut().enumerate() {
            if !chosen.contains(&(i as u32)) {
                s.proof = None;
            }
        }
        b.audit = Some(AuditRecord { sample, boundaries });
        (b, chosen)
    }
}

/// SHA-256 of Plan bytes (the model's identity), via the Plan's own hash.
fn model_hash_bytes(plan_bytes: &[u8]) -> [u8; 32] {
    let plan = zkinf_circuits::Plan::from_bytes(plan_bytes).unwrap();
    assert_eq!(plan.to_bytes(), plan_bytes, "canonical plan bytes");
    unhex(&plan.hash_hex())
}

fn unhex(s: &str) -> [u8; 32] {
    assert_eq!(s.len(), 64, "{s}");
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn verify(b: &Bundle) -> Result<Report, BundleError> {
    verify_with(b, &Pins::default())
}

fn verify_with(b: &Bundle, pins: &Pins) -> Result<Report, BundleError> {
    verify_bundle(b, pins, &|| 0.0)
}

fn statuses(r: &Report) -> Vec<ShardStatus> {
    r.shards.iter().map(|s| s.status).collect()
}

fn shard_error(r: &Report, i: usize) -> String {
    r.shards[i].error.clone().unwrap_or_default()
}

/// A report of a bundle that does not verify: `rejected` are the shards
/// rejected (every other one verified), each with an error naming it; the
/// report's first error is that of the first rejected shard.
fn assert_rejected(r: &Report, rejected: &[usize]) {
    assert!(!r.verified, "{r:#?}");
    for (i, s) in r.shards.iter().enumerate() {
        if rejected.contains(&i) {
            assert_eq!(s.status, ShardStatus::Rejected, "shard {i}: {r:#?}");
            let e = s.error.as_deref().unwrap_or_default();
            assert!(
                e.contains(&format!("shard {i}"))
                    || e.contains(&format!("position {i} "))
                    || e.contains(&format!("and {i} do not link")),
                "shard {i}: {e}"
            );
        } else {
            assert_eq!(s.status, ShardStatus::Verified, "shard {i}: {r:#?}");
            assert_eq!(s.error, None);
        }
    }
    let first = rejected.iter().min().unwrap();
    assert_eq!(r.error, r.shards[*first].error, "{r:#?}");
}

/// One section of a bundle's bytes: where it is and how the reader names it
/// when the bundle is cut inside it.
#[derive(Clone, Copy, Debug)]
struct Section {
    start: usize,
    end: usize,
    name: &'static str,
}

/// The bundle's sections, parsed as scripts/tamper-bundle.py does.
fn sections(b: &[u8]) -> Vec<Section> {
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let mut out = vec![
        Section {
            start: 0,
            end: 8,
            name: "magic",
        },
        Section {
            start: 8,
            end: 13,
            name: "header",
        },
    ];
    let mut at = 13;
    let push = |out: &mut Vec<Section>, at: &mut usize, len: usize, name| {
        out.push(Section {
            start: *at,
            end: *at + len,
            name,
        });
        *at += len;
    };
    let plan = u32_at(at);
    push(&mut out, &mut at, 4 + plan, "plan");
    push(&mut out, &mut at, SRS_PART_BYTES, "SRS verifier part");
    let n = u32_at(at);
    push(&mut out, &mut at, 4 + 8 * n, "claimed input");
    let n = u32_at(at);
    push(&mut out, &mut at, 4 + 8 * n, "claimed output");
    let shards = u32_at(at);
    push(&mut out, &mut at, 4, "shard list");
    for _ in 0..shards {
        let vk = u32_at(at);
        push(&mut out, &mut at, 4 + vk, "verifying keys");
        let proof = u32_at(at);
        push(&mut out, &mut at, 4 + proof, "proofs");
    }
    if b[12] == 2 {
        push(&mut out, &mut at, 4 + 32 * (shards + 1), "audit record");
    }
    assert_eq!(at, b.len(), "the sections cover the bundle");
    out
}

/// Where shard `i`'s proof file starts in the bundle's bytes, and its length.
fn proof_at(b: &[u8], i: usize) -> (usize, usize) {
    let s = sections(b)
        .into_iter()
        .filter(|s| s.name == "proofs")
        .nth(i)
        .unwrap();
    (s.start + 4, s.end - s.start - 4)
}

/// Every cut of `bytes` at the lengths `lens` is the error the reader must
/// give there: bad magic inside the magic, else truncated in that section.
fn assert_cuts_fail(bytes: &[u8], lens: impl IntoIterator<Item = usize>) -> usize {
    let secs = sections(bytes);
    let mut tried = 0;
    for len in lens {
        assert!(len < bytes.len());
        let got = Bundle::from_bytes(&bytes[..len]);
        let sec = secs.iter().find(|s| s.start <= len && len < s.end).unwrap();
        let want = if sec.name == "magic" {
            BundleError::BadMagic
        } else {
            BundleError::Truncated(sec.name)
        };
        assert_eq!(got, Err(want), "cut to {len} bytes (in {sec:?})");
        tried += 1;
    }
    tried
}

/// Lengths to cut a bundle to: every one near a section boundary, every
/// one in the first 256 bytes, and a dense sample of the rest.
fn cut_lengths(bytes: &[u8]) -> Vec<usize> {
    let mut lens: Vec<usize> = (0..256.min(bytes.len())).collect();
    for s in sections(bytes) {
        for d in 0..6 {
            lens.push(s.start + d);
            lens.push(s.end.saturating_sub(d));
            lens.push(s.start.saturating_sub(d));
        }
    }
    lens.extend((0..bytes.len()).step_by(37));
    lens.extend(bytes.len().saturating_sub(64)..bytes.len());
    lens.retain(|&l| l < bytes.len());
    lens.sort_unstable();
    lens.dedup();
    lens
}

#[test]
fn an_honest_chain_bundle_round_trips_and_verifies() {
    let h = honest();
    let b = h.bundle();
    let bytes = b.to_bytes();
    assert_eq!(&bytes[..8], BUNDLE_MAGIC);
    assert_eq!(bytes[8..12], BUNDLE_FORMAT_VERSION.to_le_bytes());
    assert_eq!(bytes[12], 1, "kind: chain");
    let back = Bundle::from_bytes(&bytes).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.to_bytes(), bytes, "one encoding");
    assert_eq!(back.kind(), BundleKind::Chain);
    assert_eq!(back.expect_kind(BundleKind::Chain), Ok(()));

    let r = verify(&back).unwrap();
    assert!(r.verified, "{r:#?}");
    assert_eq!(r.error, None);
    assert_eq!(r.kind, "chain");
    assert_eq!(r.model_hash, h.plan.hash_hex());
    assert_eq!(r.keys_digest, hex(&keys_digest(&back)));
    assert_eq!(statuses(&r), vec![ShardStatus::Verified; 2]);
    for (i, s) in r.shards.iter().enumerate() {
        assert_eq!(s.index, i as u32);
        assert_eq!(s.k, Some(h.ks[i]));
        assert_eq!(s.error, None);
        assert_eq!(s.proof_bytes, h.proofs[i].to_bytes().len());
    }
    assert!(r.audit.is_none());
    // the claims, as the model reads them
    assert_eq!(r.input.name, h.plan.inputs[0].name);
    assert_eq!(r.input.shape, h.plan.inputs[0].shape);
    assert_eq!(r.input.q, h.input);
    assert_eq!(r.input.values.len(), h.input.len());
    assert_eq!(r.output.name, h.plan.outputs[0].name);
    assert_eq!(r.output.q, h.output);
    assert_eq!(r.output.values, h.values);
    assert_eq!(r.output.argmax, Some(h.argmax));
    let s = samples(MODEL);
    assert_eq!(
        h.argmax,
        argmax(&s.outputs[0]),
        "the executor agrees with onnxruntime"
    );
    // the report serializes (what `verify-bundle --json` prints)
    let json: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["shards"][1]["status"], "verified");

    // the keys digest is of the SRS part and the keys (what `zkinf setup`
    // records from its files), not the proofs
    assert_eq!(
        keys_digest_of(
            &SrsVerifierPart::of(&h.params),
            h.vks.iter().map(|v| v.as_slice())
        ),
        keys_digest(&back)
    );
    let mut no_proofs = back.clone();
    no_proofs.shards[1].proof = None;
    assert_eq!(keys_digest(&no_proofs), keys_digest(&back));
}

#[test]
fn tampered_chain_bundles_are_rejected_naming_the_shard() {
    let h = honest();
    let b = h.bundle();
    let bytes = b.to_bytes();
    let with = |f: &dyn Fn(&mut Bundle)| {
        let mut t = b.clone();
        f(&mut t);
        verify(&t)
    };

    // one flipped byte inside shard 1's proof (the halo2 proof part, as
    // scripts/tamper-bundle.py flips it)
    let (at, n) = proof_at(&bytes, 1);
    let header = 8 + 4 + 1 + 4 + 4 * 32 + 4;
    let mut flipped = bytes.clone();
    flipped[at + header + (n - header) / 2] ^= 0x01;
    let r = verify(&Bundle::from_bytes(&flipped).unwrap()).unwrap();
    assert_rejected(&r, &[1]);
    assert_eq!(shard_error(&r, 1), VerifyError::Rejected(1).to_string());
    assert!(shard_error(&r, 1).contains("does not verify"));
    // ... and one in shard 0's
    let (at0, n0) = proof_at(&bytes, 0);
    let mut flipped0 = bytes.clone();
    flipped0[at0 + n0 - 40] ^= 0x80;
    let r = verify(&Bundle::from_bytes(&flipped0).unwrap()).unwrap();
    assert_rejected(&r, &[0]);

    // the shards' (key, proof) entries swapped
    let r = with(&|t| t.shards.swap(0, 1)).unwrap();
    assert_rejected(&r, &[0, 1]);
    assert_eq!(
        shard_error(&r, 0),
        "position 0 of the chain holds the proof of shard 1 (proofs swapped or misnamed)"
    );
    assert_eq!(shard_error(&r, 1), VerifyError::Link(0, 1).to_string());
    // only the proofs swapped
    let r = with(&|t| {
        let p0 = t.shards[0].proof.take();
        t.shards[0].proof = t.shards[1].proof.take();
        t.shards[1].proof = p0;
    })
    .unwrap();
    assert_rejected(&r, &[0, 1]);
    assert!(shard_error(&r, 0).contains("position 0"), "{r:#?}");

    // the claimed output changed (still in the model's range)
    let out_range = h.plan.info(h.plan.outputs[0].tensor).range;
    let bump = |v: i64, r: zkinf_circuits::IntRange| if v < r.hi { v + 1 } else { v - 1 };
    let r = with(&|t| t.output[3] = bump(t.output[3], out_range)).unwrap();
    assert_rejected(&r, &[1]);
    assert_eq!(
        shard_error(&r, 1),
        "shard 1: the output commitment does not match the claimed output"
    );
    assert_ne!(
        r.output.q, h.output,
        "the report shows the claim it rejects"
    );

    // the claimed input changed
    let in_range = h.plan.inputs[0].range;
    let r = with(&|t| t.input[40] = bump(t.input[40], in_range)).unwrap();
    assert_rejected(&r, &[0]);
    assert_eq!(
        shard_error(&r, 0),
        "shard 0: the input commitment does not match the claimed input"
    );

    // claims outside the model's range or of the wrong size: no report
    let claim = |f: &dyn Fn(&mut Bundle), what: &str, why: &str| match with(f) {
        Err(BundleError::Claim(m)) => {
            assert!(m.contains(what) && m.contains(why), "{m}");
        }
        other => panic!("{what}: {other:?}"),
    };
    claim(
        &|t| t.output[0] = out_range.hi + 1,
        "claimed output",
        "outside the model's range",
    );
    claim(
        &|t| t.output[9] = out_range.lo - 1,
        "claimed output",
        "value",
    );
    claim(
        &|t| t.input[0] = in_range.lo - 1,
        "claimed input",
        "outside the model's range",
    );
    claim(&|t| t.input[63] = i64::MAX, "claimed input", "at 63");
    claim(
        &|t| {
            t.output.pop();
        },
        "claimed output",
        "values for shape",
    );
    claim(&|t| t.input.push(0), "claimed input", "values for shape");
    claim(&|t| t.input.clear(), "claimed input", "0 values");

    // another model's Plan (same input and output shapes and ranges)
    let other = compile_file(&digits("mlp_float.onnx"), &CompileOptions::default())
        .unwrap()
        .plan;
    assert_ne!(other.hash_hex(), h.plan.hash_hex());
    let r = with(&|t| t.plan = other.to_bytes()).unwrap();
    assert_rejected(&r, &[0, 1]);
    assert_eq!(r.model_hash, other.hash_hex());
    assert_ne!(r.model_hash, h.plan.hash_hex());
    for i in 0..2 {
        assert!(
            shard_error(&r, i).contains(&format!("shard {i}: the proof is for model")),
            "{r:#?}"
        );
    }

    // shard 0's verifying key replaced with shard 1's
    let r = with(&|t| t.shards[0].vk = t.shards[1].vk.clone()).unwrap();
    assert_rejected(&r, &[0]);
    assert_ne!(r.keys_digest, hex(&keys_digest(&b)));
    // and shard 1's with shard 0's
    let r = with(&|t| t.shards[1].vk = t.shards[0].vk.clone()).unwrap();
    assert_rejected(&r, &[1]);

    // the SRS verifier part of another SRS
    let foreign = ParamsKZG::<Bn256>::setup(4, StdRng::seed_from_u64(99));
    let r = with(&|t| t.srs = SrsVerifierPart::of(&foreign)).unwrap();
    assert_rejected(&r, &[0, 1]);
    for i in 0..2 {
        assert_eq!(
            shard_error(&r, i),
            VerifyError::Rejected(i as u32).to_string()
        );
    }
    assert_ne!(r.keys_digest, hex(&keys_digest(&b)));
    assert_eq!(r.model_hash, h.plan.hash_hex());

    // a shard without its proof, with an unreadable proof, with a proof cut short
    let r = with(&|t| t.shards[1].proof = None).unwrap();
    assert_rejected(&r, &[1]);
    assert_eq!(shard_error(&r, 1), "shard 1: no proof in the bundle");
    let r = with(&|t| t.shards[1].proof = Some(b"not a proof at all".to_vec())).unwrap();
    assert_rejected(&r, &[1]);
    assert!(
        shard_error(&r, 1).starts_with("shard 1: proof: not a zkinf shard proof"),
        "{r:#?}"
    );
    let r = with(&|t| {
        let p = t.shards[0].proof.as_mut().unwrap();
        p.truncate(p.len() - 10);
    })
    .unwrap();
    assert_rejected(&r, &[0]);
    assert!(
        shard_error(&r, 0).contains("proof file is truncated"),
        "{r:#?}"
    );
    for keep in [
        0,
        1,
        64,
        h.proofs[1].proof.len() / 2,
        h.proofs[1].proof.len() - 1,
    ] {
        let r = with(&|t| {
            let mut p = h.proofs[1].clone();
            p.proof.truncate(keep);
            t.shards[1].proof = Some(p.to_bytes());
        })
        .unwrap();
        assert_rejected(&r, &[1]);
        assert_eq!(shard_error(&r, 1), VerifyError::Rejected(1).to_string());
    }
    // a proof of the right shard with a changed public output
    let r = with(&|t| {
        let mut p = h.proofs[1].clone();
        p.instances[3] += Fr::ONE;
        t.shards[1].proof = Some(p.to_bytes());
    })
    .unwrap();
    assert_rejected(&r, &[1]);
}

#[test]
fn pins_name_the_expected_model_and_keys() {
    let h = honest();
    let b = h.bundle();
    let model = h.plan.hash_hex();
    let keys = hex(&keys_digest(&b));
    let pins = |m: Option<&str>, k: Option<&str>| Pins {
        model_hash: m.map(str::to_string),
        keys_digest: k.map(str::to_string),
    };

    // the right pins (in either case) verify
    for p in [
        pins(Some(&model), None),
        pins(None, Some(&keys)),
        pins(Some(&model), Some(&keys)),
        pins(Some(&model.to_uppercase()), Some(&keys.to_uppercase())),
    ] {
        let r = verify_with(&b, &p).unwrap();
        assert!(r.verified, "{p:?}: {r:#?}");
    }

    // a wrong model hash: not verified, though every shard verifies
    let wrong = "ab".repeat(32);
    let r = verify_with(&b, &pins(Some(&wrong), Some(&keys))).unwrap();
    assert!(!r.verified);
    assert_eq!(statuses(&r), vec![ShardStatus::Verified; 2]);
    let e = r.error.unwrap();
    assert!(
        e.contains(&format!("not of the expected model {wrong}")) && e.contains(&model),
        "{e}"
    );
    // a prefix of the right hash is not the hash
    let r = verify_with(&b, &pins(Some(&model[..16]), None)).unwrap();
    assert!(!r.verified);

    // a wrong keys digest
    let r = verify_with(&b, &pins(Some(&model), Some(&wrong))).unwrap();
    assert!(!r.verified);
    assert_eq!(statuses(&r), vec![ShardStatus::Verified; 2]);
    let e = r.error.unwrap();
    assert!(
        e.contains(&format!("keys digest is {keys}, not the expected {wrong}")),
        "{e}"
    );

    // another SRS: the shards fail and the keys digest pin names the change
    let mut t = b.clone();
    t.srs = SrsVerifierPart::of(&ParamsKZG::<Bn256>::setup(4, StdRng::seed_from_u64(7)));
    let r = verify_with(&t, &pins(None, Some(&keys))).unwrap();
    assert!(!r.verified);
    assert!(
        r.error
            .unwrap()
            .contains(&format!("not the expected {keys}")),
        "the pin is the first reason"
    );
}

#[test]
fn hostile_bytes_are_errors_not_panics() {
    let h = honest();
    let b = h.bundle();
    let bytes = b.to_bytes();
    let secs = sections(&bytes);
    assert_eq!(secs.len(), 2 + 5 + 2 * 2);

    // cuts: dense, with every section boundary
    let tried = assert_cuts_fail(&bytes, cut_lengths(&bytes));
    assert!(tried > 1000, "{tried} cuts of {} bytes", bytes.len());

    // the header
    assert_eq!(Bundle::from_bytes(b""), Err(BundleError::BadMagic));
    let mut m = bytes.clone();
    m[3] ^= 0x20;
    assert_eq!(Bundle::from_bytes(&m), Err(BundleError::BadMagic));
    assert_eq!(
        Bundle::from_bytes(&h.plan.to_bytes()),
        Err(BundleError::BadMagic),
        "a plan file is not a bundle"
    );
    for v in [0u32, 2, u32::MAX] {
        let mut t = bytes.clone();
        t[8..12].copy_from_slice(&v.to_le_bytes());
        assert_eq!(
            Bundle::from_bytes(&t),
            Err(BundleError::Version {
                found: v,
                supported: BUNDLE_FORMAT_VERSION
            })
        );
    }
    for k in [0u8, 3, 255] {
        let mut t = bytes.clone();
        t[12] = k;
        assert_eq!(Bundle::from_bytes(&t), Err(BundleError::Kind(k)));
    }
    assert_eq!(BundleError::Kind(3).to_string(), "unknown bundle kind 3");
    // kind 2 (audit) on a chain's bytes: the audit record is missing
    let mut t = bytes.clone();
    t[12] = 2;
    assert_eq!(
        Bundle::from_bytes(&t),
        Err(BundleError::Truncated("audit record"))
    );

    // trailing bytes
    for extra in [1usize, 7, 4096] {
        let mut t = bytes.clone();
        t.extend(vec![0u8; extra]);
        assert_eq!(Bundle::from_bytes(&t), Err(BundleError::Trailing(extra)));
    }

    // the shard list: none, too many, more than the bytes hold
    let list = secs.iter().find(|s| s.name == "shard list").unwrap().start;
    let mut empty = b.clone();
    empty.shards.clear();
    assert_eq!(
        Bundle::from_bytes(&empty.to_bytes()),
        Err(BundleError::NoShards)
    );
    let count = |n: u32| {
        let mut t = bytes.clone();
        t[list..list + 4].copy_from_slice(&n.to_le_bytes());
        Bundle::from_bytes(&t)
    };
    assert_eq!(count(0), Err(BundleError::NoShards));
    assert_eq!(
        count(1),
        Err(BundleError::Trailing(bytes.len() - secs[8].end))
    );
    assert_eq!(count(3), Err(BundleError::Truncated("verifying keys")));
    assert_eq!(count(65537), Err(BundleError::TooManyShards(65537)));
    assert_eq!(
        count(u32::MAX),
        Err(BundleError::TooManyShards(u32::MAX as usize))
    );

    // lengths larger than the bundle
    let len_at = |name: &str, v: u32| {
        let at = secs.iter().find(|s| s.name == name).unwrap().start;
        let mut t = bytes.clone();
        t[at..at + 4].copy_from_slice(&v.to_le_bytes());
        Bundle::from_bytes(&t)
    };
    assert_eq!(
        len_at("plan", u32::MAX),
        Err(BundleError::Truncated("plan"))
    );
    assert_eq!(
        len_at("claimed input", u32::MAX),
        Err(BundleError::Truncated("claimed input"))
    );
    assert_eq!(
        len_at("claimed output", u32::MAX),
        Err(BundleError::Truncated("claimed output"))
    );
    assert_eq!(
        len_at("verifying keys", u32::MAX),
        Err(BundleError::Truncated("verifying keys"))
    );
    assert_eq!(
        len_at("proofs", u32::MAX),
        Err(BundleError::Truncated("proofs"))
    );
    // a proof length of 0 reads as "not proven" and leaves the proof's
    // bytes where the next shard's key should be
    assert!(len_at("proofs", 0).is_err());

    // a damaged SRS verifier part
    let srs = secs[3];
    assert_eq!(srs.name, "SRS verifier part");
    let mut t = bytes.clone();
    t[srs.start..srs.start + 32].copy_from_slice(&[0xff; 32]);
    assert!(
        matches!(Bundle::from_bytes(&t), Err(BundleError::Srs(m)) if m.contains("SRS verifier part")),
    );

    // the wrong kind
    let (audit, _) = h.audit(1);
    assert_eq!(
        b.expect_kind(BundleKind::Audit),
        Err(BundleError::WrongKind {
            found: "a chain",
            expected: "an audit"
        })
    );
    assert_eq!(
        audit.expect_kind(BundleKind::Chain),
        Err(BundleError::WrongKind {
            found: "an audit",
            expected: "a chain"
        })
    );
    assert_eq!(
        BundleError::WrongKind {
            found: "an audit",
            expected: "a chain"
        }
        .to_string(),
        "this is an audit bundle, expected a chain bundle"
    );

    // corrupt verifying keys inside a well-formed bundle: that shard is
    // rejected with a verifying-key error, the other verifies
    let with_vk1 = |vk: Vec<u8>| {
        let mut t = b.clone();
        t.shards[1].vk = vk;
        let back = Bundle::from_bytes(&t.to_bytes()).unwrap();
        let r = verify(&back).unwrap();
        assert_rejected(&r, &[1]);
        r
    };
    let vk1 = &h.vks[1];
    for (vk, why) in [
        (
            vk1[..vk1.len() / 2].to_vec(),
            "truncated or corrupt verifying key",
        ),
        (
            vk1[..vk1.len() - 1].to_vec(),
            "truncated or corrupt verifying key",
        ),
        ([vk1.as_slice(), &[0]].concat(), "1 trailing bytes"),
        (Vec::new(), "no header"),
        (b"ZKINFPK\0".to_vec(), "no header"),
        (
            [b"ZKINFPK\0".as_slice(), &vk1[8..]].concat(),
            "not a zkinf verifying key",
        ),
        (h.proofs[1].to_bytes(), "not a zkinf verifying key"),
    ] {
        let r = with_vk1(vk);
        let e = shard_error(&r, 1);
        assert!(
            e.starts_with("shard 1: verifying key: ") && e.contains(why),
            "{why}: {e}"
        );
        assert_eq!(r.shards[1].k, None);
    }
    // one flipped bit at many places in the key: never a panic. In the
    // header and the commitments (fixed columns, permutation) the key is
    // another circuit's and the proof is rejected; the selector bitmap
    // that ends the key may change without changing the circuit (halo2
    // only uses it to combine selectors), so such a key may verify: as a
    // different key, with a different keys digest.
    let nfixed = u32::from_le_bytes(vk1[26..30].try_into().unwrap()) as usize;
    let commitments_end = 30 + 64 * nfixed;
    assert!(commitments_end < vk1.len());
    let honest_keys = hex(&keys_digest(&b));
    let mut rejected = 0;
    // (bytes 21..25, the key's k, are below and in the ignored test)
    for at in (20..21).chain(25..30).chain((30..vk1.len()).step_by(53)) {
        let mut t = b.clone();
        t.shards[1].vk[at] ^= 0x04;
        let r = verify(&t).unwrap();
        assert_eq!(r.shards[0].status, ShardStatus::Verified);
        match r.shards[1].status {
            ShardStatus::Rejected => {
                rejected += 1;
                assert!(shard_error(&r, 1).starts_with("shard 1: "), "byte {at}");
            }
            status => {
                assert!(at >= commitments_end, "byte {at}: {status:?}");
                assert_eq!(status, ShardStatus::Verified);
                assert_ne!(r.keys_digest, honest_keys);
                let pinned = verify_with(
                    &t,
                    &Pins {
                        keys_digest: Some(honest_keys.clone()),
                        ..Pins::default()
                    },
                )
                .unwrap();
                assert!(!pinned.verified, "the published keys digest catches it");
            }
        }
    }
    assert!(rejected > 10, "{rejected}");
    // another k, within what halo2 reads: a corrupt key
    for k in [0u32, 1, 8, 10, 13, 20] {
        let mut vk = vk1.clone();
        vk[21..25].copy_from_slice(&k.to_le_bytes());
        let r = with_vk1(vk);
        assert!(
            shard_error(&r, 1).starts_with("shard 1: verifying key: "),
            "k = {k}: {r:#?}"
        );
    }

    // a corrupt Plan is an error of the bundle
    let plan_bytes = h.plan.to_bytes();
    let plan = |p: Vec<u8>| {
        let mut t = b.clone();
        t.plan = p;
        verify(&Bundle::from_bytes(&t.to_bytes()).unwrap())
    };
    for (p, why) in [
        (plan_bytes[..plan_bytes.len() / 2].to_vec(), "corrupt"),
        (plan_bytes[..plan_bytes.len() - 1].to_vec(), "corrupt"),
        (plan_bytes[..12].to_vec(), "corrupt"),
        (Vec::new(), "bad magic"),
        (b"ZKINFPLX".to_vec(), "bad magic"),
        (
            [&plan_bytes[..8], &9u32.to_le_bytes()[..], &plan_bytes[12..]].concat(),
            "version 9",
        ),
        ([plan_bytes.as_slice(), &[0]].concat(), ""),
        (bytes.clone(), "bad magic"),
    ] {
        match plan(p) {
            Err(BundleError::Plan(m)) => assert!(m.contains(why), "{why}: {m}"),
            other => panic!("{why}: {:?}", other.map(|r| r.error)),
        }
    }
}

/// A verifying key whose halo2 header claims a circuit of `2^k` rows for a
/// huge `k` must be rejected like any corrupt key: the key's `k` (bytes
/// 21..25 of the key file) is checked against `MAX_K` before halo2 sizes a
/// domain from it (halo2 asserts `k <= 28` and allocates `2^k` booleans per
/// selector).
#[test]
fn a_verifying_key_claiming_a_huge_circuit_is_rejected() {
    let h = honest();
    for k in [27u32, 28, 29, 40, 63, 64, u32::MAX] {
        let mut t = h.bundle();
        t.shards[1].vk[21..25].copy_from_slice(&k.to_le_bytes());
        let r = std::panic::catch_unwind(|| verify(&t).map(|r| r.shards[1].clone()));
        let s = r
            .unwrap_or_else(|_| panic!("k = {k}: verify_bundle panicked"))
            .unwrap();
        assert_eq!(s.status, ShardStatus::Rejected, "k = {k}");
    }
}

/// G2 points whose coordinates are not field elements must be rejected
/// like any point off the curve (halo2curves' `Fq2::from_bytes` unwraps each
/// coordinate, so `SrsVerifierPart::from_bytes` checks them first).
#[test]
fn non_canonical_g2_bytes_are_an_error() {
    let h = honest();
    let part = SrsVerifierPart::of(&h.params).to_bytes();
    for at in [32usize, 96] {
        let mut v = part;
        v[at..at + 64].copy_from_slice(&[0xff; 64]);
        let r = std::panic::catch_unwind(|| SrsVerifierPart::from_bytes(&v));
        assert_eq!(
            r.expect("SrsVerifierPart::from_bytes panicked"),
            Err("SRS verifier part: a point is not on the curve".to_string())
        );
    }
    let bytes = h.bundle().to_bytes();
    let srs = sections(&bytes)[3];
    let mut t = bytes.clone();
    t[srs.start + 96..srs.start + 160].copy_from_slice(&[0xff; 64]);
    let r = std::panic::catch_unwind(|| Bundle::from_bytes(&t));
    assert!(matches!(
        r.expect("Bundle::from_bytes panicked"),
        Err(BundleError::Srs(_))
    ));
}

#[test]
fn the_srs_verifier_part_checks_its_points() {
    let h = honest();
    let part = SrsVerifierPart::of(&h.params);
    let bytes = part.to_bytes();
    assert_eq!(bytes.len(), SRS_PART_BYTES);
    assert_eq!(SrsVerifierPart::from_bytes(&bytes), Ok(part));
    assert_eq!(&bytes[..32], G1Affine::generator().to_bytes().as_ref());
    assert_eq!(&bytes[32..96], G2Affine::generator().to_bytes().as_ref());
    assert!(part.matches(&h.params));
    // every prefix of the SRS has the same verifier part
    for k in [h.ks[0], h.ks[1], 4] {
        let mut p = h.params.clone();
        p.downsize(k);
        assert_eq!(SrsVerifierPart::of(&p), part, "k = {k}");
        assert_eq!(part.params(k).k(), k);
    }
    let other = ParamsKZG::<Bn256>::setup(4, StdRng::seed_from_u64(12));
    assert_ne!(SrsVerifierPart::of(&other), part);
    assert!(!part.matches(&other));

    // lengths
    for n in [0usize, 32, 159, 161, 320] {
        let v = vec![0u8; n];
        let e = SrsVerifierPart::from_bytes(&v).unwrap_err();
        assert!(
            e.contains(&format!("of {n} bytes (expected 160)")),
            "{n}: {e}"
        );
    }
    let with = |at: usize, repl: &[u8]| {
        let mut v = bytes;
        v[at..at + repl.len()].copy_from_slice(repl);
        SrsVerifierPart::from_bytes(&v)
    };
    // a point not on the curve: a canonical x with no y in G1, bytes that
    // are no field element in G2
    let off_curve = (1u64..)
        .map(|x| {
            let mut r = [0u8; 32];
            r[..8].copy_from_slice(&x.to_le_bytes());
            r
        })
        .find(|r| {
            let mut repr = <G1Affine as GroupEncoding>::Repr::default();
            repr.as_mut().copy_from_slice(r);
            bool::from(G1Affine::from_bytes(&repr).is_none())
        })
        .unwrap();
    let off_curve_g2 = (1u64..)
        .map(|x| {
            let mut r = [0u8; 64];
            r[..8].copy_from_slice(&x.to_le_bytes());
            r
        })
        .find(|r| {
            let mut repr = <G2Affine as GroupEncoding>::Repr::default();
            repr.as_mut().copy_from_slice(r);
            bool::from(G2Affine::from_bytes(&repr).is_none())
        })
        .unwrap();
    for (at, repl) in [
        (0usize, off_curve.to_vec()),
        (0, vec![0xff; 32]),
        (32, off_curve_g2.to_vec()),
        (96, off_curve_g2.to_vec()),
    ] {
        assert_eq!(
            with(at, &repl),
            Err("SRS verifier part: a point is not on the curve".to_string()),
            "at {at}"
        );
    }
    // points on the curve that are not the generators
    let g1_2 = (G1::generator() + G1::generator()).to_affine();
    let g2_3 = (G2::generator() * Fr::from(3)).to_affine();
    for (at, repl) in [
        (0usize, g1_2.to_bytes().as_ref().to_vec()),
        (32, g2_3.to_bytes().as_ref().to_vec()),
    ] {
        assert_eq!(
            with(at, &repl),
            Err("SRS verifier part: the generators are not BN254's".to_string()),
            "at {at}"
        );
    }
    // a trivial s·G2: the identity, or the generator (s = 1)
    for repl in [G2Affine::identity(), G2Affine::generator()] {
        assert_eq!(
            with(96, repl.to_bytes().as_ref()),
            Err("SRS verifier part: s·G2 is trivial".to_string())
        );
    }
    // any other point is accepted as s·G2
    assert!(with(96, g2_3.to_bytes().as_ref()).is_ok());

    // the verifier part alone verifies what the full SRS verifies
    let vk = read_verifying_key(&h.vks[0]).unwrap();
    let proof = &h.proofs[0];
    let k = h.ks[0];
    let mut full = h.params.clone();
    full.downsize(k);
    let exp = Expected {
        model_id: Some(proof.model_id()),
        shard: 0,
        input: Some(proof.input_commitment()),
        output: Some(proof.output_commitment()),
    };
    let back = SrsVerifierPart::from_bytes(&bytes).unwrap();
    assert_eq!(verify_shard(&full, &vk, proof, &exp), Ok(()));
    assert_eq!(verify_shard(&back.params(k), &vk, proof, &exp), Ok(()));
    let mut bad = proof.clone();
    let mid = bad.proof.len() / 2;
    bad.proof[mid] ^= 1;
    assert_eq!(
        verify_shard(&full, &vk, &bad, &exp),
        Err(VerifyError::Rejected(0))
    );
    assert_eq!(
        verify_shard(&back.params(k), &vk, &bad, &exp),
        Err(VerifyError::Rejected(0))
    );
    assert_eq!(
        verify_shard(&part.params(k + 1), &vk, proof, &exp),
        Err(VerifyError::SrsSize {
            shard: 0,
            vk_k: k,
            srs_k: k + 1
        })
    );
    // another SRS's part rejects it
    let foreign = SrsVerifierPart::of(&other);
    assert_eq!(
        verify_shard(&foreign.params(k), &vk, proof, &exp),
        Err(VerifyError::Rejected(0))
    );
    // so does a part with a valid but wrong s·G2
    let wrong = with(96, g2_3.to_bytes().as_ref()).unwrap();
    assert_eq!(
        verify_shard(&wrong.params(k), &vk, proof, &exp),
        Err(VerifyError::Rejected(0))
    );
}

#[test]
fn audit_bundles_prove_the_sample_their_commitments_select() {
    let h = honest();
    let (b, chosen) = h.audit(1);
    assert_eq!(chosen.len(), 1);
    let sampled = chosen[0] as usize;
    let other = 1 - sampled;
    assert!(b.shards[sampled].proof.is_some() && b.shards[other].proof.is_none());
    let boundaries = h.boundaries();
    assert_eq!(boundaries.len(), 3);
    assert_eq!(boundaries[1], h.proofs[0].output_commitment(), "linked");

    // round trip
    let bytes = b.to_bytes();
    assert_eq!(bytes[12], 2, "kind: audit");
    let back = Bundle::from_bytes(&bytes).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.kind(), BundleKind::Audit);
    assert_eq!(back.expect_kind(BundleKind::Audit), Ok(()));

    // it verifies, the unsampled shard open to challenge
    let r = verify(&back).unwrap();
    assert!(r.verified, "{r:#?}");
    assert_eq!(r.kind, "audit");
    assert_eq!(r.shards[sampled].status, ShardStatus::Verified);
    assert_eq!(r.shards[other].status, ShardStatus::NotSampled);
    assert_eq!(r.shards[other].error, None);
    assert_eq!(r.shards[other].proof_bytes, 0);
    assert_eq!(r.shards[other].k, Some(h.ks[other]));
    let a = r.audit.as_ref().unwrap();
    assert_eq!(a.sample, chosen);
    assert_eq!(
        a.sample,
        audit_sample(
            &unhex(&r.model_hash),
            &unhex(&r.keys_digest),
            &boundaries,
            1
        ),
        "the sample recomputed from the report's hashes"
    );
    assert_eq!(a.shards, 2);
    assert_eq!(a.detection_one, 0.5);
    assert_eq!(r.output.argmax, Some(h.argmax));
    // the keys digest is that of the chain bundle (proofs are not in it)
    assert_eq!(r.keys_digest, hex(&keys_digest(&h.bundle())));

    // verify_audit: the same report, for audit bundles only
    let ra = verify_audit(&back, &Pins::default(), &|| 0.0).unwrap();
    assert!(ra.verified);
    assert_eq!(ra.audit.unwrap().sample, chosen);
    assert!(matches!(
        verify_audit(&h.bundle(), &Pins::default(), &|| 0.0),
        Err(BundleError::WrongKind {
            found: "a chain",
            expected: "an audit"
        })
    ));

    // sample 2 of 2: every shard proven
    let (all, every) = h.audit(2);
    assert_eq!(every, vec![0, 1]);
    let r = verify(&all).unwrap();
    assert!(r.verified);
    assert_eq!(statuses(&r), vec![ShardStatus::Verified; 2]);
    assert_eq!(r.audit.unwrap().detection_one, 1.0);
    // an unsampled shard's proof, when present, is checked too
    let mut extra = b.clone();
    extra.shards[other].proof = Some(h.proofs[other].to_bytes());
    let r = verify(&extra).unwrap();
    assert!(r.verified);
    assert_eq!(statuses(&r), vec![ShardStatus::Verified; 2]);
    let mut p = h.proofs[other].clone();
    let mid = p.proof.len() / 2;
    p.proof[mid] ^= 1;
    extra.shards[other].proof = Some(p.to_bytes());
    assert_rejected(&verify(&extra).unwrap(), &[other]);

    let with = |f: &dyn Fn(&mut Bundle)| {
        let mut t = b.clone();
        f(&mut t);
        verify(&t)
    };
    let set_boundary = |t: &mut Bundle, i: usize, c: Fr| {
        t.audit.as_mut().unwrap().boundaries[i] = c;
    };

    // the sampled proof dropped
    let r = with(&|t| t.shards[sampled].proof = None).unwrap();
    assert!(!r.verified);
    assert_eq!(r.shards[sampled].status, ShardStatus::Rejected);
    assert_eq!(
        shard_error(&r, sampled),
        format!("shard {sampled}: no proof in the bundle")
    );
    assert_eq!(r.shards[other].status, ShardStatus::NotSampled);
    // the sampled proof tampered with
    let r = with(&|t| {
        let mut p = h.proofs[sampled].clone();
        p.proof[40] ^= 2;
        t.shards[sampled].proof = Some(p.to_bytes());
    })
    .unwrap();
    assert!(!r.verified);
    assert_eq!(r.shards[sampled].status, ShardStatus::Rejected);
    assert_eq!(
        shard_error(&r, sampled),
        VerifyError::Rejected(sampled as u32).to_string()
    );

    // the input boundary not the claimed input's commitment
    let r = with(&|t| set_boundary(t, 0, boundaries[0] + Fr::ONE)).unwrap();
    assert!(!r.verified);
    assert_eq!(
        r.error.as_deref(),
        Some("the audit record's input commitment does not match the claimed input")
    );
    // the claimed input changed, the boundary kept
    let r = with(&|t| t.input[30] = if t.input[30] > 0 { 0 } else { 1 }).unwrap();
    assert!(!r.verified);
    assert_eq!(
        r.error.as_deref(),
        Some("the audit record's input commitment does not match the claimed input")
    );
    // the output boundary, or the claimed output
    let r = with(&|t| set_boundary(t, 2, boundaries[2] + Fr::ONE)).unwrap();
    assert!(!r.verified);
    assert_eq!(
        r.error.as_deref(),
        Some("the audit record's output commitment does not match the claimed output")
    );
    let r = with(&|t| t.output[0] += if t.output[0] > 0 { -1 } else { 1 }).unwrap();
    assert!(!r.verified);
    assert!(r.error.unwrap().contains("output commitment"));

    // an interior boundary changed: the sample moves to a shard without a
    // proof, or the sampled shard's commitment differs from the record's
    for delta in [Fr::ONE, Fr::from(2), -Fr::ONE, Fr::from(12345)] {
        let mut changed = boundaries.clone();
        changed[1] += delta;
        let r = with(&|t| set_boundary(t, 1, changed[1])).unwrap();
        assert!(!r.verified, "{r:#?}");
        let s = audit_sample(&unhex(&r.model_hash), &unhex(&r.keys_digest), &changed, 1);
        assert_eq!(r.audit.as_ref().unwrap().sample, s);
        let e = r.error.clone().unwrap();
        if s == chosen {
            assert_eq!(r.shards[sampled].status, ShardStatus::Rejected);
            assert_eq!(r.shards[other].status, ShardStatus::NotSampled);
            let side = if sampled == 0 { "output" } else { "input" };
            assert_eq!(
                e,
                format!("shard {sampled}: the {side} commitment differs from the audit record's")
            );
        } else {
            // the sample moved to the shard without a proof; the proof
            // kept is still checked, against the changed record
            assert_eq!(s, vec![other as u32]);
            assert_eq!(
                shard_error(&r, other),
                format!("shard {other}: no proof in the bundle")
            );
            assert_eq!(r.shards[sampled].status, ShardStatus::Rejected);
            assert!(shard_error(&r, sampled).contains("differs from the audit record's"));
        }
    }
    // a record of the wrong length
    assert!(matches!(
        with(&|t| {
            t.audit.as_mut().unwrap().boundaries.pop();
        }),
        Err(BundleError::Claim(m)) if m.contains("2 boundary commitments for 2 shards")
    ));

    // hostile audit bytes
    assert_cuts_fail(&bytes, cut_lengths(&bytes));
    let record = sections(&bytes).last().copied().unwrap();
    assert_eq!(record.name, "audit record");
    assert_eq!(record.end - record.start, 4 + 3 * 32);
    let patch = |at: usize, repl: &[u8]| {
        let mut t = bytes.clone();
        t[at..at + repl.len()].copy_from_slice(repl);
        Bundle::from_bytes(&t)
    };
    for (m, shards) in [(0u32, 2usize), (3, 2), (u32::MAX, 2)] {
        assert_eq!(
            patch(record.start, &m.to_le_bytes()),
            Err(BundleError::Sample { sample: m, shards })
        );
    }
    for i in 0..3 {
        assert_eq!(
            patch(record.start + 4 + 32 * i, &[0xff; 32]),
            Err(BundleError::Commitment(i))
        );
    }
    // the field modulus itself is not canonical
    let mut modulus = (-Fr::ONE).to_repr();
    modulus[0] += 1;
    assert_eq!(
        patch(record.start + 4 + 32, modulus.as_ref()),
        Err(BundleError::Commitment(1))
    );
    // a chain's bytes read as audit, an audit's as chain
    let mut t = bytes.clone();
    t[12] = 1;
    assert_eq!(
        Bundle::from_bytes(&t),
        Err(BundleError::Trailing(record.end - record.start))
    );
}

#[test]
fn audit_samples_and_detection_probabilities() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(detection_probability(10, 3, 1), 0.3));
    assert_eq!(detection_probability(10, 3, 0), 0.0);
    assert!(close(detection_probability(10, 3, 2), 1.0 - 56.0 / 120.0));
    assert_eq!(detection_probability(3, 3, 1), 1.0);
    assert_eq!(detection_probability(10, 10, 1), 1.0);
    assert_eq!(detection_probability(10, 8, 3), 1.0);
    assert!(close(detection_probability(2, 1, 1), 0.5));
    assert!(close(detection_probability(100, 1, 1), 0.01));
    assert!(close(
        detection_probability(100, 10, 5),
        1.0 - {
            (0..10)
                .map(|t| (95 - t) as f64 / (100 - t) as f64)
                .product::<f64>()
        }
    ));

    // samples: distinct, sorted, of the asked size, fixed by every input
    let model = [1u8; 32];
    let keys = [2u8; 32];
    let bounds: Vec<Fr> = (0..11u64).map(Fr::from).collect();
    for m in 1..=10u32 {
        let s = audit_sample(&model, &keys, &bounds, m);
        assert_eq!(s.len(), m as usize);
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        assert!(s.iter().all(|&i| i < 10));
        assert_eq!(s, audit_sample(&model, &keys, &bounds, m), "deterministic");
    }
    assert_eq!(
        audit_sample(&model, &keys, &bounds, 10),
        (0..10).collect::<Vec<u32>>()
    );
    assert_eq!(audit_sample(&model, &keys, &bounds, 50).len(), 10);
    assert!(audit_sample(&model, &keys, &bounds[..1], 1).is_empty());
    // any input of the hash moves some sample of 3 out of 10
    let base: Vec<Vec<u32>> = (0..16u8)
        .map(|salt| audit_sample(&[salt; 32], &keys, &bounds, 3))
        .collect();
    assert!(
        base.iter().any(|s| *s != base[0]),
        "the model hash selects the sample"
    );
    let by_keys: Vec<Vec<u32>> = (0..16u8)
        .map(|salt| audit_sample(&model, &[salt; 32], &bounds, 3))
        .collect();
    assert!(by_keys.iter().any(|s| *s != by_keys[0]));
    let by_bound: Vec<Vec<u32>> = (0..16u64)
        .map(|x| {
            let mut b = bounds.clone();
            b[5] = Fr::from(1000 + x);
            audit_sample(&model, &keys, &b, 3)
        })
        .collect();
    assert!(by_bound.iter().any(|s| *s != by_bound[0]));
}

/// `verify_bundle` takes a `Bundle` value: one built in memory (not read
/// with `Bundle::from_bytes`) must not verify with nothing proven (no
/// shards, or an audit sample of 0).
#[test]
fn a_bundle_value_with_nothing_proven_does_not_verify() {
    let h = honest();
    let mut empty = h.bundle();
    empty.shards.clear();
    let r = verify(&empty);
    assert!(
        !matches!(&r, Ok(r) if r.verified),
        "a chain of no shards verified"
    );
    let (mut audit, _) = h.audit(1);
    audit.audit.as_mut().unwrap().sample = 0;
    for s in &mut audit.shards {
        s.proof = None;
    }
    let r = verify(&audit);
    assert!(
        !matches!(&r, Ok(r) if r.verified),
        "an audit of sample 0 verified"
    );
}

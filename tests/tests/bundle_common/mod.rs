//! Shared by the bundle tests (`bundle_chain`, `bundle_hostile`,
//! `bundle_audit`): an honest two-shard chain of the digits MLP, proven once
//! per test binary (proving is the slow part), the bundles and forgeries
//! derived from it, and the byte layout of a bundle.

#![allow(dead_code, unused_imports)]

pub use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1, G2};
pub use halo2_proofs::halo2curves::ff::{Field, PrimeField};
pub use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
pub use halo2_proofs::halo2curves::group::{Curve, GroupEncoding};
pub use halo2_proofs::poly::commitment::Params;
pub use halo2_proofs::poly::kzg::commitment::ParamsKZG;
pub use rand::rngs::StdRng;
pub use rand::SeedableRng;
pub use std::sync::OnceLock;
pub use zkinf_circuits::shard::{partition_into, ShardCircuit, ShardSpec};
pub use zkinf_circuits::{dequantize_output, execute, quantize_input, CheckedPlan};
pub use zkinf_compiler::{compile_file, CompileOptions};
pub use zkinf_prover::{keygen, prove_shard};
pub use zkinf_tests::{argmax, digits, samples};
pub use zkinf_verifier::{
    detection_probability, draw_sample, keys_digest, keys_digest_of, read_verifying_key,
    sample_size_for, utc, verify_audit, verify_bundle, verify_shard, write_verifying_key,
    AuditRecord, BeaconRound, Bundle, BundleError, BundleKind, BundleShard, CommitRecord,
    CommitRecordError, Expected, Failure, Pins, Report, ShardFailure, ShardProof, ShardStatus,
    SrsVerifierPart, VerifyError, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC, QUICKNET, SRS_PART_BYTES,
};

pub const MODEL: &str = "mlp_int8_qdq";
/// The SRS the honest proofs are made with.
pub const SRS_K: u32 = 12;

/// An honest two-shard inference of [`MODEL`].
pub struct Honest {
    pub plan: CheckedPlan,
    pub params: ParamsKZG<Bn256>,
    /// each shard's circuit size and nodes
    pub ks: Vec<u32>,
    pub specs: Vec<ShardSpec>,
    /// verifying-key files
    pub vks: Vec<Vec<u8>>,
    pub proofs: Vec<ShardProof>,
    pub input: Vec<i64>,
    pub output: Vec<i64>,
    /// the executor's dequantized output and its argmax
    pub values: Vec<f64>,
    pub argmax: usize,
}

pub fn honest() -> &'static Honest {
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
            specs: shards.iter().map(|s| s.spec()).collect(),
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
    pub fn bundle(&self) -> Bundle {
        Bundle {
            plan: self.plan.to_bytes(),
            srs: SrsVerifierPart::of(&self.params),
            input: self.input.clone(),
            output: self.output.clone(),
            shards: self
                .vks
                .iter()
                .zip(&self.proofs)
                .zip(&self.specs)
                .map(|((vk, p), spec)| BundleShard {
                    nodes: *spec,
                    vk: vk.clone(),
                    proof: Some(p.to_bytes()),
                })
                .collect(),
            audit: None,
        }
    }

    /// The commitment at every boundary: each shard's input, then the last
    /// shard's output.
    pub fn boundaries(&self) -> Vec<Fr> {
        let mut b: Vec<Fr> = self.proofs.iter().map(|p| p.input_commitment()).collect();
        b.push(self.proofs.last().unwrap().output_commitment());
        b
    }

    /// The commitment record of the honest run (as `zkinf commit` writes
    /// it).
    pub fn record(&self) -> CommitRecord {
        let b = self.bundle();
        CommitRecord {
            model_hash: model_hash_bytes(&b.plan),
            keys_digest: keys_digest(&b),
            beacon: None,
            boundaries: self.boundaries(),
        }
    }

    /// An audit bundle proving the shards drawn from the honest record and
    /// [`RANDOMNESS`] (as `zkinf export-web --record --sample` builds it),
    /// and that sample.
    pub fn audit(&self, sample: u32) -> (Bundle, Vec<u32>) {
        self.audit_with(sample, RANDOMNESS)
    }

    /// [`Self::audit`] under other randomness.
    pub fn audit_with(&self, sample: u32, randomness: &str) -> (Bundle, Vec<u32>) {
        self.audit_of(self.record(), sample, randomness)
    }

    /// The audit bundle of `record` (honest or not) under `randomness`: the
    /// honest proofs of the shards drawn, and that sample.
    pub fn audit_of(
        &self,
        record: CommitRecord,
        sample: u32,
        randomness: &str,
    ) -> (Bundle, Vec<u32>) {
        let mut b = self.bundle();
        let chosen = draw_sample(&record.hash(), randomness.as_bytes(), 2, sample);
        for (i, s) in b.shards.iter_mut().enumerate() {
            if !chosen.contains(&(i as u32)) {
                s.proof = None;
            }
        }
        b.audit = Some(AuditRecord {
            sample,
            randomness: randomness.as_bytes().to_vec(),
            record,
        });
        (b, chosen)
    }
}

/// The verifier's randomness of the test audits.
pub const RANDOMNESS: &str = "verifier seed 1";

/// SHA-256 of Plan bytes (the model's identity), via the Plan's own hash.
pub fn model_hash_bytes(plan_bytes: &[u8]) -> [u8; 32] {
    let plan = zkinf_circuits::Plan::from_bytes(plan_bytes).unwrap();
    assert_eq!(plan.to_bytes(), plan_bytes, "canonical plan bytes");
    unhex(&plan.hash_hex())
}

pub fn unhex(s: &str) -> [u8; 32] {
    assert_eq!(s.len(), 64, "{s}");
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn verify(b: &Bundle) -> Result<Report, BundleError> {
    verify_with(b, &Pins::default())
}

pub fn verify_with(b: &Bundle, pins: &Pins) -> Result<Report, BundleError> {
    verify_bundle(b, pins, &|| 0.0)
}

pub fn statuses(r: &Report) -> Vec<ShardStatus> {
    r.shards.iter().map(|s| s.status).collect()
}

pub fn shard_error(r: &Report, i: usize) -> String {
    r.shards[i]
        .error
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

/// A report of a bundle that does not verify: `rejected` are the shards
/// rejected (every other one verified), each with an error naming it; the
/// report's first error is that of the first rejected shard.
pub fn assert_rejected(r: &Report, rejected: &[usize]) {
    assert!(!r.verified, "{r:#?}");
    for (i, s) in r.shards.iter().enumerate() {
        if rejected.contains(&i) {
            assert_eq!(s.status, ShardStatus::Rejected, "shard {i}: {r:#?}");
            let e = s.error.as_ref().map(|e| e.to_string()).unwrap_or_default();
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
    assert_eq!(
        r.error,
        r.shards[*first].error.clone().map(Failure::Shard),
        "{r:#?}"
    );
}

/// One section of a bundle's bytes: where it is and how the reader names it
/// when the bundle is cut inside it.
#[derive(Clone, Copy, Debug)]
pub struct Section {
    pub start: usize,
    pub end: usize,
    pub name: &'static str,
}

/// The bundle's sections, parsed as scripts/tamper-bundle.py does.
pub fn sections(b: &[u8]) -> Vec<Section> {
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
        push(&mut out, &mut at, 8, "shard nodes");
        let vk = u32_at(at);
        push(&mut out, &mut at, 4 + vk, "verifying keys");
        let proof = u32_at(at);
        push(&mut out, &mut at, 4 + proof, "proofs");
    }
    if b[12] == 2 {
        // the sample size, the randomness, the commitment record
        push(&mut out, &mut at, 4, "audit record");
        let r = u32_at(at);
        push(&mut out, &mut at, 4 + r, "audit randomness");
        let r = u32_at(at);
        push(&mut out, &mut at, 4 + r, "audit record");
    }
    assert_eq!(at, b.len(), "the sections cover the bundle");
    out
}

/// Where shard `i`'s proof file starts in the bundle's bytes, and its length.
pub fn proof_at(b: &[u8], i: usize) -> (usize, usize) {
    let s = sections(b)
        .into_iter()
        .filter(|s| s.name == "proofs")
        .nth(i)
        .unwrap();
    (s.start + 4, s.end - s.start - 4)
}

/// Every cut of `bytes` at the lengths `lens` is the error the reader must
/// give there: bad magic inside the magic, else truncated in that section.
pub fn assert_cuts_fail(bytes: &[u8], lens: impl IntoIterator<Item = usize>) -> usize {
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
pub fn cut_lengths(bytes: &[u8]) -> Vec<usize> {
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

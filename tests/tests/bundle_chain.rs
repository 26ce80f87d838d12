//! Chain bundles through the library API: an honest two-shard chain
//! round-trips and verifies; every forgery (a flipped proof byte, swapped
//! shards, changed claims, another model's Plan, another shard's key, another
//! SRS) is rejected naming the problem and the shard; pins name the expected
//! model and keys.

mod bundle_common;

use bundle_common::*;

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

    // the shards' entries swapped (node ranges, keys and proofs): the
    // shards no longer cut the model in order
    assert!(matches!(
        with(&|t| t.shards.swap(0, 1)),
        Err(BundleError::Cut(_))
    ));
    // the shards' (key, proof) pairs swapped under their node ranges
    let r = with(&|t| {
        let (a, b) = (t.shards[0].clone(), t.shards[1].clone());
        t.shards[0] = BundleShard {
            nodes: a.nodes,
            ..b
        };
        t.shards[1] = BundleShard {
            nodes: b.nodes,
            ..a
        };
    })
    .unwrap();
    assert_rejected(&r, &[0, 1]);
    assert_eq!(
        shard_error(&r, 0),
        "position 0 of the chain holds the proof of shard 1 (proofs swapped or misnamed)"
    );
    assert_eq!(
        shard_error(&r, 1),
        "position 1 of the chain holds the proof of shard 0 (proofs swapped or misnamed)"
    );
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
        Err(BundleError::Claim(e)) => {
            let m = e.to_string();
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
        ..Pins::default()
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
    assert_eq!(
        r.error,
        Some(Failure::ModelPin {
            found: model.clone(),
            expected: wrong.clone()
        })
    );
    let e = r.error.unwrap().to_string();
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
    let e = r.error.unwrap().to_string();
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
            .to_string()
            .contains(&format!("not the expected {keys}")),
        "the pin is the first reason"
    );
}

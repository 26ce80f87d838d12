//! Audit bundles (hybrid mode): they prove exactly the sample their boundary
//! commitments select, and the sample and detection probabilities are what
//! the formulas say.

mod bundle_common;

use bundle_common::*;

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
    assert_eq!(r.error, Some(Failure::RecordedInput));
    assert_eq!(
        r.error.unwrap().to_string(),
        "the audit record's input commitment does not match the claimed input"
    );
    // the claimed input changed, the boundary kept
    let r = with(&|t| t.input[30] = if t.input[30] > 0 { 0 } else { 1 }).unwrap();
    assert!(!r.verified);
    assert_eq!(r.error, Some(Failure::RecordedInput));
    assert_eq!(
        r.error.unwrap().to_string(),
        "the audit record's input commitment does not match the claimed input"
    );
    // the output boundary, or the claimed output
    let r = with(&|t| set_boundary(t, 2, boundaries[2] + Fr::ONE)).unwrap();
    assert!(!r.verified);
    assert_eq!(r.error, Some(Failure::RecordedOutput));
    assert_eq!(
        r.error.unwrap().to_string(),
        "the audit record's output commitment does not match the claimed output"
    );
    let r = with(&|t| t.output[0] += if t.output[0] > 0 { -1 } else { 1 }).unwrap();
    assert!(!r.verified);
    assert!(r.error.unwrap().to_string().contains("output commitment"));

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
                e.to_string(),
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
        Err(BundleError::Boundaries {
            found: 2,
            shards: 2
        })
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

//! Hostile bundle bytes: every cut, a changed version or kind, trailing
//! bytes, corrupt keys or Plans are errors, never panics; the SRS verifier
//! part checks its points; a bundle value with nothing proven does not
//! verify.

mod bundle_common;
use zkinf_verifier::SrsPartError;

use bundle_common::*;

#[test]
fn hostile_bytes_are_errors_not_panics() {
    let h = honest();
    let b = h.bundle();
    let bytes = b.to_bytes();
    let secs = sections(&bytes);
    assert_eq!(secs.len(), 2 + 5 + 3 * 2);

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
    for v in [0u32, 1, 4, u32::MAX] {
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
        Err(BundleError::Trailing(bytes.len() - secs[9].end))
    );
    assert_eq!(count(3), Err(BundleError::Truncated("shard nodes")));
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
        matches!(Bundle::from_bytes(&t), Err(BundleError::Srs(m)) if m.to_string().contains("SRS verifier part")),
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
            Err(BundleError::Plan(m)) => assert!(m.to_string().contains(why), "{why}: {m}"),
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
            Err(SrsPartError::NotOnCurve)
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
            e == SrsPartError::Length(n)
                && e.to_string()
                    .contains(&format!("of {n} bytes (expected 160)")),
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
        assert_eq!(with(at, &repl), Err(SrsPartError::NotOnCurve), "at {at}");
    }
    // points on the curve that are not the generators
    let g1_2 = (G1::generator() + G1::generator()).to_affine();
    let g2_3 = (G2::generator() * Fr::from(3)).to_affine();
    for (at, repl) in [
        (0usize, g1_2.to_bytes().as_ref().to_vec()),
        (32, g2_3.to_bytes().as_ref().to_vec()),
    ] {
        assert_eq!(with(at, &repl), Err(SrsPartError::Generators), "at {at}");
    }
    // a trivial s·G2: the identity, or the generator (s = 1)
    for repl in [G2Affine::identity(), G2Affine::generator()] {
        assert_eq!(
            with(96, repl.to_bytes().as_ref()),
            Err(SrsPartError::Trivial)
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

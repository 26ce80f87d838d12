//! Audit bundles (hybrid mode): they prove exactly the sample drawn from
//! the commitment record's hash and the verifier's randomness; the record,
//! the randomness, the sample size and every proof are checked, each
//! tampering rejected with its own message; a prover cannot steer the
//! sample by re-rolling its commitments; the record format is strict.

mod bundle_common;

use bundle_common::*;

/// Every pin an auditor holds: the published model and keys, the record
/// hash it kept, the randomness it gave, its floor.
fn all_pins(h: &Honest, floor: u32) -> Pins {
    let b = h.bundle();
    Pins {
        model_hash: Some(hex(&model_hash_bytes(&b.plan))),
        keys_digest: Some(hex(&keys_digest(&b))),
        record_hash: Some(hex(&h.record().hash())),
        randomness: Some(RANDOMNESS.to_string()),
        min_sample: Some(floor),
    }
}

fn verify_with(b: &Bundle, pins: &Pins) -> Report {
    verify_bundle(b, pins, &|| 0.0).unwrap()
}

#[test]
fn audit_bundles_prove_the_sample_drawn_from_the_record_and_the_randomness() {
    let h = honest();
    let (b, chosen) = h.audit(1);
    assert_eq!(chosen.len(), 1);
    let sampled = chosen[0] as usize;
    let other = 1 - sampled;
    assert!(b.shards[sampled].proof.is_some() && b.shards[other].proof.is_none());
    let record = h.record();
    assert_eq!(record.boundaries.len(), 3);
    assert_eq!(
        record.boundaries[1],
        h.proofs[0].output_commitment(),
        "linked"
    );
    assert_eq!(
        chosen,
        draw_sample(&record.hash(), RANDOMNESS.as_bytes(), 2, 1)
    );

    // round trip
    let bytes = b.to_bytes();
    assert_eq!(bytes[12], 2, "kind: audit");
    assert_eq!(u32::from_le_bytes(bytes[8..12].try_into().unwrap()), 3);
    let back = Bundle::from_bytes(&bytes).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.kind(), BundleKind::Audit);

    // unpinned: verified, the unsampled shard open to challenge, and the
    // verdict says that nothing it rests on was pinned
    let r = verify(&back).unwrap();
    assert!(r.verified, "{r:#?}");
    assert!(!r.trusted());
    assert_eq!(r.kind, "audit");
    assert_eq!(r.shards[sampled].status, ShardStatus::Verified);
    assert_eq!(r.shards[other].status, ShardStatus::NotSampled);
    assert_eq!(r.shards[other].proof_bytes, 0);
    let a = r.audit.as_ref().unwrap();
    assert_eq!(a.sample, chosen);
    assert_eq!(a.shards, 2);
    assert_eq!(a.detection_one, 0.5);
    assert_eq!((a.for_90, a.for_99), (2, 2));
    assert_eq!(a.record_hash, hex(&record.hash()));
    assert_eq!(a.randomness, RANDOMNESS);
    assert!(!a.record_pinned && !a.randomness_pinned);
    assert!(
        r.verdict
            .contains("record hash NOT PINNED, randomness NOT PINNED"),
        "{}",
        r.verdict
    );
    // the keys digest is that of the chain bundle (proofs are not in it)
    assert_eq!(r.keys_digest, hex(&keys_digest(&h.bundle())));

    // model and keys pinned but not the audit's record and randomness: not
    // trusted (a prover choosing the randomness could steer the sample)
    let model_keys = Pins {
        record_hash: None,
        randomness: None,
        min_sample: None,
        ..all_pins(h, 1)
    };
    let r = verify_with(&back, &model_keys);
    assert!(r.verified && r.trust.pinned && !r.trusted());
    assert!(r.verdict.starts_with("verified, UNPINNED"), "{}", r.verdict);
    // every pin: trusted
    let r = verify_with(&back, &all_pins(h, 1));
    assert!(r.trusted(), "{r:#?}");
    assert!(r.verdict.starts_with("verified (pinned)"), "{}", r.verdict);
    assert!(r
        .verdict
        .contains("record hash pinned, randomness pinned, floor 1"));

    // verify_audit: the same report, for audit bundles only
    let ra = verify_audit(&back, &Pins::default(), &|| 0.0).unwrap();
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
    let r = verify_with(&all, &all_pins(h, 2));
    assert!(r.trusted());
    assert_eq!(statuses(&r), vec![ShardStatus::Verified; 2]);
    assert_eq!(r.audit.unwrap().detection_one, 1.0);
    // an unsampled shard's proof, when present, is checked too
    let mut extra = b.clone();
    extra.shards[other].proof = Some(h.proofs[other].to_bytes());
    assert!(verify(&extra).unwrap().verified);
    let mut p = h.proofs[other].clone();
    let mid = p.proof.len() / 2;
    p.proof[mid] ^= 1;
    extra.shards[other].proof = Some(p.to_bytes());
    assert_rejected(&verify(&extra).unwrap(), &[other]);
}

#[test]
fn tampered_audits_are_rejected_each_with_its_own_message() {
    let h = honest();
    let (b, chosen) = h.audit(1);
    let sampled = chosen[0] as usize;
    let other = 1 - sampled;
    let pins = all_pins(h, 1);
    let with = |f: &dyn Fn(&mut Bundle)| {
        let mut t = b.clone();
        f(&mut t);
        // what the bytes say, not only the value
        let t = Bundle::from_bytes(&t.to_bytes()).unwrap();
        verify_with(&t, &pins)
    };
    let error = |r: &Report| {
        assert!(!r.verified, "{r:#?}");
        r.error.as_ref().unwrap().to_string()
    };

    // the randomness: not the one the verifier gave
    let r = with(&|t| t.audit.as_mut().unwrap().randomness = b"prover's choice".to_vec());
    assert_eq!(
        error(&r),
        format!("the audit's randomness is \"prover's choice\", not the {RANDOMNESS:?} the verifier gave")
    );
    // a commitment of the record changed (after the randomness was known):
    // its hash is not the one the verifier kept
    let r = with(&|t| t.audit.as_mut().unwrap().record.boundaries[1] += Fr::ONE);
    let mut changed = h.record();
    changed.boundaries[1] += Fr::ONE;
    assert_eq!(
        error(&r),
        format!(
            "the commitment record's hash is {}, not the {} the verifier kept: its commitments changed after the randomness was given",
            hex(&changed.hash()),
            hex(&h.record().hash())
        )
    );
    // the sample size below the verifier's floor
    let r = verify_with(&b, &all_pins(h, 2));
    assert_eq!(
        error(&r),
        "the audit proves a sample of 1 shard(s), below the verifier's floor of 2"
    );
    // the sample size raised: the shards it adds have no proof
    let r = with(&|t| t.audit.as_mut().unwrap().sample = 2);
    assert_eq!(error(&r), format!("shard {other}: no proof in the bundle"));
    // the sampled proof dropped, tampered with, or another shard's
    let r = with(&|t| t.shards[sampled].proof = None);
    assert_eq!(
        error(&r),
        format!("shard {sampled}: no proof in the bundle")
    );
    let r = with(&|t| {
        let mut p = h.proofs[sampled].clone();
        p.proof[40] ^= 2;
        t.shards[sampled].proof = Some(p.to_bytes());
    });
    assert_eq!(error(&r), VerifyError::Rejected(sampled as u32).to_string());
    let r = with(&|t| t.shards[sampled].proof = Some(h.proofs[other].to_bytes()));
    assert_eq!(
        error(&r),
        VerifyError::ShardIndex {
            position: sampled,
            found: other as u32
        }
        .to_string()
    );
    // a record of another model, or other keys
    let r = with(&|t| t.audit.as_mut().unwrap().record.model_hash[0] ^= 1);
    assert!(
        error(&r).starts_with("the commitment record's hash is"),
        "the record hash pin comes first"
    );
    let unpinned_record = Pins {
        record_hash: None,
        ..pins.clone()
    };
    let mut t = b.clone();
    t.audit.as_mut().unwrap().record.model_hash[0] ^= 1;
    let r = verify_with(&t, &unpinned_record);
    assert!(
        error(&r).starts_with("the commitment record is of model "),
        "{}",
        error(&r)
    );
    let mut t = b.clone();
    t.audit.as_mut().unwrap().record.keys_digest[0] ^= 1;
    let r = verify_with(&t, &unpinned_record);
    assert!(
        error(&r).starts_with("the commitment record names keys digest "),
        "{}",
        error(&r)
    );
    // the record's input (output) boundary not the claimed input's (output's)
    let r = with(&|t| t.input[30] = if t.input[30] > 0 { 0 } else { 1 });
    assert!(!r.verified);
    let r = verify_with(
        &{
            let mut t = b.clone();
            t.input[30] = if t.input[30] > 0 { 0 } else { 1 };
            t
        },
        &unpinned_record,
    );
    assert_eq!(
        error(&r),
        "the audit record's input commitment does not match the claimed input"
    );
    let r = verify_with(
        &{
            let mut t = b.clone();
            t.output[0] += if t.output[0] > 0 { -1 } else { 1 };
            t
        },
        &unpinned_record,
    );
    assert_eq!(
        error(&r),
        "the audit record's output commitment does not match the claimed output"
    );
    // a record of the wrong length
    let mut t = b.clone();
    t.audit.as_mut().unwrap().record.boundaries.pop();
    assert!(matches!(
        verify_bundle(&t, &pins, &|| 0.0),
        Err(BundleError::Boundaries {
            found: 2,
            shards: 2
        })
    ));
}

/// A prover that lies at one boundary: caught when a shard next to it is
/// sampled (no proof against the record exists); when none is, the audit
/// verifies with the printed probability, and the lie stays open to
/// challenge. Re-rolling the lie after the randomness is known changes the
/// record's hash, which the verifier holds: the sample cannot be dodged.
#[test]
fn a_cheating_record_is_caught_by_the_sample_or_stays_exposed_and_cannot_be_re_rolled() {
    let h = honest();
    let honest_record = h.record();
    let mut lie = honest_record.clone();
    lie.boundaries[1] += Fr::from(7);
    // with two shards both touch boundary 1: whatever the randomness, the
    // sampled shard's proof does not start (end) at the lie (the CLI test
    // has three shards, where the lie can fall outside the sample)
    for seed in 0..24u32 {
        let randomness = format!("seed {seed}");
        let (b, s) = h.audit_of(lie.clone(), 1, &randomness);
        let pins = Pins {
            record_hash: Some(hex(&lie.hash())),
            randomness: Some(randomness),
            ..Pins::default()
        };
        let r = verify_with(&b, &pins);
        assert!(!r.verified, "{r:#?}");
        let side = if s == [0] { "output" } else { "input" };
        assert_eq!(
            r.error.unwrap().to_string(),
            format!(
                "shard {}: the {side} commitment differs from the audit record's",
                s[0]
            )
        );
    }

    // re-rolling: every other wrong value gives another record hash, so an
    // audit built on it fails the hash the verifier kept, whatever sample
    // it would draw
    let kept = hex(&lie.hash());
    let mut hashes = std::collections::HashSet::new();
    for x in 8..40u64 {
        let mut reroll = honest_record.clone();
        reroll.boundaries[1] += Fr::from(x);
        assert!(
            hashes.insert(reroll.hash()),
            "distinct records, distinct hashes"
        );
        let (b, _) = h.audit_of(reroll.clone(), 1, "given");
        let pins = Pins {
            record_hash: Some(kept.clone()),
            randomness: Some("given".into()),
            ..Pins::default()
        };
        let r = verify_with(&b, &pins);
        assert_eq!(
            r.error,
            Some(Failure::RecordPin {
                found: hex(&reroll.hash()),
                expected: kept.clone()
            })
        );
    }
    // the honest record under the same randomness verifies
    let s = draw_sample(&honest_record.hash(), b"given", 2, 1);
    let (b, chosen) = h.audit_with(1, "given");
    assert_eq!(chosen, s);
    let r = verify_with(
        &b,
        &Pins {
            record_hash: Some(hex(&honest_record.hash())),
            randomness: Some("given".into()),
            ..Pins::default()
        },
    );
    assert!(r.verified, "{r:#?}");
}

#[test]
fn hostile_audit_bytes_are_refused() {
    let h = honest();
    let (b, _) = h.audit(1);
    let bytes = b.to_bytes();
    assert_cuts_fail(&bytes, cut_lengths(&bytes));
    let secs = sections(&bytes);
    let n = secs.len();
    let (size, randomness, record) = (secs[n - 3], secs[n - 2], secs[n - 1]);
    assert_eq!(
        (size.name, randomness.name, record.name),
        ("audit record", "audit randomness", "audit record")
    );
    let patch = |at: usize, repl: &[u8]| {
        let mut t = bytes.clone();
        t[at..at + repl.len()].copy_from_slice(repl);
        Bundle::from_bytes(&t)
    };
    for (m, shards) in [(0u32, 2usize), (3, 2), (u32::MAX, 2)] {
        assert_eq!(
            patch(size.start, &m.to_le_bytes()),
            Err(BundleError::Sample { sample: m, shards })
        );
    }
    // an empty randomness
    let mut t = bytes[..randomness.start].to_vec();
    t.extend(0u32.to_le_bytes());
    t.extend(&bytes[record.start..]);
    assert_eq!(Bundle::from_bytes(&t), Err(BundleError::Randomness(0)));
    // the record: its magic, version, count, commitments
    let rec = record.start + 4;
    assert_eq!(
        patch(rec, b"NOTAREC!"),
        Err(BundleError::Record(CommitRecordError::BadMagic))
    );
    assert_eq!(
        patch(rec + 8, &9u32.to_le_bytes()),
        Err(BundleError::Record(CommitRecordError::Version {
            found: 9,
            supported: 2
        }))
    );
    assert_eq!(
        patch(rec + 76, &[7]),
        Err(BundleError::Record(CommitRecordError::BeaconKind(7)))
    );
    assert_eq!(
        patch(rec + 77, &0u32.to_le_bytes()),
        Err(BundleError::Record(CommitRecordError::Shards(0)))
    );
    for i in 0..3 {
        assert_eq!(
            patch(rec + 81 + 32 * i, &[0xff; 32]),
            Err(BundleError::Record(CommitRecordError::Commitment(i)))
        );
    }
    let mut modulus = (-Fr::ONE).to_repr();
    modulus[0] += 1;
    assert_eq!(
        patch(rec + 81 + 32, modulus.as_ref()),
        Err(BundleError::Record(CommitRecordError::Commitment(1)))
    );
    // an audit of format 2 (sampled by the prover's own commitments)
    let mut t = bytes.clone();
    t[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(Bundle::from_bytes(&t), Err(BundleError::OldAudit));
    // a chain of format 2 still reads
    let chain = h.bundle().to_bytes();
    let mut t = chain.clone();
    t[8..12].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(Bundle::from_bytes(&t).unwrap(), h.bundle());
    // an audit's bytes read as a chain: the audit section is trailing
    let mut t = bytes.clone();
    t[12] = 1;
    assert_eq!(
        Bundle::from_bytes(&t),
        Err(BundleError::Trailing(record.end - size.start))
    );

    // the record file on its own: round trip, and strict reading
    let r = h.record();
    let rb = r.to_bytes();
    assert_eq!(CommitRecord::from_bytes(&rb), Ok(r.clone()));
    assert_eq!(&rb[..8], b"ZKINFREC");
    assert_eq!(rb.len(), 8 + 4 + 32 + 32 + 1 + 4 + 3 * 32);
    for cut in 0..rb.len() {
        assert!(CommitRecord::from_bytes(&rb[..cut]).is_err(), "cut {cut}");
    }
    let mut long = rb.clone();
    long.push(0);
    assert_eq!(
        CommitRecord::from_bytes(&long),
        Err(CommitRecordError::Trailing(1))
    );
}

#[test]
fn samples_and_detection_probabilities() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(detection_probability(10, 3, 1), 0.3));
    assert_eq!(detection_probability(10, 3, 0), 0.0);
    assert!(close(detection_probability(10, 3, 2), 1.0 - 56.0 / 120.0));
    assert_eq!(detection_probability(3, 3, 1), 1.0);
    assert_eq!(detection_probability(10, 8, 3), 1.0);
    assert!(close(detection_probability(100, 1, 1), 0.01));
    // the sizes for 90 % and 99 % with one wrong shard: ceil(p n)
    assert_eq!(sample_size_for(10, 1, 0.9), 9);
    assert_eq!(sample_size_for(24, 1, 0.9), 22);
    assert_eq!(sample_size_for(24, 1, 0.99), 24);
    assert_eq!(sample_size_for(100, 1, 0.99), 99);
    assert_eq!(sample_size_for(2, 1, 0.5), 1);
    // with more wrong shards fewer suffice
    assert!(sample_size_for(100, 5, 0.9) < 50);

    // samples: distinct, sorted, of the asked size, fixed by the record
    // hash and the randomness, and moved by either
    let hash = [3u8; 32];
    for m in 1..=10u32 {
        let s = draw_sample(&hash, b"r", 10, m);
        assert_eq!(s.len(), m as usize);
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
        assert!(s.iter().all(|&i| i < 10));
        assert_eq!(s, draw_sample(&hash, b"r", 10, m), "deterministic");
    }
    assert_eq!(
        draw_sample(&hash, b"r", 10, 10),
        (0..10).collect::<Vec<u32>>()
    );
    assert_eq!(draw_sample(&hash, b"r", 10, 50).len(), 10);
    let by_hash: Vec<Vec<u32>> = (0..16u8)
        .map(|x| draw_sample(&[x; 32], b"r", 10, 3))
        .collect();
    assert!(by_hash.iter().any(|s| *s != by_hash[0]));
    let by_randomness: Vec<Vec<u32>> = (0..16u8).map(|x| draw_sample(&hash, &[x], 10, 3)).collect();
    assert!(by_randomness.iter().any(|s| *s != by_randomness[0]));
    // roughly uniform: over 2,000 draws of 1 of 4, each shard 350-650 times
    let mut counts = [0usize; 4];
    for x in 0..2000u32 {
        counts[draw_sample(&hash, &x.to_le_bytes(), 4, 1)[0] as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| (350..650).contains(&c)),
        "{counts:?}"
    );
}

/// quicknet round 657413 as drand published it.
const BEACON_ROUND: u64 = 657413;
const BEACON_SIG: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";

#[test]
fn a_record_naming_a_beacon_round_draws_its_sample_from_that_rounds_signature() {
    let h = honest();
    let mut record = h.record();
    record.beacon = Some(BeaconRound {
        chain: QUICKNET.chain_hash,
        round: BEACON_ROUND,
    });
    // the record's bytes name the round; they read back
    let rb = record.to_bytes();
    assert_eq!(rb.len(), 8 + 4 + 32 + 32 + 1 + 32 + 8 + 4 + 3 * 32);
    assert_eq!(CommitRecord::from_bytes(&rb), Ok(record.clone()));
    for cut in 0..rb.len() {
        assert!(CommitRecord::from_bytes(&rb[..cut]).is_err(), "cut {cut}");
    }
    let (b, chosen) = h.audit_of(record.clone(), 1, BEACON_SIG);
    // the verifier pins the record hash it kept (before the round), not the
    // randomness: the beacon's signature is checked instead
    let pins = Pins {
        randomness: None,
        record_hash: Some(hex(&record.hash())),
        ..all_pins(h, 1)
    };
    let r = verify_with(&Bundle::from_bytes(&b.to_bytes()).unwrap(), &pins);
    assert!(r.trusted(), "{r:#?}");
    let a = r.audit.as_ref().unwrap();
    assert_eq!(a.sample, chosen);
    let beacon = a.beacon.as_ref().unwrap();
    assert_eq!((beacon.chain, beacon.round), ("quicknet", BEACON_ROUND));
    assert_eq!(beacon.emitted, QUICKNET.genesis + (BEACON_ROUND - 1) * 3);
    assert!(
        r.verdict.contains(&format!(
            "randomness from drand quicknet round {BEACON_ROUND} (signature verified; emitted {}): it binds only a record published before then (record hash pinned, randomness pinned",
            utc(beacon.emitted)
        )),
        "{}",
        r.verdict
    );
    // without the record hash pinned: verified, not trusted
    let unpinned = verify(&b).unwrap();
    assert!(unpinned.verified && !unpinned.trusted());

    let error = |r: &Report| {
        assert!(!r.verified, "{r:#?}");
        r.error.as_ref().unwrap().to_string()
    };
    // a seed of the prover's choosing instead of the round's signature
    let (seeded, _) = h.audit_of(record.clone(), 1, RANDOMNESS);
    assert_eq!(
        error(&verify_with(&seeded, &pins)),
        format!("the audit's randomness: the record names quicknet round {BEACON_ROUND}: its randomness must be that round's signature in hex (96 hex digits)")
    );
    // a changed signature
    let mut forged = BEACON_SIG.to_string();
    forged.replace_range(40..41, if &forged[40..41] == "0" { "1" } else { "0" });
    let (f, _) = h.audit_of(record.clone(), 1, &forged);
    let e = error(&verify_with(&f, &pins));
    assert!(
        e == format!("the audit's randomness: the beacon signature is not quicknet's signature of round {BEACON_ROUND}")
            || e == "the audit's randomness: the beacon signature is not a point of BLS12-381's G1 subgroup",
        "{e}"
    );
    // the signature of another round than the record names
    let mut later = record.clone();
    later.beacon = Some(BeaconRound {
        chain: QUICKNET.chain_hash,
        round: BEACON_ROUND + 1,
    });
    let (l, _) = h.audit_of(later.clone(), 1, BEACON_SIG);
    let later_pins = Pins {
        record_hash: Some(hex(&later.hash())),
        ..pins.clone()
    };
    assert_eq!(
        error(&verify_with(&l, &later_pins)),
        format!(
            "the audit's randomness: the beacon signature is not quicknet's signature of round {}",
            BEACON_ROUND + 1
        )
    );
    // moving the round in the record after the fact changes its hash
    assert!(error(&verify_with(&l, &pins)).starts_with("the commitment record's hash is"));
    // an unknown chain
    let mut other = record.clone();
    other.beacon = Some(BeaconRound {
        chain: [7; 32],
        round: BEACON_ROUND,
    });
    let (o, _) = h.audit_of(other, 1, BEACON_SIG);
    assert!(error(&verify(&o).unwrap())
        .starts_with("the audit's randomness: unknown beacon chain 0707"));
}

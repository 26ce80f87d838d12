//! Verdicts say what they were checked against: a bundle verified only
//! against the keys it carries is "UNPINNED" (and `--require-pinned` makes
//! that an error); pins and rebuilt keys (`--recompute-keys --srs`) make it
//! "pinned"; a bundle whose keys are another plan's, claiming this model's
//! hash, verifies unpinned but is rejected by pinned or rebuilt keys. And
//! `zkinf verify` checks every field of `claim.json`.

mod common;

use common::proven::{fails_once_with, stdout, Proven};
use common::{ok, s};
use zkinf_circuits::shard::{model_id, partition_into, ShardCircuit};
use zkinf_circuits::{execute, CheckedPlan, Op, Plan};
use zkinf_prover::{keygen, prove_shard, Folder};
use zkinf_verifier::{
    hex, keys_digest, verify_bundle, Bundle, BundleShard, Pins, SrsByK, SrsVerifierPart,
};

fn last_line(o: &std::process::Output) -> String {
    stdout(o).lines().last().unwrap_or_default().to_string()
}

/// The development SRS the proven folder's keys were made with (halo2's
/// raw format, as a ceremony file would be).
fn dev_srs(p: &Proven) -> std::path::PathBuf {
    let dir = p.cache.join("srs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop().expect("a cached development SRS")
}

/// A bundle claiming the proven model's hash whose keys and proofs are of
/// another plan (one weight changed): a prover who runs another model and
/// ships keys of its own making.
fn forged_bundle(p: &Proven) -> Vec<u8> {
    let folder = Folder::new(&p.dir);
    let honest = folder.load_plan().unwrap();
    let mut other: Plan = (*honest).clone();
    let w = other
        .nodes
        .iter_mut()
        .find_map(|n| match &mut n.op {
            Op::Const { values } if values.len() > 100 => Some(values),
            _ => None,
        })
        .unwrap();
    w[0] = if w[0] > 0 { w[0] - 1 } else { w[0] + 1 };
    let other = CheckedPlan::new(other).unwrap();
    assert_ne!(other.hash_hex(), honest.hash_hex());
    let q = zkinf_prover::quantized_inputs(&other, &common::proven::model_input()).unwrap();
    let trace = execute(&other, q.clone()).unwrap();
    let cut = partition_into(&other, 18, 2).unwrap();
    let srs = zkinf_prover::srs::read(&dev_srs(p)).unwrap();
    let by_k = SrsByK::from_full(&srs, cut.iter().map(|s| s.k));
    let mut shards = Vec::new();
    for (i, sh) in cut.iter().enumerate() {
        let c = ShardCircuit::for_shard(&other, sh.spec(), i as u32, Some(&trace))
            .unwrap()
            .claiming_model(model_id(&honest));
        let params = by_k.get(sh.k).unwrap();
        let pk = keygen(params, &c).unwrap();
        let vk = zkinf_verifier::write_verifying_key(pk.get_vk(), c.params());
        let proof = prove_shard(params, &pk, c, i as u32).unwrap();
        shards.push(BundleShard {
            nodes: sh.spec(),
            vk,
            proof: Some(proof.to_bytes()),
        });
    }
    let bundle = Bundle {
        plan: honest.to_bytes(),
        srs: SrsVerifierPart::of(&srs),
        input: q[0].iter().copied().collect(),
        output: trace.get(other.outputs[0].tensor).iter().copied().collect(),
        shards,
        audit: None,
    };
    // the proofs verify against the keys the bundle carries
    let r = verify_bundle(&bundle, &Pins::default(), &|| 0.0).unwrap();
    assert!(r.verified, "{r:#?}");
    assert!(!r.trust.pinned);
    assert_ne!(hex(&keys_digest(&bundle)), p.keys_digest());
    bundle.to_bytes()
}

#[test]
fn verdicts_say_what_they_were_checked_against() {
    let p = Proven::new();
    let b = s(&p.bundle);
    let (model, keys) = (p.model_hash(), p.keys_digest());

    // unpinned: verified, and says so loudly; --require-pinned refuses it
    let o = ok(&p.run(&["verify-bundle", &b]));
    assert!(
        o.lines().last().unwrap().starts_with("verified, UNPINNED"),
        "{o}"
    );
    assert!(o.contains("NOT PINNED"), "{o}");
    let o = p.run(&["verify-bundle", &b, "--require-pinned"]);
    fails_once_with(&o, "the verdict is not pinned");
    assert!(last_line(&o).starts_with("verified, UNPINNED"));
    // the JSON report carries the same
    let r = common::proven::json(&p.run(&["verify-bundle", &b, "--json"]));
    assert_eq!(r["trust"]["pinned"], false);
    assert_eq!(r["trust"]["model"], "unpinned");
    assert_eq!(r["trust"]["keys"], "unpinned");
    assert_eq!(r["trust"]["input"], "claimed");

    // only the model pinned: still not pinned (the keys are the bundle's own)
    let o = p.run(&["verify-bundle", &b, "--model", &model, "--require-pinned"]);
    fails_once_with(&o, "the verdict is not pinned");
    assert!(
        last_line(&o).contains("keys NOT PINNED"),
        "{}",
        last_line(&o)
    );

    // pinned: both published values
    let o = ok(&p.run(&[
        "verify-bundle",
        &b,
        "--model",
        &model,
        "--keys",
        &keys,
        "--require-pinned",
    ]));
    let last = o.lines().last().unwrap();
    assert!(last.starts_with("verified (pinned)"), "{last}");
    assert!(last.contains("model hash and keys digest pinned"), "{last}");

    // the model pinned and every key rebuilt from the plan and the SRS
    let srs = dev_srs(&p);
    let o = ok(&p.run(&[
        "verify-bundle",
        &b,
        "--model",
        &model,
        "--recompute-keys",
        "--srs",
        &s(&srs),
        "--require-pinned",
    ]));
    let last = o.lines().last().unwrap();
    assert!(last.starts_with("verified (pinned)"), "{last}");
    assert!(last.contains("every verifying key rebuilt"), "{last}");
    // rebuilding needs an SRS the verifier trusts (a usage error)
    let o = p.run(&["verify-bundle", &b, "--recompute-keys"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--srs <SRS>"));

    // `zkinf verify` on the folder: the same verdicts
    let d = s(&p.dir);
    let o = ok(&p.run(&["verify", &d]));
    assert!(
        o.lines().last().unwrap().starts_with("verified, UNPINNED"),
        "{o}"
    );
    assert!(o.contains("input checked against the claim"), "{o}");
    let input = s(&common::proven::model_input());
    let o = ok(&p.run(&[
        "verify", &d, "--input", &input, "--model", &model, "--keys", &keys,
    ]));
    let last = o.lines().last().unwrap();
    assert!(last.starts_with("verified (pinned)"), "{last}");
    assert!(
        last.contains("input checked against the one given"),
        "{last}"
    );

    // keys of another plan claiming this model's hash: verified unpinned
    // (all the bundle's own parts agree), rejected once anything is pinned
    // or rebuilt
    let forged = p.write("forged.zkinf", &forged_bundle(&p));
    let f = s(&forged);
    let o = ok(&p.run(&["verify-bundle", &f]));
    assert!(
        o.lines().last().unwrap().starts_with("verified, UNPINNED"),
        "{o}"
    );
    fails_once_with(
        &p.run(&["verify-bundle", &f, "--model", &model, "--require-pinned"]),
        "the verdict is not pinned",
    );
    fails_once_with(
        &p.run(&["verify-bundle", &f, "--model", &model, "--keys", &keys]),
        &format!("not the expected {keys}"),
    );
    let o = p.run(&[
        "verify-bundle",
        &f,
        "--model",
        &model,
        "--recompute-keys",
        "--srs",
        &s(&srs),
    ]);
    fails_once_with(
        &o,
        "shard 0: the bundle's verifying key is not the one its model gives",
    );
    assert!(
        last_line(&o).starts_with("NOT verified"),
        "{}",
        last_line(&o)
    );
}

/// A flipped byte inside a verifying key, where verification does not read
/// it (the held-out finding: such a bundle verified, unpinned, with
/// nothing noticing but its keys digest): every flip either fails
/// verification, or is caught by the keys pin and by rebuilding the keys.
#[test]
fn a_flipped_verifying_key_byte_is_caught_by_pins_or_rebuilt_keys() {
    let p = Proven::new();
    let honest = Bundle::from_bytes(&std::fs::read(&p.bundle).unwrap()).unwrap();
    let srs = zkinf_prover::srs::read(&dev_srs(&p)).unwrap();
    assert_eq!(
        zkinf_prover::rebuild_keys(&honest, &srs, None).unwrap(),
        None
    );
    let pins = Pins {
        model_hash: Some(p.model_hash()),
        keys_digest: Some(p.keys_digest()),
        ..Pins::default()
    };
    let vk = &honest.shards[1].vk;
    // bytes inside runs of zeros, past the key file's header
    let zeros: Vec<usize> = (24..vk.len() - 1)
        .filter(|&i| vk[i] == 0 && vk[i - 1] == 0 && vk[i + 1] == 0)
        .collect();
    assert!(zeros.len() > 16, "{} zero bytes", zeros.len());
    let (mut verified_unpinned, mut tried) = (0, 0);
    for &at in zeros.iter().step_by((zeros.len() / 12).max(1)) {
        let mut t = honest.clone();
        t.shards[1].vk[at] ^= 0x01;
        tried += 1;
        let r = verify_bundle(&t, &Pins::default(), &|| 0.0).unwrap();
        if !r.verified {
            continue;
        }
        verified_unpinned += 1;
        assert!(!r.trust.pinned);
        let pinned = verify_bundle(&t, &pins, &|| 0.0).unwrap();
        assert!(!pinned.verified, "byte {at}: the keys pin must catch it");
        assert_eq!(
            zkinf_prover::rebuild_keys(&t, &srs, None).unwrap(),
            Some(zkinf_verifier::Failure::RebuiltKey { shard: 1 }),
            "byte {at}"
        );
    }
    eprintln!("{tried} flips in zero runs of a verifying key: {verified_unpinned} still verified unpinned, all caught by the keys pin and by rebuilt keys");
}

/// Rewrites `claim.json` of a copy of the proven folder with `edit`, and
/// returns `zkinf verify`'s outcome on it.
fn verify_with_claim(
    p: &Proven,
    name: &str,
    edit: impl Fn(&mut serde_json::Value),
) -> std::process::Output {
    let dir = p.copy_without(name, &[]);
    let path = dir.join("proofs/claim.json");
    let mut claim: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut claim);
    std::fs::write(&path, serde_json::to_vec_pretty(&claim).unwrap()).unwrap();
    p.run(&["verify", &s(&dir)])
}

#[test]
fn every_field_of_the_claim_is_checked() {
    let p = Proven::new();
    let ok_claim = verify_with_claim(&p, "same", |_| {});
    ok(&ok_claim);
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "an input value edited (in range)",
            Box::new(|c| {
                let v = c["input_q"][40].as_i64().unwrap();
                c["input_q"][40] = (if v > 0 { v - 1 } else { v + 1 }).into();
            }),
            "shard 0: the input commitment does not match the claimed input",
        ),
        (
            "an output value edited",
            Box::new(|c| {
                let v = c["output_q"][2].as_i64().unwrap();
                c["output_q"][2] = (if v > 0 { v - 1 } else { v + 1 }).into();
            }),
            "shard 1: the output commitment does not match the claimed output",
        ),
        (
            "an input value out of the int8 range",
            Box::new(|c| c["input_q"][3] = (-528).into()),
            "claimed input: value -528 at 3 is outside the model's range [-128, 127]",
        ),
        (
            "an input value missing",
            Box::new(|c| {
                c["input_q"].as_array_mut().unwrap().pop();
            }),
            "claimed input: 63 values for shape [1, 64] (64)",
        ),
        (
            "a wrong shard count",
            Box::new(|c| c["shards"] = 3.into()),
            "claims 3 shard(s), but the folder's plan has 2",
        ),
        (
            "a missing field",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("output");
            }),
            "missing field `output`",
        ),
        (
            "a renamed field",
            Box::new(|c| {
                let v = c.as_object_mut().unwrap().remove("input_q").unwrap();
                c["input_qq"] = v;
            }),
            "unknown field `input_qq`",
        ),
        (
            "another input name",
            Box::new(|c| c["input"] = "z".into()),
            "names the input 'z', but the model's input is 'x'",
        ),
        (
            "another model",
            Box::new(|c| c["model_hash"] = "ab".repeat(32).into()),
            "claims model abab",
        ),
        (
            "no format version",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("format");
            }),
            "written by an older zkinf",
        ),
        (
            "a newer format version",
            Box::new(|c| c["format"] = 9.into()),
            "claim format version 9 is not supported",
        ),
    ];
    for (i, (what, edit, message)) in cases.iter().enumerate() {
        let o = verify_with_claim(&p, &format!("case-{i}"), edit);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stdout(&o));
        fails_once_with(&o, message);
    }
}

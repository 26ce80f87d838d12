//! Bundles with the CLI and real proofs: `export-web` writes a chain or an
//! audit bundle of a proven folder, `verify-bundle` checks it (and rejects
//! a tampered copy, a wrong pin, a non-bundle or a cut file with one
//! `error:` line, never a panic). `serve-web`: `serve_web.rs`.

mod common;

use common::proven::*;
use common::{ok, s};
use std::path::Path;

#[test]
fn export_web_writes_a_chain_bundle_that_verify_bundle_checks() {
    let p = Proven::new();
    let model = p.model_hash();
    let keys = p.keys_digest();
    let e = &p.export_out;
    assert!(e.contains("chain bundle of 2 shard(s)"), "{e}");
    assert!(e.contains(&format!("model hash:  {model}")), "{e}");
    assert!(e.contains(&format!("keys digest: {keys}")), "{e}");
    assert_eq!(keys.len(), 64);
    let bytes = std::fs::read(&p.bundle).unwrap();
    assert!(e.contains(&format!("({} bytes)", bytes.len())), "{e}");
    assert_eq!(&bytes[..8], b"ZKINFBND");
    assert_eq!(bytes[12], 1, "a chain bundle");
    assert_eq!(files_in(p.bundle.parent().unwrap()), vec!["mlp.zkinf"]);

    // what the executor predicts
    let pred = p.tmp.join("pred.json");
    ok(&p.run(&[
        "infer",
        &s(&p.dir),
        "--input",
        &s(&model_input()),
        "--output",
        &s(&pred),
    ]));
    let y: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pred).unwrap()).unwrap();
    let class = zkinf_circuits::argmax(&flat(&y["y"])).unwrap();

    // the bundle verifies
    let b = s(&p.bundle);
    let v = ok(&p.run(&["verify-bundle", &b]));
    for i in 0..2 {
        assert!(v.contains(&format!("shard {i}: verified (k = ")), "{v}");
    }
    assert!(v.contains(&format!("model hash:  {model}")), "{v}");
    assert!(v.contains(&format!("keys digest: {keys}")), "{v}");
    assert!(v.contains(&format!("(argmax {class})")), "{v}");
    assert!(
        v.contains("verified, UNPINNED: the linked chain of 2 shard(s)"),
        "{v}"
    );
    assert!(
        !v.contains("REJECTED") && !v.contains("NOT verified"),
        "{v}"
    );

    // as JSON
    let r = json(&p.run(&["verify-bundle", &b, "--json"]));
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["kind"], "chain");
    assert_eq!(r["error"], serde_json::Value::Null);
    assert_eq!(r["model_hash"], model.as_str());
    assert_eq!(r["keys_digest"], keys.as_str());
    let shards = r["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    for (i, sh) in shards.iter().enumerate() {
        assert_eq!(sh["index"], i);
        assert_eq!(sh["status"], "verified");
        assert!(sh["proof_bytes"].as_u64().unwrap() > 400);
    }
    assert_eq!(r["output"]["argmax"], class);
    assert_eq!(r["output"]["name"], "y");
    assert_eq!(r["audit"], serde_json::Value::Null);

    // pins: the right ones (any case) verify, wrong ones name the expected value
    ok(&p.run(&["verify-bundle", &b, "--model", &model, "--keys", &keys]));
    ok(&p.run(&["verify-bundle", &b, "--model", &model.to_uppercase()]));
    let wrong = "0123456789abcdef".repeat(4);
    let o = p.run(&["verify-bundle", &b, "--model", &wrong]);
    fails_once_with(&o, &format!("not of the expected model {wrong}"));
    fails_once_with(&o, &format!("the bundle is of model {model}"));
    assert!(stdout(&o).contains("NOT verified"), "{}", stdout(&o));
    fails_once_with(
        &p.run(&["verify-bundle", &b, "--keys", &wrong]),
        &format!("keys digest is {keys}, not the expected {wrong}"),
    );
    fails_once_with(
        &p.run(&["verify-bundle", &b, "--model", &model[..16]]),
        "not of the expected model",
    );
    let r = json(&p.run(&["verify-bundle", &b, "--model", &wrong, "--json"]));
    assert_eq!(r["verified"], false);
    assert!(r["error"].as_str().unwrap().contains(&wrong));

    // a flipped byte in shard 1's proof, then in shard 0's
    for shard in [1usize, 0] {
        let t = p.write(&format!("tampered-{shard}.zkinf"), &tampered(&bytes, shard));
        let o = p.run(&["verify-bundle", &s(&t)]);
        fails_once_with(
            &o,
            &format!(
                "shard {shard}: the proof does not verify against its verifying key and public values"
            ),
        );
        let out = stdout(&o);
        let other = 1 - shard;
        assert!(
            out.contains(&format!("shard {shard}: REJECTED"))
                && out.contains(&format!("shard {other}: verified")),
            "{out}"
        );
        let r = json(&p.run(&["verify-bundle", &s(&t), "--json"]));
        assert_eq!(r["verified"], false);
        assert_eq!(r["shards"][shard]["status"], "rejected");
        assert_eq!(r["shards"][other]["status"], "verified");
    }

    // not a bundle, a missing file
    fails_once_with(
        &p.run(&["verify-bundle", &s(&p.dir.join("plan.bin"))]),
        "not a zkinf bundle (bad magic bytes)",
    );
    let missing = p.tmp.join("missing.zkinf");
    fails_once_with(&p.run(&["verify-bundle", &s(&missing)]), &s(&missing));
    fails_once_with(&p.run(&["verify-bundle", &s(&p.dir)]), &s(&p.dir));

    // cut short anywhere: an error naming the file, never a panic
    let (proof1, _) = proof_at(&bytes, 1);
    for len in [
        0usize,
        5,
        12,
        13,
        100,
        400,
        proof1,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let t = p.write(&format!("cut-{len}.zkinf"), &bytes[..len]);
        let why = if len < 8 {
            "not a zkinf bundle"
        } else {
            "the bundle is truncated"
        };
        let o = p.run(&["verify-bundle", &s(&t)]);
        fails_once_with(&o, why);
        fails_once_with(&o, &s(&t));
    }
    // a trailing byte, another format version
    let t = p.write("long.zkinf", &[bytes.as_slice(), &[0]].concat());
    fails_once_with(
        &p.run(&["verify-bundle", &s(&t)]),
        "1 trailing bytes after the bundle",
    );
    let mut v7 = bytes.clone();
    v7[8..12].copy_from_slice(&7u32.to_le_bytes());
    let t = p.write("v7.zkinf", &v7);
    fails_once_with(
        &p.run(&["verify-bundle", &s(&t)]),
        "bundle format version 7 is not supported",
    );

    // export-web with the input given again writes the same bundle
    let again = p.tmp.join("again.zkinf");
    ok(&p.run(&[
        "export-web",
        &s(&p.dir),
        "--out",
        &s(&again),
        "--input",
        &s(&model_input()),
    ]));
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
}

#[test]
fn audit_bundles_and_export_errors() {
    let p = Proven::new();
    let out = p.tmp.join("audit");
    std::fs::create_dir_all(&out).unwrap();

    // the hybrid flow on the proven folder: the prover commits, the
    // verifier keeps the record hash and gives its randomness, the bundle
    // holds the sampled shard's proof
    let rec = out.join("run.rec");
    let c = ok(&p.run(&[
        "commit",
        &s(&p.dir),
        "--input",
        &s(&model_input()),
        "--out",
        &s(&rec),
    ]));
    assert!(
        c.contains("the commitments at the 3 boundaries of 2 shard(s); nothing proven yet"),
        "{c}"
    );
    let record_hash = c
        .lines()
        .find_map(|l| l.strip_prefix("record hash: "))
        .map(|l| l[..64].to_string())
        .unwrap();
    let smp = out.join("s1.json");
    let sm = ok(&p.run(&[
        "sample",
        &s(&rec),
        "--seed",
        "verifier-1",
        "--size",
        "1",
        "--out",
        &s(&smp),
    ]));
    assert!(sm.contains("(1 of 2), drawn from record"), "{sm}");
    assert!(
        sm.contains(
            "caught with probability 0.500; 2 sampled shards catch it with 0.9, 2 with 0.99"
        ),
        "{sm}"
    );
    let a = out.join("a.zkinf");
    let e = ok(&p.run(&[
        "export-web",
        &s(&p.dir),
        "--out",
        &s(&a),
        "--record",
        &s(&rec),
        "--sample",
        &s(&smp),
    ]));
    assert!(e.contains("audit bundle of 2 shard(s)"), "{e}");
    assert!(
        e.contains(&format!("drawn from record {record_hash} and randomness \"verifier-1\"; one wrong shard is caught with probability 0.500")),
        "{e}"
    );
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes[12], 2, "an audit bundle");
    let v = ok(&p.run(&["verify-bundle", &s(&a)]));
    assert_eq!(
        v.matches("not sampled (open to challenge)").count(),
        1,
        "{v}"
    );
    assert_eq!(v.matches(": verified (k = ").count(), 1, "{v}");
    assert!(
        v.contains("verified, UNPINNED: the audited sample of 1 of 2 shard(s) (an audit, not a proof of every shard: one wrong shard is caught with probability 0.500; 2 and 2 sampled shards catch it with 0.9 and 0.99; sample ["),
        "{v}"
    );
    assert!(
        v.contains("record hash NOT PINNED, randomness NOT PINNED"),
        "{v}"
    );
    // pinned by the auditor: published model and keys, the record hash it
    // kept, the randomness it gave, its floor
    let (model, keys) = (p.model_hash(), p.keys_digest());
    let pinned = |extra: &[&str]| {
        let mut args = vec![
            "verify-bundle".to_string(),
            s(&a),
            "--model".into(),
            model.clone(),
            "--keys".into(),
            keys.clone(),
            "--require-pinned".into(),
        ];
        args.extend(extra.iter().map(|x| x.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        p.run(&args)
    };
    fails_once_with(
        &pinned(&[]),
        "the verdict is not pinned (model hash pinned, keys pinned, record hash unpinned, randomness unpinned)",
    );
    let v = ok(&pinned(&[
        "--record-hash",
        &record_hash,
        "--randomness",
        "verifier-1",
        "--min-sample",
        "1",
    ]));
    assert!(
        v.contains("verified (pinned): the audited sample of 1 of 2"),
        "{v}"
    );
    assert!(
        v.contains("record hash pinned, randomness pinned, floor 1)"),
        "{v}"
    );
    // the same audit from the folder, against the verifier's own files
    let v = ok(&p.run(&[
        "verify",
        &s(&p.dir),
        "--record",
        &s(&rec),
        "--sample",
        &s(&smp),
        "--model",
        &model,
        "--keys",
        &keys,
        "--require-pinned",
    ]));
    assert!(
        v.contains("verified (pinned): the audited sample of 1 of 2"),
        "{v}"
    );
    // randomness other than the one given, a record hash the verifier did
    // not keep (commitments changed after the randomness), a floor of 2
    fails_once_with(
        &pinned(&["--record-hash", &record_hash, "--randomness", "verifier-2"]),
        "the audit's randomness is \"verifier-1\", not the \"verifier-2\" the verifier gave",
    );
    let other_hash = format!(
        "{}{}",
        if record_hash.starts_with('0') {
            "1"
        } else {
            "0"
        },
        &record_hash[1..]
    );
    fails_once_with(
        &pinned(&["--record-hash", &other_hash, "--randomness", "verifier-1"]),
        &format!(
            "the commitment record's hash is {record_hash}, not the {other_hash} the verifier kept"
        ),
    );
    fails_once_with(
        &pinned(&[
            "--record-hash",
            &record_hash,
            "--randomness",
            "verifier-1",
            "--min-sample",
            "2",
        ]),
        "the audit proves a sample of 1 shard(s), below the verifier's floor of 2",
    );
    let r = json(&p.run(&["verify-bundle", &s(&a), "--json"]));
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["kind"], "audit");
    assert_eq!(r["audit"]["record_hash"], record_hash.as_str());
    assert_eq!(r["audit"]["randomness"], "verifier-1");
    let sample = r["audit"]["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 1);
    let sampled = sample[0].as_u64().unwrap() as usize;
    // the end the sample left out is bound only by the audit record
    let (input, output) = if sampled == 0 {
        ("claimed", "recorded")
    } else {
        ("recorded", "claimed")
    };
    assert_eq!(r["trust"]["input"], input, "{r}");
    assert_eq!(r["trust"]["output"], output, "{r}");
    assert!(v.contains("only equal to the audit record's"), "{v}");
    assert_eq!(r["shards"][sampled]["status"], "verified");
    assert_eq!(r["shards"][1 - sampled]["status"], "not_sampled");
    assert_eq!(r["shards"][1 - sampled]["proof_bytes"], 0);
    assert_eq!(r["audit"]["detection_one"], 0.5);
    assert!(
        e.contains(&format!("audit: shards [{sampled}] proven of 2")),
        "{e}"
    );
    // the same keys and model as the chain bundle
    assert_eq!(r["model_hash"], p.model_hash().as_str());
    assert_eq!(r["keys_digest"], p.keys_digest().as_str());
    // the sampled proof tampered with
    let t = p.write("audit-tampered.zkinf", &tampered(&bytes, sampled));
    fails_once_with(
        &p.run(&["verify-bundle", &s(&t)]),
        &format!("shard {sampled}: the proof does not verify"),
    );

    // both shards proven
    let smp2 = out.join("s2.json");
    ok(&p.run(&[
        "sample",
        &s(&rec),
        "--seed",
        "v",
        "--size",
        "2",
        "--out",
        &s(&smp2),
    ]));
    let all = out.join("all.zkinf");
    ok(&p.run(&[
        "export-web",
        &s(&p.dir),
        "--out",
        &s(&all),
        "--record",
        &s(&rec),
        "--sample",
        &s(&smp2),
    ]));
    let v = ok(&p.run(&["verify-bundle", &s(&all)]));
    assert_eq!(v.matches(": verified (k = ").count(), 2, "{v}");
    assert!(!v.contains("not sampled"), "{v}");

    // sample files: a size out of range, shards edited, another record
    for m in ["3", "0"] {
        fails_once_with(
            &p.run(&[
                "sample",
                &s(&rec),
                "--seed",
                "v",
                "--size",
                m,
                "--out",
                &s(&out.join("x.json")),
            ]),
            &format!("a sample of {m}: this model has 2 shard(s); sample between 1 and 2"),
        );
    }
    assert!(!out.join("x.json").exists());
    let mut edited: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&smp).unwrap()).unwrap();
    edited["shards"] = serde_json::json!([1 - sampled]);
    let edited_path = p.write("edited.json", edited.to_string().as_bytes());
    fails_once_with(
        &p.run(&[
            "export-web",
            &s(&p.dir),
            "--out",
            &s(&out.join("e.zkinf")),
            "--record",
            &s(&rec),
            "--sample",
            &s(&edited_path),
        ]),
        &format!(
            "lists shards [{}], but its record and randomness draw [{sampled}]",
            1 - sampled
        ),
    );
    let mut rec_bytes = std::fs::read(&rec).unwrap();
    rec_bytes[90] ^= 1;
    let other_rec = p.write("other.rec", &rec_bytes);
    fails_once_with(
        &p.run(&[
            "export-web",
            &s(&p.dir),
            "--out",
            &s(&out.join("e.zkinf")),
            "--record",
            &s(&other_rec),
            "--sample",
            &s(&smp),
        ]),
        &format!("is for record {record_hash}, not for this record"),
    );
    fails_once_with(
        &p.run(&["sample", &s(&p.bundle), "--seed", "v", "--size", "1"]),
        "not a zkinf commitment record (bad magic bytes)",
    );

    // the SRS file is not needed: setup recorded its verifier part
    std::fs::remove_dir_all(p.cache.join("srs")).unwrap();
    let again = out.join("again.zkinf");
    ok(&p.run(&["export-web", &s(&p.dir), "--out", &s(&again)]));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&p.bundle).unwrap()
    );
    assert!(!p.cache.join("srs").exists(), "no SRS generated");
    let setup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.dir.join("keys/setup.json")).unwrap())
            .unwrap();
    assert_eq!(setup["keys_digest"], p.keys_digest().as_str());
    assert_eq!(setup["model_hash"], p.model_hash().as_str());

    // errors write no file
    let no = p.tmp.join("none");
    std::fs::create_dir_all(&no).unwrap();
    let target = no.join("b.zkinf");
    let export = |dir: &Path, extra: &[&str]| {
        let mut args = vec!["export-web", dir.to_str().unwrap(), "--out"];
        let t = s(&target);
        args.push(&t);
        args.extend(extra);
        let o = p.run(&args);
        assert!(files_in(&no).is_empty(), "{:?}", files_in(&no));
        o
    };
    // compiled and set up, not proven
    let unproven = p.copy_without("unproven", &["proofs"]);
    fails_once_with(
        &export(&unproven, &[]),
        &format!(
            "{} has no proofs; run `zkinf prove {}` first",
            unproven.display(),
            unproven.display()
        ),
    );
    // compiled only
    let bare = p.copy_without("bare", &["proofs", "keys"]);
    fails_once_with(
        &export(&bare, &[]),
        &format!("{} has no keys; run `zkinf setup", bare.display()),
    );
    // one shard's proof missing
    let half = p.copy_without("half", &["proofs/shard-1.proof"]);
    fails_once_with(&export(&half, &[]), "shard 1 has no proof");
    // a tampered proof in the folder
    let bad = p.copy_without("bad", &[]);
    let pf = bad.join("proofs/shard-1.proof");
    let mut proof = std::fs::read(&pf).unwrap();
    let at = proof.len() - 300;
    proof[at] ^= 0x10;
    std::fs::write(&pf, &proof).unwrap();
    fails_once_with(
        &export(&bad, &[]),
        "do not verify, no bundle written: shard 1: the proof does not verify",
    );
    // proofs of another input than the one given
    let other = p.tmp.join("other.json");
    let mut x: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model_input()).unwrap()).unwrap();
    x["x"][0][20] = serde_json::json!(0.875);
    x["x"][0][36] = serde_json::json!(0.0625);
    std::fs::write(&other, x.to_string()).unwrap();
    fails_once_with(
        &export(&p.dir, &["--input", &s(&other)]),
        "the input given differs from the claimed one at index 20",
    );
    // not a compiled folder
    fails_once_with(&export(&p.tmp.join("nothing"), &[]), "nothing");
}

/// Hostile bundles that once panicked the verifier crate (a key claiming a
/// huge circuit, G2 bytes that are no field element): `verify-bundle`
/// answers with one `error:` line or a rejection, never a panic.
#[test]
fn verify_bundle_does_not_panic_on_hostile_keys_or_srs() {
    let p = Proven::new();
    let bytes = std::fs::read(&p.bundle).unwrap();
    // shard 0's verifying key claims 2^40 rows (halo2's k: bytes 21..25 of the key file)
    let plan_len = u32_at(&bytes, 13);
    let srs = 13 + 4 + plan_len;
    let mut at = srs + 160;
    for _ in 0..2 {
        at += 4 + 8 * u32_at(&bytes, at);
    }
    let vk0 = at + 4 + 4;
    let mut k40 = bytes.clone();
    k40[vk0 + 21..vk0 + 25].copy_from_slice(&40u32.to_le_bytes());
    let t = p.write("k40.zkinf", &k40);
    fails_once_with(&p.run(&["verify-bundle", &s(&t)]), "shard 0");
    // s·G2 bytes that are no field element
    let mut g2 = bytes.clone();
    g2[srs + 96..srs + 160].copy_from_slice(&[0xff; 64]);
    let t = p.write("g2.zkinf", &g2);
    fails_once_with(&p.run(&["verify-bundle", &s(&t)]), "SRS verifier part");
}

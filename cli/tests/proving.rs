//! `zkinf setup`, `prove` and `verify` end to end on the int8 digits MLP,
//! and the rejections: another input, a changed claimed output, a flipped
//! proof byte, a truncated or missing proof, a foreign proof version, a
//! shard that does not exist.

mod common;

use common::{fails_with, ok, root, zkinf};
use std::path::Path;

#[test]
fn setup_prove_verify_and_rejections() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = tmp.path().join("mlp");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let model = root().join("models/digits/mlp_int8_qdq.onnx");
    let input = root().join("models/digits/mlp_int8_qdq.input.json");
    ok(&zkinf(
        &cache,
        &["compile", &s(&model), "--out", &s(&dir), "--quiet"],
    ));
    fails_with(&zkinf(&cache, &["setup", &s(&dir)]), "--dev-srs");
    fails_with(
        &zkinf(&cache, &["prove", &s(&dir), "--input", &s(&input)]),
        "run `zkinf setup",
    );
    let first = zkinf(&cache, &["setup", &s(&dir), "--dev-srs"]);
    ok(&first);
    assert!(String::from_utf8_lossy(&first.stderr).contains("NOT for production"));
    assert!(
        ok(&zkinf(&cache, &["setup", &s(&dir), "--dev-srs"])).contains("cached"),
        "keys are reused"
    );
    ok(&zkinf(
        &cache,
        &["prove", &s(&dir), "--input", &s(&input), "--shard", "0"],
    ));
    fails_with(
        &zkinf(
            &cache,
            &["prove", &s(&dir), "--input", &s(&input), "--shard", "3"],
        ),
        "shard 3 does not exist",
    );
    let v = ok(&zkinf(&cache, &["verify", &s(&dir), "--input", &s(&input)]));
    assert!(
        v.contains("shard 0: verified") && v.contains("input checked against the one given"),
        "{v}"
    );

    // another digit as the claimed input
    let other = tmp.path().join("other.json");
    let mut x: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&input).unwrap()).unwrap();
    x["x"][0][20] = serde_json::json!(0.875);
    x["x"][0][21] = serde_json::json!(0.0625);
    std::fs::write(&other, x.to_string()).unwrap();
    fails_with(
        &zkinf(&cache, &["verify", &s(&dir), "--input", &s(&other)]),
        "the input given differs from the claimed one at index 20",
    );

    // a different claimed output
    let claim: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("proofs/claim.json")).unwrap())
            .unwrap();
    let out = tmp.path().join("out.json");
    let pred = tmp.path().join("pred.json");
    ok(&zkinf(
        &cache,
        &[
            "infer",
            &s(&dir),
            "--input",
            &s(&input),
            "--output",
            &s(&pred),
        ],
    ));
    ok(&zkinf(&cache, &["verify", &s(&dir), "--output", &s(&pred)]));
    let mut y: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pred).unwrap()).unwrap();
    let first_logit = y["y"][0][0].as_f64().unwrap();
    y["y"][0][0] = serde_json::json!(first_logit + 1.0);
    std::fs::write(&out, y.to_string()).unwrap();
    fails_with(
        &zkinf(&cache, &["verify", &s(&dir), "--output", &s(&out)]),
        "the output given differs from the claimed one at index 0",
    );
    assert!(claim["output_q"].is_array());

    // a flipped proof byte, a foreign version, a truncated and a missing proof
    let proof = dir.join("proofs/shard-0.proof");
    let bytes = std::fs::read(&proof).unwrap();
    let mut flipped = bytes.clone();
    let mid = bytes.len() - 500;
    flipped[mid] ^= 1;
    std::fs::write(&proof, &flipped).unwrap();
    fails_with(&zkinf(&cache, &["verify", &s(&dir)]), "does not verify");
    let mut foreign = bytes.clone();
    foreign[8] = 2;
    std::fs::write(&proof, &foreign).unwrap();
    fails_with(
        &zkinf(&cache, &["verify", &s(&dir)]),
        "proof format version 2 is not supported",
    );
    std::fs::write(&proof, &bytes[..bytes.len() / 2]).unwrap();
    fails_with(&zkinf(&cache, &["verify", &s(&dir)]), "truncated");
    std::fs::remove_file(&proof).unwrap();
    fails_with(
        &zkinf(&cache, &["verify", &s(&dir)]),
        "shard 0 has no proof",
    );
}

/// A setup that did not finish (killed at a shard: its staging folder
/// `.keys.partial` holds the keys made so far, stamped with the plan and
/// SRS) is resumed: the next setup keeps those keys, makes the rest, and
/// the keys digest is the uninterrupted one's; a stamp of another plan or
/// SRS keeps nothing.
#[test]
fn an_interrupted_setup_resumes_with_the_keys_it_made() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = tmp.path().join("mlp");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let model = root().join("models/digits/mlp_int8_qdq.onnx");
    ok(&zkinf(
        &cache,
        &[
            "compile",
            &s(&model),
            "--out",
            &s(&dir),
            "--shards",
            "3",
            "--quiet",
        ],
    ));
    let keys = dir.join("keys");
    let partial = dir.join(".keys.partial");
    for vk_only in [true, false] {
        let mut args = vec!["setup".to_string(), s(&dir), "--dev-srs".into()];
        if vk_only {
            args.push("--verifying-keys-only".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = std::fs::remove_dir_all(&keys);
        ok(&zkinf(&cache, &args));
        assert!(
            !partial.exists(),
            "no staging folder after a finished setup"
        );
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(keys.join("setup.json")).unwrap()).unwrap();
        let digest = record["keys_digest"].as_str().unwrap().to_string();
        let stamp = format!(
            "zkinf setup of plan {} with SRS {} ({})\n",
            record["model_hash"].as_str().unwrap(),
            record["srs"].as_str().unwrap(),
            record["srs_verifier"].as_str().unwrap()
        );
        // killed after shard 0 and 2: their keys staged, shard 1's not
        let interrupt = |stamp: &str| {
            let _ = std::fs::remove_dir_all(&partial);
            std::fs::create_dir_all(&partial).unwrap();
            for f in std::fs::read_dir(&keys).unwrap().flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if name != "setup.json" && !name.starts_with("shard-1.") {
                    std::fs::copy(f.path(), partial.join(&name)).unwrap();
                }
            }
            std::fs::write(partial.join("resume.stamp"), stamp).unwrap();
            std::fs::remove_dir_all(&keys).unwrap();
        };
        interrupt(&stamp);
        let o = zkinf(&cache, &args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        ok(&o);
        for i in [0, 2] {
            assert!(
                err.contains(&format!(
                    "shard {i} ({}/3): keys kept from an interrupted setup of this plan and SRS",
                    i + 1
                )),
                "vk only {vk_only}: {err}"
            );
        }
        assert!(!err.contains("shard 1 (2/3): keys kept"), "{err}");
        let again: serde_json::Value =
            serde_json::from_slice(&std::fs::read(keys.join("setup.json")).unwrap()).unwrap();
        assert_eq!(again["keys_digest"].as_str().unwrap(), digest);
        assert!(!partial.exists() && !keys.join("resume.stamp").exists());
        assert_eq!(keys.join("shard-1.pk").exists(), !vk_only);
        // staged keys of another plan or SRS: nothing kept
        interrupt(&stamp.replace("dev:", "file:"));
        let o = zkinf(&cache, &args);
        ok(&o);
        assert!(!String::from_utf8_lossy(&o.stderr).contains("kept from an interrupted"));
    }
}

//! Sharded proving end to end with the CLI and real proofs: the digits MLP
//! and CNN, int8 and calibrated float, in one shard and cut into three;
//! shards proven in separate concurrent processes; an SRS given as a file
//! (a larger one downsized, a smaller one refused); and every way of
//! tampering with a chain, each rejected with its own message.

mod common;

use common::{fails_with, ok, root, s, zkinf};
use std::path::Path;
use std::process::Command;

fn input(model: &str) -> String {
    s(&root().join(format!("models/digits/{model}.input.json")))
}

/// compile (cut into at least `shards`), set up with the dev SRS, return the
/// shard lines of `compile`.
fn compile_and_setup(cache: &Path, dir: &Path, model: &str, shards: u32) -> String {
    let onnx = root().join(format!("models/digits/{model}.onnx"));
    let out = ok(&zkinf(
        cache,
        &[
            "compile",
            &s(&onnx),
            "--out",
            &s(dir),
            "--shards",
            &shards.to_string(),
            "--quiet",
        ],
    ));
    ok(&zkinf(cache, &["setup", &s(dir), "--dev-srs"]));
    out
}

fn shard_count(dir: &Path) -> usize {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("shards.json")).unwrap()).unwrap();
    v["shards"].as_array().unwrap().len()
}

#[test]
fn digits_models_prove_in_one_shard_and_in_three() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    for model in ["mlp_int8_qdq", "mlp_float", "cnn_int8_qdq", "cnn_float"] {
        for shards in [1u32, 3] {
            let dir = tmp.path().join(format!("{model}-{shards}"));
            let lines = compile_and_setup(&cache, &dir, model, shards);
            let n = shard_count(&dir);
            assert!(n >= shards as usize, "{model}: {n} shards\n{lines}");
            assert_eq!(lines.matches("rows, k = ").count(), n, "{lines}");
            let report: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                    .unwrap();
            assert_eq!(report["shards"]["shards"].as_array().unwrap().len(), n);
            let proved = ok(&zkinf(
                &cache,
                &["prove", &s(&dir), "--input", &input(model)],
            ));
            assert_eq!(proved.matches("self-verified").count(), n, "{proved}");
            let v = ok(&zkinf(
                &cache,
                &["verify", &s(&dir), "--input", &input(model)],
            ));
            for i in 0..n {
                assert!(v.contains(&format!("shard {i}: verified")), "{v}");
            }
            assert!(
                v.contains(&format!(
                    "verified, UNPINNED: the linked chain of {n} shard(s)"
                )) && v.contains("input checked against the one given"),
                "{v}"
            );
        }
    }

    // an SRS file: a larger one is downsized, a smaller one refused
    let mut srs: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(cache.join("srs"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_string();
            let k = name
                .strip_prefix("dev-srs-k")?
                .strip_suffix(".bin")?
                .parse()
                .ok()?;
            Some((k, p))
        })
        .collect();
    srs.sort();
    let (small_k, small) = srs.first().cloned().unwrap();
    let (big_k, big) = srs.last().cloned().unwrap();
    assert!(big_k > small_k, "{srs:?}");
    let mlp = tmp.path().join("mlp_int8_qdq-3");
    ok(&zkinf(&cache, &["setup", &s(&mlp), "--srs", &s(&big)]));
    ok(&zkinf(
        &cache,
        &["prove", &s(&mlp), "--input", &input("mlp_int8_qdq")],
    ));
    ok(&zkinf(&cache, &["verify", &s(&mlp)]));
    // the model whose largest shard needs the largest SRS
    let cnn = [
        "cnn_int8_qdq-1",
        "cnn_float-1",
        "mlp_int8_qdq-1",
        "mlp_float-1",
    ]
    .iter()
    .map(|m| tmp.path().join(m))
    .find(|d| {
        std::fs::read_to_string(d.join("keys/setup.json"))
            .is_ok_and(|t| t.contains(&format!("\"k\": {big_k}")))
    })
    .expect("a model set up with the largest SRS");
    fails_with(
        &zkinf(&cache, &["setup", &s(&cnn), "--srs", &s(&small)]),
        &format!("has 2^{small_k} points; this model needs 2^{big_k}"),
    );
    let cut = tmp.path().join("cut.srs");
    let bytes = std::fs::read(&small).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    fails_with(
        &zkinf(&cache, &["setup", &s(&mlp), "--srs", &s(&cut)]),
        "is not a KZG SRS",
    );
}

/// Runs `prove --shard i` for every shard at once, in separate processes.
fn prove_shards_concurrently(cache: &Path, dir: &Path, n: usize, input: &str) {
    let children: Vec<_> = (0..n)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_zkinf"))
                .env("ZKINF_CACHE", cache)
                .args([
                    "prove",
                    &s(dir),
                    "--input",
                    input,
                    "--shard",
                    &i.to_string(),
                ])
                .output()
                .expect("run zkinf")
        })
        .collect();
    for (i, c) in children.iter().enumerate() {
        let out = ok(c);
        assert!(out.contains(&format!("shard {i}: proved")), "{out}");
    }
}

#[test]
fn separately_proven_shards_verify_and_tampered_chains_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = tmp.path().join("mlp");
    compile_and_setup(&cache, &dir, "mlp_int8_qdq", 3);
    let n = shard_count(&dir);
    assert_eq!(n, 3);
    let inp = input("mlp_int8_qdq");
    prove_shards_concurrently(&cache, &dir, n, &inp);
    let v = ok(&zkinf(&cache, &["verify", &s(&dir), "--input", &inp]));
    assert!(v.contains("the linked chain of 3 shard(s)"), "{v}");
    fails_with(
        &zkinf(
            &cache,
            &["prove", &s(&dir), "--input", &inp, "--shard", "3"],
        ),
        "this model has 3 shard(s) (0..2); shard 3 does not exist",
    );

    let proof = |i: usize| dir.join(format!("proofs/shard-{i}.proof"));
    let vk = |i: usize| dir.join(format!("keys/shard-{i}.vk"));
    let verify = || zkinf(&cache, &["verify", &s(&dir), "--input", &inp]);
    let keep = |p: &Path| std::fs::read(p).unwrap();
    let (p1, p2, k1) = (keep(&proof(1)), keep(&proof(2)), keep(&vk(1)));
    let restore = || {
        std::fs::write(proof(1), &p1).unwrap();
        std::fs::write(proof(2), &p2).unwrap();
        std::fs::write(vk(1), &k1).unwrap();
        ok(&verify());
    };

    // two shard proofs swapped
    std::fs::write(proof(1), &p2).unwrap();
    std::fs::write(proof(2), &p1).unwrap();
    let out = verify();
    fails_with(&out, "position 1 of the chain holds the proof of shard 2");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("shard 0: verified") && stdout.contains("shard 1: REJECTED"),
        "{stdout}"
    );
    restore();

    // one flipped byte in a middle shard's proof
    let mut flipped = p1.clone();
    let at = flipped.len() - 300;
    flipped[at] ^= 0x10;
    std::fs::write(proof(1), &flipped).unwrap();
    fails_with(
        &verify(),
        "shard 1: the proof does not verify against its verifying key",
    );
    restore();

    // a shard missing
    std::fs::remove_file(proof(1)).unwrap();
    fails_with(&verify(), "shard 1 has no proof");
    restore();

    // the verifying key of another shard, a truncated key, a truncated proof
    std::fs::write(vk(1), keep(&vk(2))).unwrap();
    fails_with(
        &verify(),
        "this is the verifying key of shard 2, not of shard 1",
    );
    std::fs::write(vk(1), &k1[..k1.len() / 2]).unwrap();
    fails_with(&verify(), "truncated or corrupt verifying key");
    restore();
    std::fs::write(proof(1), &p1[..p1.len() - 100]).unwrap();
    fails_with(&verify(), "proof file is truncated");
    restore();

    // an incompatible proof format version
    let mut foreign = p1.clone();
    foreign[8] = 9;
    std::fs::write(proof(1), &foreign).unwrap();
    fails_with(&verify(), "proof format version 9 is not supported");
    restore();

    // shard 0 re-proven on another digit: its output no longer links
    let other = tmp.path().join("other.json");
    let mut x: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inp).unwrap()).unwrap();
    x["x"][0][20] = serde_json::json!(0.875);
    x["x"][0][36] = serde_json::json!(0.0625);
    std::fs::write(&other, x.to_string()).unwrap();
    let p0 = keep(&proof(0));
    ok(&zkinf(
        &cache,
        &["prove", &s(&dir), "--input", &s(&other), "--shard", "0"],
    ));
    fails_with(
        &zkinf(&cache, &["verify", &s(&dir), "--input", &s(&other)]),
        "shards 0 and 1 do not link",
    );
    std::fs::write(proof(0), &p0).unwrap();
    ok(&zkinf(
        &cache,
        &["prove", &s(&dir), "--input", &inp, "--shard", "2"],
    ));
    restore();

    // the claimed input and output
    fails_with(
        &zkinf(&cache, &["verify", &s(&dir), "--input", &s(&other)]),
        "the input given differs from the claimed one at index",
    );
    let pred = tmp.path().join("pred.json");
    ok(&zkinf(
        &cache,
        &["infer", &s(&dir), "--input", &inp, "--output", &s(&pred)],
    ));
    ok(&zkinf(&cache, &["verify", &s(&dir), "--output", &s(&pred)]));
    let mut y: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pred).unwrap()).unwrap();
    y["y"][0][3] = serde_json::json!(y["y"][0][3].as_f64().unwrap() - 1.0);
    std::fs::write(&pred, y.to_string()).unwrap();
    fails_with(
        &zkinf(&cache, &["verify", &s(&dir), "--output", &s(&pred)]),
        "the output given differs from the claimed one at index",
    );

    // a proof from another model (same shapes, other weights)
    let dir2 = tmp.path().join("mlp2");
    compile_and_setup(&cache, &dir2, "mlp_uint8_qdq_pc", 3);
    ok(&zkinf(
        &cache,
        &[
            "prove",
            &s(&dir2),
            "--input",
            &input("mlp_uint8_qdq_pc"),
            "--shard",
            "1",
        ],
    ));
    std::fs::copy(dir2.join("proofs/shard-1.proof"), proof(1)).unwrap();
    fails_with(&verify(), "shard 1: the proof is for model");
    restore();

    // keys recorded for another version of the shard circuit
    let setup_path = dir.join("keys/setup.json");
    let orig = std::fs::read_to_string(&setup_path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&orig).unwrap();
    v["shards"][1]["vk_repr"] = serde_json::json!("00".repeat(32));
    std::fs::write(&setup_path, v.to_string()).unwrap();
    fails_with(&verify(), "another version of the shard circuit");
    std::fs::write(&setup_path, &orig).unwrap();
    ok(&verify());

    // keys of another model
    std::fs::copy(dir2.join("keys/setup.json"), dir.join("keys/setup.json")).unwrap();
    fails_with(&verify(), "belong to another model");
}

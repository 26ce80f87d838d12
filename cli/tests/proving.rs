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

//! Transformer blocks end to end with the CLI (`models/transformer/`): the
//! benchmark's pre-LayerNorm encoder block and a Qwen-style decoder block
//! (RMSNorm, rotary embeddings, grouped-query attention, causal mask,
//! SiLU-gated MLP) compiled with their calibration data, set up with the
//! development SRS, proven, verified against the input, exported as a web
//! bundle and verified from it; the compile report carries the error per
//! layer against the float model.

mod common;

use common::{ok, root, s, zkinf};

fn fixture(name: &str) -> String {
    s(&root().join("models/transformer").join(name))
}

#[test]
fn transformer_blocks_prove_verify_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    for model in ["block", "decoder_block"] {
        let dir = tmp.path().join(model);
        let input = fixture(&format!("{model}.input.json"));
        let o = ok(&zkinf(
            &cache,
            &[
                "compile",
                &fixture(&format!("{model}.onnx")),
                "--out",
                &s(&dir),
                "--calibration",
                &fixture(&format!("{model}.calibration.json")),
            ],
        ));
        // the table: the normalization's root and division, an error column
        assert!(o.contains(" Sqrt ") && o.contains(" Div "), "{o}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap())
                .unwrap();
        let errors = report["ops"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["max_abs_error"].as_f64().is_some())
            .count();
        assert!(
            errors >= 10,
            "{model}: {errors} layers with an error figure"
        );
        ok(&zkinf(&cache, &["setup", &s(&dir), "--dev-srs"]));
        ok(&zkinf(&cache, &["prove", &s(&dir), "--input", &input]));
        let verdict = ok(&zkinf(&cache, &["verify", &s(&dir), "--input", &input]));
        assert!(
            verdict
                .lines()
                .last()
                .unwrap_or_default()
                .starts_with("verified"),
            "{model}: {verdict}"
        );
        let bundle = tmp.path().join(format!("{model}.bundle"));
        ok(&zkinf(
            &cache,
            &[
                "export-web",
                &s(&dir),
                "--out",
                &s(&bundle),
                "--input",
                &input,
            ],
        ));
        let v = ok(&zkinf(&cache, &["verify-bundle", &s(&bundle)]));
        assert!(v.contains("verified"), "{model}: {v}");
    }
}

/// The decoder block cut inside (`--max-log-rows 11`: its attention and
/// its MLP in separate shards, the residual stream crossing); the chain
/// proves and verifies, and a shard proof of another input is refused.
/// (The encoder block now fits one 2^11 circuit; cuts through
/// bundles of several tensors are tested in `circuits/src/shard/bundle_tests.rs`.)
#[test]
fn a_block_cut_inside_chains_its_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = tmp.path().join("block");
    ok(&zkinf(
        &cache,
        &[
            "compile",
            &fixture("decoder_block.onnx"),
            "--out",
            &s(&dir),
            "--calibration",
            &fixture("decoder_block.calibration.json"),
            "--max-log-rows",
            "11",
            "--quiet",
        ],
    ));
    let shards: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("shards.json")).unwrap()).unwrap();
    let n = shards["shards"].as_array().unwrap().len();
    assert!(n >= 2, "{n} shards");
    ok(&zkinf(&cache, &["setup", &s(&dir), "--dev-srs"]));
    // a second input: the first calibration sample
    let cal: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("decoder_block.calibration.json")).unwrap(),
    )
    .unwrap();
    let other = tmp.path().join("other.json");
    std::fs::write(&other, serde_json::json!({ "x": cal["x"][0] }).to_string()).unwrap();
    let proof = |i: usize| dir.join("proofs").join(format!("shard-{i}.proof"));
    ok(&zkinf(&cache, &["prove", &s(&dir), "--input", &s(&other)]));
    let foreign = std::fs::read(proof(0)).unwrap();
    let input = fixture("decoder_block.input.json");
    ok(&zkinf(&cache, &["prove", &s(&dir), "--input", &input]));
    let verdict = ok(&zkinf(&cache, &["verify", &s(&dir), "--input", &input]));
    assert!(
        verdict.contains(&format!("chain of {n} shard(s)")),
        "{verdict}"
    );
    std::fs::write(proof(0), foreign).unwrap();
    common::fails_with(
        &zkinf(&cache, &["verify", &s(&dir), "--input", &input]),
        "shard 0: the input commitment does not match the claimed input",
    );
}

/// A product too large for any shard of 2^12 rows (`gemm_wide`: `[1, 128]
/// x [128, 512]`, 6,850 rows at k = 13) is split into column blocks, each
/// with its requantization; the blocks' shards chain, prove and verify.
#[test]
fn a_product_too_large_for_a_shard_is_split_and_its_blocks_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = tmp.path().join("wide");
    let ops = |name: &str| s(&root().join("models/ops").join(name)).to_string();
    let compile = |max: &str, out: &std::path::Path| {
        ok(&zkinf(
            &cache,
            &[
                "compile",
                &ops("gemm_wide.onnx"),
                "--out",
                &s(out),
                "--calibration",
                &ops("gemm_wide.calibration.json"),
                "--max-log-rows",
                max,
                "--quiet",
            ],
        ))
    };
    compile("12", &dir);
    let shards: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("shards.json")).unwrap()).unwrap();
    let shards = shards["shards"].as_array().unwrap();
    assert!(shards.len() >= 2, "{shards:?}");
    assert!(
        shards.iter().all(|s| s["k"].as_u64().unwrap() <= 12),
        "{shards:?}"
    );
    let report = std::fs::read_to_string(dir.join("report.json")).unwrap();
    assert!(
        report.contains("gemm.cols0-"),
        "no column blocks in the report"
    );
    // uncapped, the product stays whole (one shard of k = 13)
    let whole = tmp.path().join("whole");
    compile("20", &whole);
    let report = std::fs::read_to_string(whole.join("report.json")).unwrap();
    assert!(!report.contains("gemm.cols0-"));
    let input = ops("gemm_wide.input.json");
    ok(&zkinf(&cache, &["setup", &s(&dir), "--dev-srs"]));
    // the last block's shard proven on another input (the second calibration
    // sample: the first is the input)
    let cal: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ops("gemm_wide.calibration.json")).unwrap())
            .unwrap();
    let other = tmp.path().join("other.json");
    std::fs::write(&other, serde_json::json!({ "x": cal["x"][1] }).to_string()).unwrap();
    let last = dir
        .join("proofs")
        .join(format!("shard-{}.proof", shards.len() - 1));
    ok(&zkinf(&cache, &["prove", &s(&dir), "--input", &s(&other)]));
    let foreign = std::fs::read(&last).unwrap();
    ok(&zkinf(&cache, &["prove", &s(&dir), "--input", &input]));
    let verdict = ok(&zkinf(&cache, &["verify", &s(&dir), "--input", &input]));
    assert!(
        verdict.contains(&format!("chain of {} shard(s)", shards.len())),
        "{verdict}"
    );
    // the last block's proof of another run is refused
    let mine = std::fs::read(&last).unwrap();
    std::fs::write(&last, foreign).unwrap();
    common::fails_with(
        &zkinf(&cache, &["verify", &s(&dir), "--input", &input]),
        &format!(
            "shard {}: the output commitment does not match the claimed output",
            shards.len() - 1
        ),
    );
    std::fs::write(&last, mine).unwrap();
    // the same output as the whole product's plan
    let infer = |d: &std::path::Path| {
        let o = tmp.path().join(format!(
            "{}.out.json",
            d.file_name().unwrap().to_string_lossy()
        ));
        ok(&zkinf(
            &cache,
            &["infer", &s(d), "--input", &input, "--output", &s(&o)],
        ));
        std::fs::read_to_string(o).unwrap()
    };
    assert_eq!(infer(&dir), infer(&whole));
}

//! Resource limits: compile refuses a model over its row budget, setup and
//! prove refuse a shard whose estimated memory is over the memory budget
//! (flag or $ZKINF_MEMORY_BUDGET), each with one line and nothing written,
//! before any key or proof is built; within budget they work.

mod common;

use common::{fails_with, ok, root, s, zkinf};
use std::process::Command;

#[test]
fn row_and_memory_budgets_refuse_before_building() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let dir = tmp.path().join("mlp");
    let onnx = s(&root().join("models/digits/mlp_int8_qdq.onnx"));
    let input = s(&root().join("models/digits/mlp_int8_qdq.input.json"));

    let o = zkinf(
        &cache,
        &[
            "compile",
            &onnx,
            "--out",
            &s(&dir),
            "--max-rows",
            "100",
            "--quiet",
        ],
    );
    fails_with(&o, "over the budget of 100 (--max-rows)");
    assert!(!dir.exists(), "compile over budget wrote {}", dir.display());
    // a node larger than the cut allows: the rows are still known and the
    // budget still holds
    let cnn = s(&root().join("models/digits/cnn_int8_qdq.onnx"));
    let o = zkinf(
        &cache,
        &[
            "compile",
            &cnn,
            "--out",
            &s(&dir),
            "--max-log-rows",
            "9",
            "--max-rows",
            "1000",
            "--quiet",
        ],
    );
    fails_with(&o, "needs 3191 constraint rows, over the budget of 1000");
    assert!(!dir.exists(), "compile over budget wrote {}", dir.display());
    ok(&zkinf(
        &cache,
        &["compile", &onnx, "--out", &s(&dir), "--quiet"],
    ));

    // setup: refused before any key is generated
    let o = zkinf(
        &cache,
        &["setup", &s(&dir), "--dev-srs", "--memory-budget", "4M"],
    );
    fails_with(&o, "shard 0 (k = 9) needs about");
    fails_with(&o, "over the memory budget of 4 MiB");
    assert!(!dir.join("keys").exists(), "keys written over budget");
    let o = zkinf(
        &cache,
        &["setup", &s(&dir), "--dev-srs", "--memory-budget", "lots"],
    );
    fails_with(&o, "--memory-budget 'lots': not a size");
    let o = Command::new(env!("CARGO_BIN_EXE_zkinf"))
        .env("ZKINF_CACHE", &cache)
        .env("ZKINF_MEMORY_BUDGET", "2M")
        .args(["setup", &s(&dir), "--dev-srs"])
        .output()
        .unwrap();
    fails_with(&o, "over the memory budget of 2 MiB");
    ok(&zkinf(
        &cache,
        &["setup", &s(&dir), "--dev-srs", "--memory-budget", "2G"],
    ));

    // prove: refused before the proving key is read
    let o = zkinf(
        &cache,
        &[
            "prove",
            &s(&dir),
            "--input",
            &input,
            "--memory-budget",
            "4M",
        ],
    );
    fails_with(&o, "needs about");
    assert!(!dir.join("proofs").exists(), "proofs written over budget");
    ok(&zkinf(
        &cache,
        &[
            "prove",
            &s(&dir),
            "--input",
            &input,
            "--memory-budget",
            "1G",
        ],
    ));
    ok(&zkinf(&cache, &["verify", &s(&dir)]));
}

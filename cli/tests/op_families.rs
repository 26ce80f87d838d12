//! One real proof per ONNX op family (`models/ops/`, see models/README.md):
//! compile with the fixture's calibration data, set up with the development
//! SRS, prove the fixture's input, verify against it. And saturation is
//! never silent: an uncalibrated float model warns at compile time, counts
//! the values it clamps in `infer` and `prove`, and `--strict` refuses.

mod common;

use common::{fails_with, ok, root, s, zkinf};

fn fixture(name: &str) -> String {
    s(&root().join("models/ops").join(name))
}

/// The families, each by one fixture (int8 where the model quantizes every
/// op, so the proof is of onnxruntime's exact answer).
const FAMILIES: &[&str] = &[
    "conv1d_int8",
    "conv3d_int8",
    "convtranspose2d_int8",
    "maxpool1d_int8",
    "maxpool3d_int8",
    "avgpool2d_strided_int8",
    "avgpool3d_int8",
    "pad_reflect_int8",
    "pad_constant",
    "prelu",
    "prelu_scalar_int8",
    "neg",
    "abs_int8",
    "sign",
    "exp_int8",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "hardsigmoid",
    "shrink",
    "leakyrelu_int8",
    "max_int8",
    "min",
    "sum_int8",
    "logsoftmax",
    "reducemean_int8",
    "reducesum",
    "batchnorm_int8",
    "instancenorm_int8",
    "gemm_computed_bias_int8",
    "split_int8",
    "expand",
    "tile_int8",
    "slice_int8",
    "gather_int8",
];

#[test]
fn one_real_proof_per_op_family() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    for model in FAMILIES {
        let base = model.strip_suffix("_int8").unwrap_or(model);
        let dir = tmp.path().join(model);
        let input = fixture(&format!("{model}.input.json"));
        ok(&zkinf(
            &cache,
            &[
                "compile",
                &fixture(&format!("{model}.onnx")),
                "--out",
                &s(&dir),
                "--calibration",
                &fixture(&format!("{base}.calibration.json")),
                "--quiet",
            ],
        ));
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
        println!("{model}: proved and verified");
    }
}

#[test]
fn an_uncalibrated_relu_warns_counts_its_clamped_values_and_strict_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let (onnx, input) = (
        fixture("relu_uncalibrated.onnx"),
        fixture("relu_uncalibrated.input.json"),
    );
    // x = [1.76, -0.5, 0.3, 0.9]; no calibration: ranges from [0, 1)
    let dir = tmp.path().join("guessed");
    let o = zkinf(&cache, &["compile", &onnx, "--out", &s(&dir), "--quiet"]);
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("WARNING: RANGES GUESSED"), "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["quantization"]["ranges_guessed"], true);
    // --strict refuses to guess
    let strict_dir = tmp.path().join("strict");
    fails_with(
        &zkinf(
            &cache,
            &["compile", &onnx, "--out", &s(&strict_dir), "--strict"],
        ),
        "--strict: the model needs calibration data",
    );
    assert!(!strict_dir.exists());
    // infer: the clamped answer (relu(1.76) = 0.986), a warning naming the
    // tensor, and the counts beside the output
    let out = tmp.path().join("out.json");
    let o = zkinf(
        &cache,
        &["infer", &s(&dir), "--input", &input, "--output", &s(&out)],
    );
    ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: 2 value(s) of 'x' fell outside its calibrated range"),
        "{err}"
    );
    let y: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let y0 = y["y"][0][0].as_f64().unwrap();
    assert!((y0 - 1.76).abs() > 0.5, "the clamp is real: {y0}");
    let sat: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("out.saturation.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(sat["total"], 2);
    assert_eq!(sat["clamped"][0]["tensor"], "x");
    assert_eq!(sat["clamped"][0]["above"], 1);
    // --strict: an error, and no output
    let strict_out = tmp.path().join("strict.json");
    fails_with(
        &zkinf(
            &cache,
            &[
                "infer",
                &s(&dir),
                "--input",
                &input,
                "--output",
                &s(&strict_out),
                "--strict",
            ],
        ),
        "--strict: 2 values of 'x' fell outside their calibrated ranges",
    );
    assert!(!strict_out.exists());
    // prove warns (the proof is of the clamped run), --strict refuses first
    ok(&zkinf(&cache, &["setup", &s(&dir), "--dev-srs"]));
    fails_with(
        &zkinf(&cache, &["prove", &s(&dir), "--input", &input, "--strict"]),
        "fell outside their calibrated ranges",
    );
    assert!(!dir.join("proofs").exists());
    let o = zkinf(&cache, &["prove", &s(&dir), "--input", &input]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("value(s) of 'x' fell outside"));
    // calibrated on data that covers the input: no warning, the right answer
    let cal = tmp.path().join("cal.json");
    std::fs::write(
        &cal,
        r#"{"x": [[[1.76, -0.5, 0.3, 0.9]], [[0.0, 1.0, -1.0, 0.5]]]}"#,
    )
    .unwrap();
    let good = tmp.path().join("calibrated");
    let o = zkinf(
        &cache,
        &[
            "compile",
            &onnx,
            "--out",
            &s(&good),
            "--calibration",
            &s(&cal),
            "--quiet",
            "--strict",
        ],
    );
    ok(&o);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("WARNING"));
    let o = zkinf(
        &cache,
        &[
            "infer",
            &s(&good),
            "--input",
            &input,
            "--output",
            &s(&out),
            "--strict",
        ],
    );
    ok(&o);
    let y: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let want = [1.76, 0.0, 0.3, 0.9];
    let step = 2.26 / 255.0;
    for (k, w) in want.iter().enumerate() {
        let g = y["y"][0][k].as_f64().unwrap();
        assert!((g - w).abs() <= step / 2.0 + 1e-6, "y[{k}] = {g}, want {w}");
    }
}

//! The `zkinf` binary end to end: compile and infer on the bundled models,
//! and every kind of bad input answered with one clear line and a non-zero
//! exit, never a panic, never a partial artifact.

use prost::Message;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use zkinf_compiler::onnx::{self, ModelProto};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn model(name: &str) -> PathBuf {
    root().join("models/digits").join(name)
}

fn zkinf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinf"))
        .args(args)
        .output()
        .expect("run zkinf")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts a failure with one `error:` line containing every fragment.
fn fails_with(out: &Output, fragments: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {err}"
    );
    assert_eq!(out.status.code(), Some(1), "exit code; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for f in fragments {
        assert!(lines[0].contains(f), "'{f}' not in: {err}");
    }
}

/// No output folder and no temporary leftovers beside it.
fn no_artifacts(out: &Path) {
    assert!(!out.exists(), "{} was created", out.display());
    let parent = out.parent().unwrap();
    if let Ok(rd) = std::fs::read_dir(parent) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            assert!(!n.contains(".tmp-"), "leftover {n}");
        }
    }
}

fn compile_fails(model_path: &Path, extra: &[&str], fragments: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args = vec!["compile", s(model_path), "--out", s(&out)];
    args.extend(extra);
    fails_with(&zkinf(&args), fragments);
    no_artifacts(&out);
}

fn mlp_proto() -> ModelProto {
    ModelProto::decode(std::fs::read(model("mlp_float.onnx")).unwrap().as_slice()).unwrap()
}

#[test]
fn compile_and_infer_reproduce_onnxruntime() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cnn");
    let r = zkinf(&["compile", s(&model("cnn_int8_qdq.onnx")), "--out", s(&out)]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        stdout.contains("Conv") && stdout.contains("MaxPool") && stdout.contains("rows"),
        "{stdout}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["model_hash"].as_str().unwrap().len(), 64);
    assert_eq!(report["quantization"]["mode"], "exact-int8");
    assert!(report["total_rows"].as_u64().unwrap() > 0);
    // every op is listed with its share of the rows of the column group
    // that sets its shard's height (here the range lanes: a Conv's
    // Freivalds rows are not the tallest group, its requantization's range
    // checks are)
    let ops = report["ops"].as_array().unwrap();
    assert!(ops.iter().any(|o| o["op"] == "Conv"));
    assert!(ops
        .iter()
        .any(|o| o["op"] == "Rescale" && o["rows"].as_u64().unwrap() > 0));
    for k in ["max_abs_error", "argmax_agreement"] {
        assert!(report["quantization"][k].is_number(), "{k}");
    }
    let pred = tmp.path().join("pred.json");
    let r = zkinf(&[
        "infer",
        s(&out),
        "--input",
        s(&model("cnn_int8_qdq.input.json")),
        "--output",
        s(&pred),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let got: serde_json::Value = serde_json::from_slice(&std::fs::read(&pred).unwrap()).unwrap();
    let want: serde_json::Value =
        serde_json::from_slice(&std::fs::read(model("cnn_int8_qdq.samples.json")).unwrap())
            .unwrap();
    assert_eq!(
        got["y"], want["outputs"][0],
        "first digit identical to onnxruntime"
    );

    // compiling again replaces the folder atomically and gives the same identity
    let r = zkinf(&[
        "compile",
        s(&model("cnn_int8_qdq.onnx")),
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(r.status.success());
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(again["model_hash"], report["model_hash"]);
}

#[test]
fn float_model_reports_calibration_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mlp");
    let cal = model("mlp_float.calibration.json");
    let r = zkinf(&[
        "compile",
        s(&model("mlp_float.onnx")),
        "--out",
        s(&out),
        "--calibration",
        s(&cal),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["quantization"]["mode"], "calibrated");
    assert_eq!(report["quantization"]["samples"], 64);
    assert!(report["quantization"]["argmax_agreement"].as_f64().unwrap() >= 0.99);
    assert!(report["quantization"]["max_abs_error"].as_f64().unwrap() > 0.0);
}

#[test]
fn empty_file() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("empty.onnx");
    std::fs::write(&p, b"").unwrap();
    compile_fails(&p, &[], &["is empty"]);
}

#[test]
fn missing_file() {
    compile_fails(
        Path::new("/nonexistent/model.onnx"),
        &[],
        &["cannot read", "/nonexistent/model.onnx"],
    );
}

#[test]
fn truncated_onnx() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(model("cnn_int8_qdq.onnx")).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 7, 100] {
        let p = tmp.path().join("cut.onnx");
        std::fs::write(&p, &bytes[..cut]).unwrap();
        compile_fails(&p, &[], &["is not an ONNX model"]);
    }
}

#[test]
fn random_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut state = 0x1234_5678_9abc_def0u64;
    for round in 0..20 {
        let bytes: Vec<u8> = (0..997 + round * 13)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let p = tmp.path().join("noise.onnx");
        std::fs::write(&p, &bytes).unwrap();
        compile_fails(&p, &[], &["is not an ONNX model"]);
    }
}

#[test]
fn two_unsupported_ops_are_both_named() {
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    // y = nonsense: an LSTM in place of the ReLU and a GridSample after it
    let relu = g.node.iter().position(|n| n.op_type == "Relu").unwrap();
    g.node[relu].op_type = "LSTM".into();
    g.node[relu].name = "lstm_node".into();
    g.node.push(onnx::NodeProto {
        input: vec!["y".into()],
        output: vec!["z".into()],
        name: "grid_node".into(),
        op_type: "GridSample".into(),
        ..Default::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("two.onnx");
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    compile_fails(
        &p,
        &[],
        &[
            "2 unsupported ONNX op(s)",
            "LSTM (node 'lstm_node')",
            "GridSample (node 'grid_node')",
        ],
    );
}

fn symbolic_model(dir: &Path) -> PathBuf {
    let mut m = mlp_proto();
    let g = m.graph.as_mut().unwrap();
    let Some(onnx::type_proto::Value::TensorType(tt)) =
        g.input[0].r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!()
    };
    tt.shape.as_mut().unwrap().dim[0].value = Some(
        onnx::tensor_shape_proto::dimension::Value::DimParam("batch".into()),
    );
    let p = dir.join("sym.onnx");
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    p
}

#[test]
fn symbolic_dims_need_input_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let p = symbolic_model(tmp.path());
    compile_fails(&p, &[], &["symbolic dimension 'batch'", "--input-shape x="]);
    compile_fails(&p, &["--input-shape", "x=1,65"], &["axis 1 is fixed to 64"]);
    compile_fails(&p, &["--input-shape", "x=1"], &["rank 2"]);
    compile_fails(
        &p,
        &["--input-shape", "nope=1,64"],
        &["no input named 'nope'"],
    );
    compile_fails(&p, &["--input-shape", "x=1,a"], &["--input-shape 'x=1,a'"]);
    let out = tmp.path().join("ok");
    let r = zkinf(&[
        "compile",
        s(&p),
        "--out",
        s(&out),
        "--input-shape",
        "x=1,64",
        "--calibration",
        s(&model("mlp_float.calibration.json")),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn negative_scale_is_rejected() {
    let mut m = ModelProto::decode(
        std::fs::read(model("mlp_int8_qdq.onnx"))
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let g = m.graph.as_mut().unwrap();
    let q = g
        .node
        .iter()
        .find(|n| n.op_type == "QuantizeLinear")
        .unwrap()
        .clone();
    let t = g
        .initializer
        .iter_mut()
        .find(|t| t.name == q.input[1])
        .unwrap();
    if !t.raw_data.is_empty() {
        let v = -f32::from_le_bytes(t.raw_data[..4].try_into().unwrap());
        t.raw_data = v.to_le_bytes().to_vec();
    } else {
        t.float_data[0] = -t.float_data[0];
    }
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("neg.onnx");
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    compile_fails(&p, &[], &["must be a positive finite number"]);
}

#[test]
fn unwritable_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a_file");
    std::fs::write(&file, b"x").unwrap();
    let out = file.join("out");
    fails_with(
        &zkinf(&["compile", s(&model("mlp_int8_qdq.onnx")), "--out", s(&out)]),
        &["cannot write"],
    );
    fails_with(
        &zkinf(&["compile", s(&model("mlp_int8_qdq.onnx")), "--out", s(&file)]),
        &["is not a directory"],
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"x",
        "the existing file is untouched"
    );
}

fn compiled_mlp(dir: &Path) -> PathBuf {
    let out = dir.join("mlp");
    let r = zkinf(&[
        "compile",
        s(&model("mlp_int8_qdq.onnx")),
        "--out",
        s(&out),
        "--quiet",
    ]);
    assert!(r.status.success());
    out
}

fn infer_fails(input_json: &str, fragments: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = compiled_mlp(tmp.path());
    let inp = tmp.path().join("in.json");
    std::fs::write(&inp, input_json).unwrap();
    let pred = tmp.path().join("pred.json");
    fails_with(
        &zkinf(&["infer", s(&out), "--input", s(&inp), "--output", s(&pred)]),
        fragments,
    );
    assert!(!pred.exists(), "no output written on failure");
}

fn row(v: &str, n: usize) -> String {
    format!("[{}]", vec![v; n].join(","))
}

#[test]
fn input_with_wrong_shape() {
    infer_fails(
        &format!(r#"{{"x": {}}}"#, row("0.5", 64)),
        &["input 'x' has shape [64], expected [1, 64]"],
    );
    infer_fails(
        &format!(r#"{{"x": [{}]}}"#, row("0.5", 63)),
        &["has shape [1, 63], expected [1, 64]"],
    );
}

#[test]
fn missing_or_unknown_input_name() {
    infer_fails(r#"{}"#, &["missing input 'x'"]);
    infer_fails(
        &format!(r#"{{"x": [{}], "z": 1}}"#, row("0", 64)),
        &["unknown input 'z'"],
    );
}

#[test]
fn non_finite_values() {
    infer_fails(
        &format!(r#"{{"x": [{}]}}"#, row("NaN", 64)),
        &["NaN and Infinity are not valid JSON numbers"],
    );
    infer_fails(
        &format!(r#"{{"x": [{}]}}"#, row("Infinity", 64)),
        &["NaN and Infinity"],
    );
    infer_fails(
        &format!(r#"{{"x": [{}]}}"#, row("1e300", 64)),
        &["not a finite float32"],
    );
    infer_fails(r#"{"x": [[1, 2"#, &["not valid JSON"]);
    infer_fails(
        &format!(r#"{{"x": [{}]}}"#, row("\"a\"", 64)),
        &["expected numbers"],
    );
}

#[test]
fn corrupt_or_foreign_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let out = compiled_mlp(tmp.path());
    let plan = out.join("plan.bin");
    let bytes = std::fs::read(&plan).unwrap();
    let pred = tmp.path().join("pred.json");
    let inp = model("mlp_int8_qdq.input.json");
    let run = || zkinf(&["infer", s(&out), "--input", s(&inp), "--output", s(&pred)]);
    std::fs::write(&plan, &bytes[..bytes.len() / 2]).unwrap();
    fails_with(&run(), &["plan file is corrupt"]);
    let mut v = bytes.clone();
    v[8] = 77;
    std::fs::write(&plan, &v).unwrap();
    fails_with(&run(), &["plan format version 77 is not supported"]);
    std::fs::write(&plan, b"not a plan at all").unwrap();
    fails_with(&run(), &["not a zkinf plan file"]);
    std::fs::remove_file(&plan).unwrap();
    fails_with(&run(), &["cannot read", "plan.bin"]);
    assert!(!pred.exists());
}

#[test]
fn external_data_models_load() {
    let mut m = mlp_proto();
    let tmp = tempfile::tempdir().unwrap();
    let mut blob = Vec::new();
    for t in &mut m.graph.as_mut().unwrap().initializer {
        let bytes: Vec<u8> = if t.raw_data.is_empty() {
            t.float_data.iter().flat_map(|f| f.to_le_bytes()).collect()
        } else {
            std::mem::take(&mut t.raw_data)
        };
        t.float_data.clear();
        let entry = |k: &str, v: String| onnx::StringStringEntryProto {
            key: k.into(),
            value: v,
        };
        t.external_data = vec![
            entry("location", "weights.bin".into()),
            entry("offset", blob.len().to_string()),
            entry("length", bytes.len().to_string()),
        ];
        t.data_location = 1;
        blob.extend(bytes);
    }
    let p = tmp.path().join("ext.onnx");
    std::fs::write(&p, m.encode_to_vec()).unwrap();
    std::fs::write(tmp.path().join("weights.bin"), &blob).unwrap();
    let cal = model("mlp_float.calibration.json");
    let out_ext = tmp.path().join("ext_out");
    let r = zkinf(&[
        "compile",
        s(&p),
        "--out",
        s(&out_ext),
        "--calibration",
        s(&cal),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let out_inline = tmp.path().join("inline_out");
    assert!(zkinf(&[
        "compile",
        s(&model("mlp_float.onnx")),
        "--out",
        s(&out_inline),
        "--calibration",
        s(&cal)
    ])
    .status
    .success());
    let hash = |d: &Path| {
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(d.join("report.json")).unwrap())
            .unwrap()["model_hash"]
            .clone()
    };
    assert_eq!(
        hash(&out_ext),
        hash(&out_inline),
        "same weights, same model identity"
    );

    // a truncated weights file is a clear error
    std::fs::write(tmp.path().join("weights.bin"), &blob[..blob.len() - 4]).unwrap();
    compile_fails(
        &p,
        &["--calibration", s(&cal)],
        &["external data of tensor", "outside"],
    );
    std::fs::remove_file(tmp.path().join("weights.bin")).unwrap();
    compile_fails(
        &p,
        &["--calibration", s(&cal)],
        &["external data of tensor", "cannot read"],
    );
}

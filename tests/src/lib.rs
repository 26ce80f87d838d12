//! Shared helpers of zkinf's end-to-end tests.

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A bundled model file under `models/digits/`.
pub fn digits(name: &str) -> PathBuf {
    root().join("models").join("digits").join(name)
}

/// Flattens a nested JSON array of numbers.
pub fn flat(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().expect("number")],
        other => panic!("unexpected JSON {other}"),
    }
}

/// A bundled `<model>.samples.json`: inputs and onnxruntime's outputs.
pub struct Samples {
    pub input: String,
    pub inputs: Vec<Vec<f64>>,
    pub outputs: Vec<Vec<f64>>,
}

pub fn samples(model: &str) -> Samples {
    let text =
        std::fs::read_to_string(digits(&format!("{model}.samples.json"))).expect("samples file");
    let v: serde_json::Value = serde_json::from_str(&text).expect("samples JSON");
    Samples {
        input: v["input"].as_str().expect("input name").to_string(),
        inputs: v["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(flat)
            .collect(),
        outputs: v["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .map(flat)
            .collect(),
    }
}

pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

pub mod conformance;

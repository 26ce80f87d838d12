//! `zkinf infer` semantics against onnxruntime on the bundled digits models:
//! int8 models must agree bit for bit (every output equals onnxruntime's
//! float32 output, hence every integer before dequantization); float models
//! must agree on the predicted digit for >= 99% of samples.

use zkinf_circuits::{dequantize_output, execute, quantize_input};
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_tests::{argmax, digits, samples};

fn run_model(model: &str) -> (Vec<Vec<f64>>, zkinf_compiler::Report) {
    let compiled = compile_file(
        &digits(&format!("{model}.onnx")),
        &CompileOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{model}: {e}"));
    let plan = compiled.plan;
    let s = samples(model);
    assert_eq!(plan.inputs.len(), 1);
    assert_eq!(plan.inputs[0].name, s.input);
    let outs = s
        .inputs
        .iter()
        .map(|x| {
            let q = quantize_input(&plan.inputs[0], x).unwrap();
            let trace = execute(&plan, vec![q]).unwrap();
            let out = &plan.outputs[0];
            dequantize_output(out, trace.get(out.tensor))
                .iter()
                .copied()
                .collect()
        })
        .collect();
    (outs, compiled.report)
}

fn assert_exact(model: &str) {
    let (ours, report) = run_model(model);
    let s = samples(model);
    assert!(s.outputs.len() >= 100, "at least 100 digits");
    assert_eq!(report.quantization.mode, "exact-int8");
    let mut mismatches = 0;
    for (i, (o, r)) in ours.iter().zip(&s.outputs).enumerate() {
        for (k, (a, b)) in o.iter().zip(r).enumerate() {
            if (*a as f32).to_bits() != (*b as f32).to_bits() {
                mismatches += 1;
                eprintln!("{model} sample {i} output {k}: zkinf {a} onnxruntime {b}");
            }
        }
    }
    assert_eq!(mismatches, 0, "{model}: outputs differ from onnxruntime");
    println!(
        "{model}: {} samples x {} outputs identical to onnxruntime",
        ours.len(),
        ours[0].len()
    );
}

#[test]
fn mlp_int8_qdq_matches_onnxruntime_exactly() {
    assert_exact("mlp_int8_qdq");
}

#[test]
fn mlp_uint8_qdq_per_channel_matches_onnxruntime_exactly() {
    assert_exact("mlp_uint8_qdq_pc");
}

#[test]
fn mlp_uint8_qoperator_matches_onnxruntime_exactly() {
    assert_exact("mlp_uint8_qop");
}

#[test]
fn mlp_matmul_uint8_qoperator_matches_onnxruntime_exactly() {
    assert_exact("mlp_matmul_uint8_qop");
}

#[test]
fn cnn_int8_qdq_matches_onnxruntime_exactly() {
    assert_exact("cnn_int8_qdq");
}

#[test]
fn cnn_uint8_qoperator_matches_onnxruntime_exactly() {
    assert_exact("cnn_uint8_qop");
}

#[test]
fn cnn_int8_qoperator_matches_onnxruntime_exactly() {
    assert_exact("cnn_int8_qop");
}

fn assert_calibrated(model: &str) {
    let (ours, report) = run_model(model);
    let s = samples(model);
    assert_eq!(report.quantization.mode, "calibrated");
    let agree = ours
        .iter()
        .zip(&s.outputs)
        .filter(|(o, r)| argmax(o) == argmax(r))
        .count();
    let max_err = ours
        .iter()
        .zip(&s.outputs)
        .flat_map(|(o, r)| o.iter().zip(r).map(|(a, b)| (a - b).abs()))
        .fold(0f64, f64::max);
    let share = agree as f64 / ours.len() as f64;
    println!("{model}: argmax agreement {:.1}% on {} digits, max abs error {max_err:.4} (report: {:.4} on calibration data)", 100.0 * share, ours.len(), report.quantization.max_abs_error);
    assert!(share >= 0.99, "{model}: argmax agreement {share}");
    assert!(report.quantization.argmax_agreement >= 0.99);
}

#[test]
fn mlp_float_agrees_with_onnxruntime() {
    assert_calibrated("mlp_float");
}

#[test]
fn mlp_matmul_float_agrees_with_onnxruntime() {
    assert_calibrated("mlp_matmul_float");
}

#[test]
fn cnn_float_agrees_with_onnxruntime() {
    assert_calibrated("cnn_float");
}

//! `onnx-conformance [DIR] [-v]`: runs ONNX's node tests through zkinf and
//! prints `N passed, N failed, N skipped`. DIR defaults to
//! `.cache/onnx-node-tests` (see scripts/fetch-onnx-conformance.sh).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v" || a == "--verbose");
    let dir = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| zkinf_tests::root().join(".cache/onnx-node-tests"));
    if !dir.is_dir() {
        eprintln!(
            "error: {} does not exist; run scripts/fetch-onnx-conformance.sh",
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let t = zkinf_tests::conformance::run_all(&dir, verbose);
    println!(
        "onnx conformance: {} passed, {} failed, {} skipped",
        t.passed.len(),
        t.failed.len(),
        t.skipped.len()
    );
    if t.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

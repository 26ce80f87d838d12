//! ONNX's own node tests (from the onnx==1.22.0 wheel, fetched by
//! scripts/fetch-onnx-conformance.sh): every test whose ops zkinf supports
//! must pass.

#[test]
fn onnx_node_tests_supported_subset_passes() {
    let dir = std::env::var_os("ZKINF_ONNX_NODE_TESTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| zkinf_tests::root().join(".cache/onnx-node-tests"));
    if !dir.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: .ci/run must fetch it (scripts/fetch-onnx-conformance.sh)",
            dir.display()
        );
        eprintln!(
            "skipping: {} is missing; run scripts/fetch-onnx-conformance.sh",
            dir.display()
        );
        return;
    }
    let t = zkinf_tests::conformance::run_all(&dir, false);
    println!(
        "onnx conformance: {} passed, {} failed, {} skipped",
        t.passed.len(),
        t.failed.len(),
        t.skipped.len()
    );
    assert!(t.failed.is_empty(), "failed: {:?}", t.failed);
    // guards against a runner that silently skips everything
    assert!(
        t.passed.len() >= 140,
        "only {} node tests passed",
        t.passed.len()
    );
    for must in [
        "test_qlinearmatmul_2D_uint8_float32",
        "test_qlinearconv",
        "test_matmulinteger",
        "test_convinteger_with_padding",
        "test_quantizelinear",
        "test_dequantizelinear_axis",
        "test_gemm_all_attributes",
        "test_maxpool_2d_ceil",
        "test_softmax_axis_0",
        "test_batchnorm_example",
    ] {
        assert!(t.passed.iter().any(|p| p == must), "{must} did not pass");
    }
}

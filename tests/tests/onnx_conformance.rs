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
        t.passed.len() >= 395,
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
        // transformer layers (issue 23): RMSNormalization, division by a
        // computed tensor, attention as ONNX expands it (masks, GQA)
        "test_rms_normalization_default_axis",
        "test_rms_normalization_3d_axis2_epsilon",
        "test_div_bcast",
        "test_flexattention_gqa_expanded_ver26",
        "test_flexattention_expanded_ver26",
        // the op families of issue 22
        "test_averagepool_1d_default",
        "test_averagepool_3d_default",
        "test_maxpool_1d_default",
        "test_maxpool_3d_dilations",
        "test_convtranspose",
        "test_convtranspose_1d",
        "test_convtranspose_group_2",
        "test_reflect_pad",
        "test_edge_pad",
        "test_constant_pad_axes",
        "test_slice_neg_steps",
        "test_split_variable_parts_2d_opset18",
        "test_expand_dim_changed",
        "test_tile",
        "test_gather_negative_indices",
        "test_globalmaxpool",
        "test_leakyrelu",
        "test_selu",
        "test_elu",
        "test_exp",
        "test_neg",
        "test_abs",
        "test_sign",
        "test_softsign",
        "test_thresholdedrelu",
        "test_max_example",
        "test_min_two_inputs",
        "test_sum_example",
        "test_mean_example",
        "test_logsoftmax_axis_1",
        "test_logsoftmax_large_number",
        "test_reduce_mean_keepdims_random",
        "test_reduce_sum_negative_axes_keepdims_random",
        "test_convtranspose_3d",
        "test_convtranspose_output_shape",
        "test_convtranspose_autopad_same",
        "test_instancenorm_example",
        "test_max_int8",
        "test_reduce_max_do_not_keepdims_random",
        "test_logsoftmax_axis_1_expanded",
    ] {
        assert!(t.passed.iter().any(|p| p == must), "{must} did not pass");
    }
}

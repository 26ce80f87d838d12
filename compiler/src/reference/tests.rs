//! The float reference against hand-computed values.
use super::*;
use crate::onnx::AttributeProto;

fn t(shape: &[usize], v: &[f64]) -> Tensor {
    ArrayD::from_shape_vec(IxDyn(shape), v.to_vec()).unwrap()
}
fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        ..Default::default()
    }
}
fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i,
        ..Default::default()
    }
}
fn text(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

/// Runs one node (inputs `i0`, `i1`, ...; `None` leaves an input out).
/// Evaluates one node on inputs `i0`, `i1`, ... (`None` leaves one out).
fn node_outs(
    op: &str,
    opset: i64,
    ins: &[Option<Tensor>],
    attrs: Vec<AttributeProto>,
    outs: usize,
) -> Result<Vec<(Tensor, DType)>, String> {
    let name = |k: usize| format!("i{k}");
    let node = NodeProto {
        op_type: op.into(),
        input: (0..ins.len())
            .map(|k| ins[k].as_ref().map_or(String::new(), |_| name(k)))
            .collect(),
        output: (0..outs).map(|k| format!("o{k}")).collect(),
        attribute: attrs,
        ..Default::default()
    };
    let env: Env = (0..ins.len())
        .filter_map(|k| ins[k].clone().map(|v| (name(k), v)))
        .collect();
    let model = LoadedModel {
        name: "t".into(),
        opset,
        inputs: vec![],
        outputs: vec![],
        consts: HashMap::new(),
        nodes: vec![],
        bodies: HashMap::new(),
    };
    eval(&model, &node, &env, &HashMap::new(), &HashMap::new())
}
fn node1(op: &str, opset: i64, ins: &[Option<Tensor>], attrs: Vec<AttributeProto>) -> Tensor {
    node_outs(op, opset, ins, attrs, 1).unwrap().remove(0).0
}
fn close(a: &Tensor, shape: &[usize], want: &[f64]) {
    assert_eq!(a.shape(), shape);
    for (g, w) in a.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{a:?} != {want:?}");
    }
}

#[test]
fn conv1d_by_hand() {
    let x = t(&[1, 1, 5], &[1., 2., 3., 4., 5.]);
    let w = t(&[1, 1, 3], &[1., 0., -1.]);
    let b = t(&[1], &[0.5]);
    let at = vec![ints("pads", &[1, 1]), ints("strides", &[2])];
    // padded [0 1 2 3 4 5 0]: x[i-1] - x[i+1] at 0, 2, 4, plus the bias
    let y = node1("Conv", 17, &[Some(x.clone()), Some(w.clone()), Some(b)], at);
    close(&y, &[1, 1, 3], &[-1.5, -1.5, 4.5]);
    let y = node1(
        "Conv",
        17,
        &[Some(x), Some(w)],
        vec![ints("dilations", &[2])],
    );
    close(&y, &[1, 1, 1], &[1. - 5.]);
}

#[test]
fn conv2d_matches_the_direct_sum() {
    // groups 2, stride 2x1, dilation 1x2, asymmetric pads
    let (n, c, h, wd, m, k) = (2, 4, 5, 6, 4, 3);
    let x = t(
        &[n, c, h, wd],
        &(0..n * c * h * wd)
            .map(|i| ((i * 7) % 11) as f64 - 5.)
            .collect::<Vec<_>>(),
    );
    let w = t(
        &[m, c / 2, k, k],
        &(0..m * c / 2 * k * k)
            .map(|i| ((i * 5) % 7) as f64 - 3.)
            .collect::<Vec<_>>(),
    );
    let (s, d, p) = ([2, 1], [1, 2], [1, 0, 0, 2]);
    let at = vec![
        ints("strides", &s),
        ints("dilations", &d),
        ints("pads", &p),
        int("group", 2),
    ];
    let y = node1("Conv", 17, &[Some(x.clone()), Some(w.clone())], at);
    let (oh, ow) = ((h + 1 - 3) / 2 + 1, (wd + 2 - 5) + 1);
    assert_eq!(y.shape(), [n, m, oh, ow]);
    for (bn, o, oy, ox) in ndarray::indices((n, m, oh, ow)).into_iter() {
        let mut acc = 0.0;
        for (ci, ky, kx) in ndarray::indices((c / 2, k, k)).into_iter() {
            let iy = (oy * 2 + ky) as i64 - 1;
            let ix = (ox + kx * 2) as i64;
            if (0..h as i64).contains(&iy) && (0..wd as i64).contains(&ix) {
                let ch = (o / 2) * 2 + ci;
                acc += x[[bn, ch, iy as usize, ix as usize]] * w[[o, ci, ky, kx]];
            }
        }
        assert_eq!(y[[bn, o, oy, ox]], acc);
    }
}

#[test]
fn pools_in_three_dimensions() {
    let x = t(
        &[1, 1, 2, 3, 3],
        &(0..18).map(f64::from).collect::<Vec<_>>(),
    );
    let y = node1(
        "MaxPool",
        17,
        &[Some(x.clone())],
        vec![ints("kernel_shape", &[2, 2, 2])],
    );
    close(&y, &[1, 1, 1, 2, 2], &[13., 14., 16., 17.]);
    // ceil mode adds a last window that starts inside the input
    let at = vec![
        ints("kernel_shape", &[1, 2, 2]),
        ints("strides", &[1, 2, 2]),
        int("ceil_mode", 1),
    ];
    let y = node1("MaxPool", 17, &[Some(x.clone())], at);
    close(&y, &[1, 1, 2, 2, 2], &[4., 5., 7., 8., 13., 14., 16., 17.]);
    // count_include_pad divides by the whole window, else by the taps inside
    let at = |inc| {
        vec![
            ints("kernel_shape", &[1, 1, 2]),
            ints("pads", &[0, 0, 1, 0, 0, 0]),
            int("count_include_pad", inc),
        ]
    };
    let y = node1("AveragePool", 17, &[Some(x.clone())], at(1));
    assert_eq!(
        (y.shape(), y[[0, 0, 0, 0, 0]], y[[0, 0, 0, 0, 1]]),
        (&[1, 1, 2, 3, 3][..], 0.0, 0.5)
    );
    let y = node1("AveragePool", 17, &[Some(x.clone())], at(0));
    assert_eq!(
        (y[[0, 0, 0, 0, 0]], y[[0, 0, 0, 0, 1]]),
        (0.0, 0.5 * 1.0 / 0.5 * 0.5)
    );
    let y = node1("GlobalMaxPool", 17, &[Some(x.clone())], vec![]);
    close(&y, &[1, 1, 1, 1, 1], &[17.]);
    let y = node1("GlobalAveragePool", 17, &[Some(x)], vec![]);
    close(&y, &[1, 1, 1, 1, 1], &[8.5]);
}

#[test]
fn conv_transpose_stride_two_by_hand() {
    let x = t(&[1, 1, 2, 2], &[1., 2., 3., 4.]);
    let w = t(&[1, 1, 3, 3], &[1.; 9]);
    // output o = 2 i + k: rows 0-1 see input row 0, row 2 both, rows 3-4 row 1
    let y = node1(
        "ConvTranspose",
        17,
        &[Some(x.clone()), Some(w.clone())],
        vec![ints("strides", &[2, 2])],
    );
    #[rustfmt::skip]
    let want = [1., 1., 3., 2., 2., 1., 1., 3., 2., 2., 4., 4., 10., 6., 6., 3., 3., 7., 4., 4., 3., 3., 7., 4., 4.];
    close(&y, &[1, 1, 5, 5], &want);
    let at = vec![
        ints("strides", &[2, 2]),
        ints("pads", &[1, 1, 1, 1]),
        ints("output_padding", &[1, 1]),
    ];
    let y = node1("ConvTranspose", 17, &[Some(x.clone()), Some(w.clone())], at);
    close(
        &y,
        &[1, 1, 4, 4],
        &[
            1., 3., 2., 2., 4., 10., 6., 6., 3., 7., 4., 4., 3., 7., 4., 4.,
        ],
    );
    let at = vec![
        ints("strides", &[2, 2]),
        ints("output_shape", &[4, 4]),
        text("auto_pad", "SAME_LOWER"),
    ];
    let y = node1("ConvTranspose", 17, &[Some(x.clone()), Some(w.clone())], at);
    close(
        &y,
        &[1, 1, 4, 4],
        &[
            1., 3., 2., 2., 4., 10., 6., 6., 3., 7., 4., 4., 3., 7., 4., 4.,
        ],
    );
    // 1-D, two groups, bias: group g scatters channel g into output channel g
    let x = t(&[1, 2, 2], &[1., 2., 10., 20.]);
    let w = t(&[2, 1, 2], &[1., -1., 2., 3.]);
    let b = t(&[2], &[0.5, -0.5]);
    let y = node1(
        "ConvTranspose",
        17,
        &[Some(x), Some(w), Some(b)],
        vec![int("group", 2)],
    );
    close(&y, &[1, 2, 3], &[1.5, 1.5, -1.5, 19.5, 69.5, 59.5]);
}

#[test]
fn pad_modes() {
    let x = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
    let pads = t(&[4], &[0., 2., 0., 1.]);
    let m = |mode| vec![text("mode", mode)];
    let y = node1(
        "Pad",
        17,
        &[Some(x.clone()), Some(pads.clone())],
        m("reflect"),
    );
    close(
        &y,
        &[2, 6],
        &[3., 2., 1., 2., 3., 2., 6., 5., 4., 5., 6., 5.],
    );
    let y = node1("Pad", 17, &[Some(x.clone()), Some(pads.clone())], m("edge"));
    close(
        &y,
        &[2, 6],
        &[1., 1., 1., 2., 3., 3., 4., 4., 4., 5., 6., 6.],
    );
    // negative pads crop; a constant value; axes (opset 18)
    let pads = t(&[2], &[-1., 1.]);
    let (v, axes) = (t(&[], &[9.]), t(&[1], &[1.]));
    let y = node1(
        "Pad",
        18,
        &[Some(x.clone()), Some(pads), Some(v), Some(axes)],
        vec![],
    );
    close(&y, &[2, 3], &[2., 3., 9., 5., 6., 9.]);
    let y = node1("Pad", 2, &[Some(x)], vec![ints("pads", &[1, 0, 0, 0])]);
    close(&y, &[3, 3], &[0., 0., 0., 1., 2., 3., 4., 5., 6.]);
}

#[test]
fn slice_with_negative_steps() {
    let x = t(&[2, 5], &(0..10).map(f64::from).collect::<Vec<_>>());
    let s = |v: &[f64]| Some(t(&[v.len()], v));
    let y = node1(
        "Slice",
        13,
        &[Some(x.clone()), s(&[4.]), s(&[0.]), s(&[1.]), s(&[-2.])],
        vec![],
    );
    close(&y, &[2, 2], &[4., 2., 9., 7.]);
    // out-of-range bounds clamp: the whole axis reversed
    let (lo, hi) = (i64::MIN as f64, i64::MAX as f64);
    let y = node1(
        "Slice",
        13,
        &[
            Some(x.clone()),
            s(&[hi, -1.]),
            s(&[lo, -2.]),
            s(&[1., 0.]),
            s(&[-1., -1.]),
        ],
        vec![],
    );
    close(&y, &[1, 5], &[9., 8., 7., 6., 5.]);
    let y = node1("Slice", 13, &[Some(x.clone()), s(&[-2.]), s(&[hi])], vec![]);
    close(&y, &[2, 5], &(0..10).map(f64::from).collect::<Vec<_>>());
    let at = vec![
        ints("starts", &[1]),
        ints("ends", &[-1]),
        ints("axes", &[1]),
    ];
    close(
        &node1("Slice", 9, &[Some(x)], at),
        &[2, 3],
        &[1., 2., 3., 6., 7., 8.],
    );
}

#[test]
fn log_softmax() {
    let x = t(&[1, 3], &[1., 2., 3.]);
    let lse = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
    let y = node1("LogSoftmax", 13, &[Some(x)], vec![]);
    close(&y, &[1, 3], &[1. - lse, 2. - lse, 3. - lse]);
    // opset < 13: coerced to 2-D at axis 0, i.e. over the whole tensor
    let x = t(&[2, 1], &[0., 0.]);
    let y = node1("LogSoftmax", 11, &[Some(x.clone())], vec![int("axis", 0)]);
    close(&y, &[2, 1], &[-(2f64.ln()), -(2f64.ln())]);
    close(
        &node1("LogSoftmax", 13, &[Some(x)], vec![int("axis", 0)]),
        &[2, 1],
        &[-(2f64.ln()); 2],
    );
}

#[test]
fn gather_negative_indices() {
    let x = t(&[3, 2], &[1., 2., 3., 4., 5., 6.]);
    let y = node1(
        "Gather",
        13,
        &[Some(x.clone()), Some(t(&[2], &[-1., 0.]))],
        vec![],
    );
    close(&y, &[2, 2], &[5., 6., 1., 2.]);
    let y = node1(
        "Gather",
        13,
        &[Some(x.clone()), Some(t(&[1, 1], &[-2.]))],
        vec![int("axis", 1)],
    );
    close(&y, &[3, 1, 1], &[1., 3., 5.]);
    assert!(node_outs("Gather", 13, &[Some(x), Some(t(&[1], &[-4.]))], vec![], 1).is_err());
}

#[test]
fn reductions_and_argmax() {
    let x = t(&[2, 3], &[1., -2., 3., 4., 5., -6.]);
    let axes = Some(t(&[1], &[-1.]));
    let y = node1("ReduceSum", 13, &[Some(x.clone()), axes.clone()], vec![]);
    close(&y, &[2, 1], &[2., 3.]);
    let y = node1(
        "ReduceL2",
        18,
        &[Some(x.clone()), axes.clone()],
        vec![int("keepdims", 0)],
    );
    close(&y, &[2], &[14f64.sqrt(), 77f64.sqrt()]);
    close(
        &node1(
            "ReduceMax",
            13,
            &[Some(x.clone())],
            vec![ints("axes", &[0])],
        ),
        &[1, 3],
        &[4., 5., 3.],
    );
    close(
        &node1("ReduceProd", 17, &[Some(x.clone())], vec![]),
        &[1, 1],
        &[720.],
    );
    let y = node1(
        "ReduceLogSumExp",
        13,
        &[Some(x.clone())],
        vec![int("keepdims", 0)],
    );
    close(&y, &[], &[x.iter().map(|v| v.exp()).sum::<f64>().ln()]);
    let y = node1(
        "ReduceMean",
        18,
        &[Some(x.clone())],
        vec![int("noop_with_empty_axes", 1)],
    );
    assert_eq!(y, x);
    let x = t(&[4], &[1., 3., 3., 0.]);
    close(
        &node1("ArgMax", 13, &[Some(x.clone())], vec![]),
        &[1],
        &[1.],
    );
    let at = vec![int("select_last_index", 1), int("keepdims", 0)];
    close(&node1("ArgMax", 13, &[Some(x)], at), &[], &[2.]);
}

#[test]
fn elementwise_ops() {
    let x = t(&[5], &[-2.5, -0.5, 0., 0.5, 2.5]);
    let u = |op: &str| node1(op, 17, &[Some(x.clone())], vec![]);
    close(&u("Round"), &[5], &[-2., -0., 0., 0., 2.]);
    close(&u("Sign"), &[5], &[-1., -1., 0., 1., 1.]);
    close(
        &u("LeakyRelu"),
        &[5],
        &x.mapv(|v| if v < 0. { v * 0.01f32 as f64 } else { v })
            .into_raw_vec_and_offset()
            .0,
    );
    close(
        &u("HardSigmoid"),
        &[5],
        &x.mapv(|v| (v * 0.2f32 as f64 + 0.5).clamp(0., 1.))
            .into_raw_vec_and_offset()
            .0,
    );
    close(&u("Shrink"), &[5], &[-2.5, 0., 0., 0., 2.5]);
    close(&u("ThresholdedRelu"), &[5], &[0., 0., 0., 0., 2.5]);
    close(
        &u("Softsign"),
        &[5],
        &[-2.5 / 3.5, -0.5 / 1.5, 0., 0.5 / 1.5, 2.5 / 3.5],
    );
    let selu = u("Selu");
    assert!((selu[[4]] - 2.5 * 1.050_701_022_148_132_3).abs() < 1e-12);
    assert!((u("Erf")[[4]] - 0.999_593_047_982_555).abs() < 1e-12);
    assert!((u("Mish")[[4]] - 2.5 * (1. + 2.5f64.exp()).ln().tanh()).abs() < 1e-12);
    let y = node1(
        "PRelu",
        17,
        &[Some(x.clone()), Some(t(&[1], &[0.1]))],
        vec![],
    );
    close(&y, &[5], &[-0.25, -0.05, 0., 0.5, 2.5]);
    let a = t(&[2, 1], &[1., 4.]);
    let y = node1(
        "Mean",
        17,
        &[Some(x.clone()), Some(a.clone()), Some(t(&[], &[1.]))],
        vec![],
    );
    assert_eq!((y.shape(), y[[1, 4]]), (&[2, 5][..], 2.5));
    close(
        &node1(
            "Max",
            17,
            &[Some(a.clone()), Some(t(&[2], &[2., 3.]))],
            vec![],
        ),
        &[2, 2],
        &[2., 3., 4., 4.],
    );
    let c = node_outs(
        "Less",
        17,
        &[Some(x.clone()), Some(t(&[], &[0.]))],
        vec![],
        1,
    )
    .unwrap();
    assert_eq!(
        c[0].0.iter().copied().collect::<Vec<_>>(),
        [1., 1., 0., 0., 0.]
    );
    let y = node1(
        "Where",
        17,
        &[Some(c[0].0.clone()), Some(x.clone()), Some(t(&[1], &[7.]))],
        vec![],
    );
    close(&y, &[5], &[-2.5, -0.5, 7., 7., 7.]);
    let y = node1(
        "Cast",
        17,
        &[Some(t(&[4], &[-2.7, 2.7, 300., -1.]))],
        vec![int("to", 2)],
    );
    close(&y, &[4], &[254., 2., 44., 255.]);
}

#[test]
fn normalizations_and_layout() {
    let x = t(&[1, 2, 2], &[1., 3., 0., 4.]);
    let y = node1(
        "InstanceNormalization",
        17,
        &[
            Some(x.clone()),
            Some(t(&[2], &[1., 2.])),
            Some(t(&[2], &[0., 1.])),
        ],
        vec![],
    );
    let k = 1. / (1. + 1e-5f32 as f64).sqrt();
    let k2 = 2. * 2. / (4. + 1e-5f32 as f64).sqrt();
    close(&y, &[1, 2, 2], &[-k, k, 1. - k2, 1. + k2]);
    let outs = node_outs(
        "LayerNormalization",
        17,
        &[Some(x.clone()), Some(t(&[2], &[1., 2.]))],
        vec![],
        3,
    )
    .unwrap();
    let k4 = 2. / (4. + 1e-5f32 as f64).sqrt();
    close(&outs[0].0, &[1, 2, 2], &[-k, 2. * k, -k4, 2. * k4]);
    close(&outs[1].0, &[1, 2, 1], &[2., 2.]);
    let parts = node_outs(
        "Split",
        18,
        &[Some(t(&[5], &[1., 2., 3., 4., 5.]))],
        vec![int("num_outputs", 2)],
        2,
    )
    .unwrap();
    close(&parts[0].0, &[3], &[1., 2., 3.]);
    close(&parts[1].0, &[2], &[4., 5.]);
    let parts = node_outs(
        "Split",
        13,
        &[Some(x.clone()), Some(t(&[2], &[1., 1.]))],
        vec![int("axis", -1)],
        2,
    )
    .unwrap();
    close(&parts[1].0, &[1, 2, 1], &[3., 4.]);
    let y = node1(
        "Expand",
        13,
        &[Some(t(&[2, 1], &[1., 2.])), Some(t(&[3], &[2., 1., 3.]))],
        vec![],
    );
    assert_eq!((y.shape(), y[[1, 1, 2]]), (&[2, 2, 3][..], 2.));
    let y = node1(
        "Tile",
        13,
        &[Some(t(&[1, 2], &[1., 2.])), Some(t(&[2], &[2., 2.]))],
        vec![],
    );
    close(&y, &[2, 4], &[1., 2., 1., 2., 1., 2., 1., 2.]);
}

#[test]
fn casts_round_and_integer_division_truncates() {
    let cast = |to: i64, v: &[f64]| {
        let (y, dt) = node_outs(
            "Cast",
            19,
            &[Some(t(&[v.len()], v))],
            vec![int("to", to)],
            1,
        )
        .unwrap()
        .remove(0);
        (y.into_raw_vec_and_offset().0, dt)
    };
    // float16: 10 fraction bits, overflow from 65520; bfloat16: 7 bits, ties to even
    let (h, dt) = cast(10, &[0.1, 65519., 65520., -1e-8]);
    assert_eq!(
        (h, dt),
        (
            vec![0.0999755859375, 65504., f64::INFINITY, -0.0],
            DType::F16
        )
    );
    let bf = cast(16, &[1. + 2f64.powi(-8), 1. + 3. * 2f64.powi(-9), 3e38]).0;
    assert_eq!(bf, [1., 1. + 2f64.powi(-7), 1.765625 * 2f64.powi(127)]);
    assert_eq!(cast(9, &[0., -0.5, 2.]).0, [0., 1., 1.]);
    assert_eq!(cast(7, &[-2.7, 1e30]).0, [-2., i64::MAX as f64]);
    // Div of integer tensors truncates toward zero
    let mut m = LoadedModel {
        name: "t".into(),
        opset: 17,
        inputs: vec![],
        outputs: vec![],
        consts: HashMap::new(),
        bodies: HashMap::new(),
        nodes: vec![NodeProto {
            op_type: "Div".into(),
            input: vec!["a".into(), "b".into()],
            output: vec!["y".into()],
            ..Default::default()
        }],
    };
    for (name, v) in [("a", [-7., 7.]), ("b", [2., 2.])] {
        let c = crate::value::ConstTensor {
            dtype: DType::I32,
            shape: vec![2],
            data: v.to_vec(),
        };
        m.consts.insert(name.into(), c);
    }
    let env = run(&m, &HashMap::new()).unwrap();
    assert_eq!(env["y"].iter().copied().collect::<Vec<_>>(), [-3., 3.]);
}

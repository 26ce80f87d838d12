//! The bundled int8 digits MLP as one shard circuit: MockProver accepts the
//! executor's witness with the native commitments as public inputs, rejects
//! a wrong output claim, and a real KZG/SHPLONK proof verifies.

use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use zkinf_circuits::shard::ShardCircuit;
use zkinf_circuits::{execute, quantize_input};
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_tests::{digits, samples};

/// MockProver accepts the executor's witness for `input` with the native
/// commitments as public values, and rejects a wrong output claim.
fn assert_shard_accepts(plan: zkinf_circuits::CheckedPlan, input: &[f64]) {
    let q = quantize_input(&plan.inputs[0], input).unwrap();
    let trace = execute(&plan, vec![q]).unwrap();
    let circuit = ShardCircuit::new(plan, 0, Some(&trace)).unwrap();
    let inst = circuit.instances().unwrap();
    let k = circuit.k();
    assert_eq!(
        MockProver::run(k, &circuit, vec![inst.clone()])
            .unwrap()
            .verify(),
        Ok(())
    );
    let mut wrong = inst;
    wrong[3] += Fr::ONE;
    assert!(MockProver::run(k, &circuit, vec![wrong])
        .unwrap()
        .verify()
        .is_err());
}

fn mlp_circuit(sample: usize) -> ShardCircuit {
    let compiled = compile_file(&digits("mlp_int8_qdq.onnx"), &CompileOptions::default()).unwrap();
    let plan = compiled.plan;
    let s = samples("mlp_int8_qdq");
    let q = quantize_input(&plan.inputs[0], &s.inputs[sample]).unwrap();
    let trace = execute(&plan, vec![q]).unwrap();
    ShardCircuit::new(plan, 0, Some(&trace)).unwrap()
}

#[test]
fn mlp_shard_is_accepted_with_its_commitments() {
    let c = mlp_circuit(0);
    let inst = c.instances().unwrap();
    let k = c.k();
    println!("mlp shard: k = {k}");
    assert!(k <= 13, "k = {k}");
    assert_eq!(
        MockProver::run(k, &c, vec![inst.clone()]).unwrap().verify(),
        Ok(())
    );
    // another digit has another input and output commitment
    let other = mlp_circuit(1).instances().unwrap();
    assert_eq!(other[0], inst[0], "same model");
    assert_ne!(other[2], inst[2]);
    for row in [0usize, 1, 2, 3] {
        let mut wrong = inst.clone();
        wrong[row] += Fr::ONE;
        assert!(
            MockProver::run(k, &c, vec![wrong])
                .unwrap()
                .verify()
                .is_err(),
            "instance row {row}"
        );
    }
}

#[test]
fn mlp_shard_real_proof() {
    use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof, Circuit};
    use halo2_proofs::poly::commitment::ParamsProver;
    use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
    use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_proofs::poly::kzg::strategy::SingleStrategy;
    use halo2_proofs::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
    };
    use rand::SeedableRng;

    let c = mlp_circuit(0);
    let inst = c.instances().unwrap();
    let k = c.k();
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let t = std::time::Instant::now();
    let params = ParamsKZG::<Bn256>::setup(k, &mut rng);
    let vk = keygen_vk(&params, &c.without_witnesses()).unwrap();
    let pk = keygen_pk(&params, vk, &c.without_witnesses()).unwrap();
    let setup = t.elapsed();
    let t = std::time::Instant::now();
    let mut tr = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &params,
        &pk,
        &[c],
        &[&[&inst]],
        &mut rng,
        &mut tr,
    )
    .unwrap();
    let proof = tr.finalize();
    let prove = t.elapsed();
    let verify = |inst: &[Fr], proof: &[u8]| {
        let mut tr = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            pk.get_vk(),
            SingleStrategy::new(&params),
            &[&[inst]],
            &mut tr,
        )
    };
    assert!(verify(&inst, &proof).is_ok());
    println!(
        "mlp shard k={k}: setup+keygen {setup:?}, prove {prove:?}, proof {} bytes",
        proof.len()
    );
    let mut wrong = inst.clone();
    wrong[3] += Fr::ONE;
    assert!(
        verify(&wrong, &proof).is_err(),
        "a different claimed output"
    );
    let mut bad = proof.clone();
    bad[100] ^= 4;
    assert!(verify(&inst, &bad).is_err(), "a flipped proof byte");
}

fn cnn_circuit(model: &str, sample: usize) -> ShardCircuit {
    let compiled = compile_file(
        &digits(&format!("{model}.onnx")),
        &CompileOptions::default(),
    )
    .unwrap();
    let plan = compiled.plan;
    let s = samples(model);
    let q = quantize_input(&plan.inputs[0], &s.inputs[sample]).unwrap();
    let trace = execute(&plan, vec![q]).unwrap();
    ShardCircuit::new(plan, 0, Some(&trace)).unwrap()
}

#[test]
fn int8_and_calibrated_shards_are_accepted_and_wrong_claims_rejected() {
    for model in [
        "cnn_int8_qdq",
        "cnn_uint8_qop",
        "cnn_float",
        "mlp_float",
        "mlp_uint8_qdq_pc",
        "mlp_uint8_qop",
        "mlp_matmul_uint8_qop",
        "mlp_matmul_float",
    ] {
        let c = cnn_circuit(model, 0);
        let inst = c.instances().unwrap();
        let k = c.k();
        println!("{model} shard: k = {k}");
        assert_eq!(
            MockProver::run(k, &c, vec![inst.clone()]).unwrap().verify(),
            Ok(()),
            "{model}"
        );
        let mut wrong = inst.clone();
        wrong[3] += Fr::ONE;
        assert!(MockProver::run(k, &c, vec![wrong])
            .unwrap()
            .verify()
            .is_err());
    }
}

#[test]
fn a_sigmoid_model_proves_through_the_lookup_table() {
    use std::collections::BTreeMap;
    use zkinf_tests::onnx_build::*;
    let w1: Vec<f32> = (0..32).map(|i| ((i * 7 % 13) as f32 - 6.0) / 6.0).collect();
    let w2: Vec<f32> = (0..12).map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0).collect();
    let m = model(
        vec![
            node("Gemm", &["x", "w1"], "h", vec![int_attr("transB", 1)]),
            node("Sigmoid", &["h"], "s", vec![]),
            node("Gemm", &["s", "w2"], "y", vec![int_attr("transB", 1)]),
        ],
        vec![floats("w1", &[4, 8], &w1), floats("w2", &[3, 4], &w2)],
        vec![float_input("x", &[1, 8])],
        vec![float_input("y", &[1, 3])],
    );
    let samples: Vec<BTreeMap<String, Vec<f64>>> = (0..16)
        .map(|k| {
            BTreeMap::from([(
                "x".to_string(),
                (0..8).map(|i| ((i * 3 + k) % 10) as f64 / 10.0).collect(),
            )])
        })
        .collect();
    let c = zkinf_compiler::compile(
        &m,
        "sigmoid.onnx",
        None,
        &CompileOptions {
            samples: Some(samples.clone()),
            ..CompileOptions::default()
        },
    )
    .unwrap();
    let plan = c.plan;
    assert!(plan
        .nodes
        .iter()
        .any(|n| matches!(n.op, zkinf_circuits::Op::Lookup { .. })));
    assert_shard_accepts(plan, &samples[3]["x"]);
}

#[test]
fn an_integer_clip_proves_through_the_rescale_chip() {
    use zkinf_tests::onnx_build::*;
    // x -> QuantizeLinear(int8) -> Clip(-20, 30) -> DequantizeLinear -> y
    let m = model(
        vec![
            node("QuantizeLinear", &["x", "s", "z"], "q", vec![]),
            node("Clip", &["q", "lo", "hi"], "c", vec![]),
            node("DequantizeLinear", &["c", "s", "z"], "y", vec![]),
        ],
        vec![
            floats("s", &[], &[0.05]),
            ints("z", 3, &[], &[0]),
            ints("lo", 3, &[], &[-20]),
            ints("hi", 3, &[], &[30]),
        ],
        vec![float_input("x", &[1, 6])],
        vec![float_input("y", &[1, 6])],
    );
    let plan = zkinf_compiler::compile(&m, "clip.onnx", None, &CompileOptions::default())
        .unwrap()
        .plan;
    assert!(plan
        .nodes
        .iter()
        .any(|n| matches!(n.op, zkinf_circuits::Op::Clamp { .. })));
    let q = quantize_input(&plan.inputs[0], &[-5.0, -1.0, 0.0, 0.5, 1.5, 5.0]).unwrap();
    let trace = execute(&plan, vec![q]).unwrap();
    let out: Vec<i64> = trace.get(plan.outputs[0].tensor).iter().copied().collect();
    assert_eq!(out, vec![-20, -20, 0, 10, 30, 30]);
    let circuit = ShardCircuit::new(plan, 0, Some(&trace)).unwrap();
    let inst = circuit.instances().unwrap();
    let k = circuit.k();
    assert_eq!(
        MockProver::run(k, &circuit, vec![inst.clone()])
            .unwrap()
            .verify(),
        Ok(())
    );
    let mut wrong = inst;
    wrong[3] += Fr::ONE;
    assert!(MockProver::run(k, &circuit, vec![wrong])
        .unwrap()
        .verify()
        .is_err());
}

#[test]
fn transpose_and_concat_are_wiring() {
    use std::collections::BTreeMap;
    use zkinf_tests::onnx_build::*;
    let perm = ints_attr("perm", &[1, 0]);
    let m = model(
        vec![
            node("Transpose", &["x"], "t", vec![perm]),
            node("Relu", &["t"], "r", vec![]),
            node("Concat", &["r", "t"], "c", vec![int_attr("axis", 1)]),
            node("Gemm", &["c", "w"], "y", vec![int_attr("transB", 1)]),
        ],
        vec![floats(
            "w",
            &[2, 8],
            &(0..16).map(|i| (i as f32 - 8.0) / 8.0).collect::<Vec<_>>(),
        )],
        vec![float_input("x", &[4, 3])],
        vec![float_input("y", &[3, 2])],
    );
    let samples: Vec<BTreeMap<String, Vec<f64>>> = (0..8)
        .map(|k| {
            BTreeMap::from([(
                "x".to_string(),
                (0..12)
                    .map(|i| ((i * 5 + k) % 9) as f64 / 4.0 - 1.0)
                    .collect(),
            )])
        })
        .collect();
    let plan = zkinf_compiler::compile(
        &m,
        "wiring.onnx",
        None,
        &CompileOptions {
            samples: Some(samples.clone()),
            ..CompileOptions::default()
        },
    )
    .unwrap()
    .plan;
    assert!(plan
        .nodes
        .iter()
        .any(|n| matches!(n.op, zkinf_circuits::Op::Transpose { .. })));
    assert!(plan
        .nodes
        .iter()
        .any(|n| matches!(n.op, zkinf_circuits::Op::Concat { .. })));
    assert_shard_accepts(plan, &samples[5]["x"]);
}

#[test]
fn elementwise_products_prove() {
    use std::collections::BTreeMap;
    use zkinf_tests::onnx_build::*;
    // y = (x * x_scaled) + x, with a broadcast constant factor
    let m = model(
        vec![
            node("Mul", &["x", "g"], "p", vec![]),
            node("Mul", &["p", "x"], "q", vec![]),
            node("Add", &["q", "x"], "y", vec![]),
        ],
        vec![floats("g", &[4], &[0.5, -1.0, 2.0, 0.25])],
        vec![float_input("x", &[2, 4])],
        vec![float_input("y", &[2, 4])],
    );
    let samples: Vec<BTreeMap<String, Vec<f64>>> = (0..8)
        .map(|k| {
            BTreeMap::from([(
                "x".to_string(),
                (0..8)
                    .map(|i| ((i * 3 + k) % 7) as f64 / 3.0 - 1.0)
                    .collect(),
            )])
        })
        .collect();
    let plan = zkinf_compiler::compile(
        &m,
        "mul.onnx",
        None,
        &CompileOptions {
            samples: Some(samples.clone()),
            ..CompileOptions::default()
        },
    )
    .unwrap()
    .plan;
    assert!(plan
        .nodes
        .iter()
        .any(|n| matches!(n.op, zkinf_circuits::Op::Mul { .. })));
    assert_shard_accepts(plan, &samples[2]["x"]);
}

/// A float model of one input `x` quantized on 8 deterministic samples;
/// returns the plan and a sample input.
fn calibrated(
    nodes: Vec<zkinf_compiler::onnx::NodeProto>,
    inits: Vec<zkinf_compiler::onnx::TensorProto>,
    x_shape: &[usize],
    y_shape: &[usize],
) -> (zkinf_circuits::CheckedPlan, Vec<f64>) {
    use std::collections::BTreeMap;
    use zkinf_tests::onnx_build::*;
    let m = model(
        nodes,
        inits,
        vec![float_input("x", x_shape)],
        vec![float_input("y", y_shape)],
    );
    let len: usize = x_shape.iter().product();
    let samples: Vec<BTreeMap<String, Vec<f64>>> = (0..8)
        .map(|k| {
            BTreeMap::from([(
                "x".to_string(),
                (0..len)
                    .map(|i| ((i * 7 + k * 3) % 11) as f64 / 5.0 - 1.0)
                    .collect(),
            )])
        })
        .collect();
    let plan = zkinf_compiler::compile(
        &m,
        "model.onnx",
        None,
        &CompileOptions {
            samples: Some(samples.clone()),
            ..CompileOptions::default()
        },
    )
    .unwrap()
    .plan;
    (plan, samples[3]["x"].clone())
}

#[test]
fn products_of_two_activations_prove() {
    use zkinf_tests::onnx_build::*;
    // x x^T, plain and batched (attention scores)
    for (shape, p, out) in [
        (vec![3, 4], vec![1, 0], vec![3, 3]),
        (vec![2, 3, 4], vec![0, 2, 1], vec![2, 3, 3]),
    ] {
        let (plan, x) = calibrated(
            vec![
                node("Transpose", &["x"], "t", vec![ints_attr("perm", &p)]),
                node("MatMul", &["x", "t"], "y", vec![]),
            ],
            vec![],
            &shape,
            &out,
        );
        assert!(plan
            .nodes
            .iter()
            .any(|n| matches!(n.op, zkinf_circuits::Op::MatMul { .. })
                && !matches!(
                    plan.nodes[n.inputs[1] as usize].op,
                    zkinf_circuits::Op::Const { .. }
                )));
        assert_shard_accepts(plan, &x);
    }
}

#[test]
fn grouped_depthwise_and_batched_convolutions_prove() {
    use zkinf_tests::onnx_build::*;
    let weights = |shape: &[usize]| {
        let n: usize = shape.iter().product();
        floats(
            "w",
            shape,
            &(0..n)
                .map(|i| ((i * 13 % 17) as f32 - 8.0) / 16.0)
                .collect::<Vec<_>>(),
        )
    };
    for (x_shape, w_shape, group, y_shape) in [
        (vec![1, 4, 5, 5], vec![4, 2, 3, 3], 2, vec![1, 4, 5, 5]),
        (vec![1, 4, 5, 5], vec![4, 1, 3, 3], 4, vec![1, 4, 5, 5]),
        (vec![2, 1, 4, 4], vec![2, 1, 3, 3], 1, vec![2, 2, 4, 4]),
    ] {
        let (plan, x) = calibrated(
            vec![node(
                "Conv",
                &["x", "w"],
                "y",
                vec![int_attr("group", group), ints_attr("pads", &[1, 1, 1, 1])],
            )],
            vec![weights(&w_shape)],
            &x_shape,
            &y_shape,
        );
        assert!(plan.nodes.iter().any(
            |n| matches!(n.op, zkinf_circuits::Op::Conv { group: g, .. } if g == group as usize)
        ));
        assert_shard_accepts(plan, &x);
    }
}

#[test]
fn batched_padded_max_pooling_proves() {
    use zkinf_tests::onnx_build::*;
    let (plan, x) = calibrated(
        vec![node(
            "MaxPool",
            &["x"],
            "y",
            vec![
                ints_attr("kernel_shape", &[2, 2]),
                ints_attr("pads", &[1, 1, 1, 1]),
                ints_attr("strides", &[1, 1]),
            ],
        )],
        vec![],
        &[2, 2, 4, 4],
        &[2, 2, 5, 5],
    );
    assert!(plan
        .nodes
        .iter()
        .any(|n| matches!(n.op, zkinf_circuits::Op::MaxPool { .. })));
    assert_shard_accepts(plan, &x);
}

#[test]
fn average_pooling_proves() {
    use zkinf_tests::onnx_build::*;
    for (attrs, y_shape) in [
        // padded, counting only the taps inside
        (
            vec![
                ints_attr("kernel_shape", &[3, 3]),
                ints_attr("pads", &[1, 1, 1, 1]),
                ints_attr("strides", &[2, 2]),
            ],
            vec![2, 3, 3, 3],
        ),
        // padded, counting the padding
        (
            vec![
                ints_attr("kernel_shape", &[2, 2]),
                ints_attr("pads", &[1, 1, 0, 0]),
                int_attr("count_include_pad", 1),
            ],
            vec![2, 3, 5, 5],
        ),
    ] {
        let (plan, x) = calibrated(
            vec![node("AveragePool", &["x"], "y", attrs)],
            vec![],
            &[2, 3, 5, 5],
            &y_shape,
        );
        assert!(plan
            .nodes
            .iter()
            .any(|n| matches!(n.op, zkinf_circuits::Op::AvgPool { .. })));
        assert_shard_accepts(plan, &x);
    }
    let (plan, x) = calibrated(
        vec![node("GlobalAveragePool", &["x"], "y", vec![])],
        vec![],
        &[1, 4, 3, 3],
        &[1, 4, 1, 1],
    );
    assert_shard_accepts(plan, &x);
}

#[test]
fn softmax_proves() {
    use zkinf_tests::onnx_build::*;
    for (shape, axis) in [(vec![2, 5], 1), (vec![3, 4], 0), (vec![2, 3, 4], -1)] {
        let (plan, x) = calibrated(
            vec![
                node("Gemm", &["x", "w"], "h", vec![]),
                node("Softmax", &["h"], "y", vec![int_attr("axis", axis)]),
            ]
            .into_iter()
            .skip(if shape.len() == 3 { 1 } else { 0 })
            .map(|mut n| {
                if n.op_type == "Softmax" && shape.len() == 3 {
                    n.input = vec!["x".into()];
                }
                n
            })
            .collect(),
            if shape.len() == 3 {
                vec![]
            } else {
                let k = shape[1];
                vec![floats(
                    "w",
                    &[k, k],
                    &(0..k * k)
                        .map(|i| ((i * 5 % 7) as f32 - 3.0) / 2.0)
                        .collect::<Vec<_>>(),
                )]
            },
            &shape,
            &shape,
        );
        assert!(plan
            .nodes
            .iter()
            .any(|n| matches!(n.op, zkinf_circuits::Op::Softmax { .. })));
        assert_shard_accepts(plan, &x);
    }
}

/// Real KZG proofs (through the prover and verifier crates) of a model with
/// average pooling, a product of two activations and a softmax, whole and
/// cut into shards.
#[test]
fn pooling_attention_and_softmax_real_proofs() {
    use halo2_proofs::halo2curves::bn256::Bn256;
    use halo2_proofs::poly::kzg::commitment::ParamsKZG;
    use rand::SeedableRng;
    use zkinf_circuits::shard::partition_into;
    use zkinf_tests::onnx_build::*;
    use zkinf_verifier::{verify_chain, SrsByK};
    let perm = ints_attr("perm", &[0, 2, 1]);
    // x: [1, 4, 4, 4] -> avgpool 2x2 -> [1, 4, 2, 2] -> reshape [1, 4, 4]
    // -> scores = h h^T [1, 4, 4] -> softmax
    let (plan, x) = calibrated(
        vec![
            node(
                "AveragePool",
                &["x"],
                "p",
                vec![
                    ints_attr("kernel_shape", &[2, 2]),
                    ints_attr("strides", &[2, 2]),
                ],
            ),
            node("Reshape", &["p", "shape"], "h", vec![]),
            node("Transpose", &["h"], "ht", vec![perm]),
            node("MatMul", &["h", "ht"], "s", vec![]),
            node("Softmax", &["s"], "y", vec![int_attr("axis", -1)]),
        ],
        vec![int64s("shape", &[3], &[1, 4, 4])],
        &[1, 4, 4, 4],
        &[1, 4, 4],
    );
    let q = quantize_input(&plan.inputs[0], &x).unwrap();
    let trace = execute(&plan, vec![q]).unwrap();
    let whole = ShardCircuit::new(plan.clone(), 0, None).unwrap().k();
    let shards = partition_into(&plan, whole, 3).unwrap();
    assert!(shards.len() >= 3, "{shards:?}");
    let params = ParamsKZG::<Bn256>::setup(whole, rand::rngs::StdRng::seed_from_u64(9));
    let srs = SrsByK::from_full(&params, shards.iter().map(|s| s.k).chain([whole]));
    for parts in [
        vec![zkinf_circuits::shard::ShardSpec {
            start: 0,
            end: plan.nodes.len(),
        }],
        shards.iter().map(|s| s.spec()).collect(),
    ] {
        let (mut vks, mut proofs) = (Vec::new(), Vec::new());
        for (i, spec) in parts.iter().enumerate() {
            let c = ShardCircuit::for_shard(&plan, *spec, i as u32, Some(&trace)).unwrap();
            let p = srs.get(c.k()).unwrap();
            let pk = zkinf_prover::keygen(p, &c).unwrap();
            proofs.push(zkinf_prover::prove_shard(p, &pk, c, i as u32).unwrap());
            vks.push(pk.get_vk().clone());
        }
        let id = proofs[0].model_id();
        let out = proofs.last().unwrap().output_commitment();
        assert_eq!(
            verify_chain(&srs, &vks, &proofs, id, None, Some(out)),
            Ok(())
        );
        assert!(verify_chain(&srs, &vks, &proofs, id, None, Some(out + Fr::ONE)).is_err());
    }
}

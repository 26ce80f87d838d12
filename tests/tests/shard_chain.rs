//! The partitioner on the bundled digits models: forced into several shards,
//! every shard's circuit accepts the executor's witness (MockProver), the
//! shards link (output commitment of one = input commitment of the next),
//! the first input and last output commitments are those of the whole
//! model, and a shard's claim about its boundary tensor cannot be changed.

use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use zkinf_circuits::shard::{
    check_partition, cut_points, partition, partition_into, ShardCircuit, ShardError, ShardSpec,
};
use zkinf_circuits::{execute, quantize_input, CheckedPlan, Trace};
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_tests::{digits, samples};

fn compiled(model: &str) -> (CheckedPlan, Trace) {
    let plan = compile_file(
        &digits(&format!("{model}.onnx")),
        &CompileOptions::default(),
    )
    .unwrap()
    .plan;
    let s = samples(model);
    let q = quantize_input(&plan.inputs[0], &s.inputs[0]).unwrap();
    let trace = execute(&plan, vec![q]).unwrap();
    (plan, trace)
}

/// `plan` cut into at least `n` shards.
fn forced(plan: &CheckedPlan, n: usize) -> (u32, Vec<zkinf_circuits::shard::SizedShard>) {
    // (a cut adds commitments at the boundary: a shard of the 2^9-row MLP may need 2^10)
    let max_k = ShardCircuit::new(plan.clone(), 0, None)
        .unwrap()
        .k()
        .max(10);
    (max_k, partition_into(plan, max_k, n).unwrap())
}

#[test]
fn digits_models_cut_into_linked_shards() {
    for model in ["mlp_int8_qdq", "cnn_int8_qdq", "mlp_float", "cnn_float"] {
        let (plan, trace) = compiled(model);
        let whole = ShardCircuit::new(plan.clone(), 0, Some(&trace)).unwrap();
        let whole_inst = whole.instances().unwrap();
        // by default (a generous budget) the model is one shard
        let one = partition(&plan, 20).unwrap();
        assert_eq!(one.len(), 1, "{model}");
        assert_eq!(one[0].k, whole.k());
        let (max_k, shards) = forced(&plan, 3);
        println!(
            "{model}: {} cut points, max_k {max_k}: {:?}",
            cut_points(&plan).len(),
            shards
        );
        let specs: Vec<ShardSpec> = shards.iter().map(|s| s.spec()).collect();
        check_partition(&plan, &specs).unwrap();
        let mut prev_out: Option<Fr> = None;
        for (i, s) in shards.iter().enumerate() {
            assert!(s.k <= max_k);
            let c = ShardCircuit::for_shard(&plan, s.spec(), i as u32, Some(&trace)).unwrap();
            assert_eq!(c.k(), s.k, "the partition's k is the circuit's");
            let inst = c.instances().unwrap();
            assert_eq!(inst[0], whole_inst[0], "every shard names the whole model");
            assert_eq!(inst[1], Fr::from(i as u64));
            match prev_out {
                None => assert_eq!(inst[2], whole_inst[2], "shard 0 reads the model input"),
                Some(o) => assert_eq!(inst[2], o, "shard {i} links to shard {}", i - 1),
            }
            prev_out = Some(inst[3]);
            assert_eq!(
                MockProver::run(s.k, &c, vec![inst.clone()])
                    .unwrap()
                    .verify(),
                Ok(()),
                "{model} shard {i}"
            );
            for row in [2usize, 3] {
                let mut wrong = inst.clone();
                wrong[row] += Fr::ONE;
                assert!(
                    MockProver::run(s.k, &c, vec![wrong])
                        .unwrap()
                        .verify()
                        .is_err(),
                    "{model} shard {i}: a changed boundary commitment"
                );
            }
        }
        assert_eq!(prev_out, Some(whole_inst[3]), "the last shard's output");
    }
}

#[test]
fn partitions_are_checked() {
    let (plan, _) = compiled("mlp_int8_qdq");
    let n = plan.nodes.len();
    let cuts = cut_points(&plan);
    assert!(!cuts.is_empty());
    // a gap, an overlap, a cut after a constant (no cut point), not covering the end
    let c = cuts[0] + 1;
    for (bad, what) in [
        (
            vec![
                ShardSpec { start: 0, end: c },
                ShardSpec {
                    start: c + 1,
                    end: n,
                },
            ],
            "expected it to start at node",
        ),
        (vec![ShardSpec { start: 0, end: c }], "cover nodes"),
        (
            vec![
                ShardSpec { start: 0, end: 1 },
                ShardSpec { start: 1, end: n },
            ],
            "which is no cut point",
        ),
    ] {
        let e = check_partition(&plan, &bad).unwrap_err().to_string();
        assert!(e.contains(what), "{e}");
    }
    // more shards than cut points
    let e = partition_into(&plan, 14, cuts.len() + 2).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
    // a budget below what one layer needs names the layer and the k it needs
    let e = partition(&plan, 8).unwrap_err();
    assert!(matches!(e, ShardError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("raise it to at least"), "{e}");
}

//! Cuts that carry several tensors (a residual stream live across the cut):
//! only bundle cuts exist inside such a block, the partitioner takes them
//! when no single-tensor cut bounds a shard, the shards chain (each
//! output commitment is the next input commitment), every shard proves,
//! and a bundle moved by one value is rejected.

use super::partition::{bundle_cut_points, crossing, cut_points, greedy, slice};
use super::tests::int8_input_plan;
use super::*;
use crate::exec::execute;
use crate::plan::{OutputDequant, PlanOutput};
use halo2_proofs::dev::MockProver;
use ndarray::{ArrayD, IxDyn};

/// `a = x/2`, `b = a/2 + x` (x read again: live across), `y = b/2 + a`,
/// over `[1, n]`, with `chain` more halvings before each sum.
fn residual_plan(n: usize, chain: usize) -> CheckedPlan {
    let (mut p, _) = int8_input_plan("residual");
    p.inputs[0].shape = vec![1, n];
    p.nodes.clear();
    let x = p.push("x", Op::Input { index: 0 }, vec![], None).unwrap();
    let half = Op::Rescale {
        in_zero: 0,
        mult: vec![1],
        bias: vec![],
        shift: 1,
        axis: 0,
        out_zero: 0,
        lo: -128,
        hi: 127,
    };
    let sum = |lo, hi| Op::Add {
        a_zero: 0,
        b_zero: 0,
        a_mult: 1,
        b_mult: 2,
        shift: 1,
        out_zero: 0,
        lo,
        hi,
    };
    let a = p.push("a", half.clone(), vec![x], None).unwrap();
    let mut c = a;
    for i in 0..chain {
        c = p
            .push(format!("c{i}"), half.clone(), vec![c], None)
            .unwrap();
    }
    let b = p.push("b", sum(-200, 200), vec![c, x], None).unwrap();
    let mut d = b;
    for i in 0..chain {
        d = p
            .push(format!("d{i}"), half.clone(), vec![d], None)
            .unwrap();
    }
    let y = p.push("y", sum(-300, 300), vec![d, a], None).unwrap();
    p.outputs.push(PlanOutput {
        name: "y".into(),
        tensor: y,
        dequant: OutputDequant::Integer,
    });
    CheckedPlan::new(p).unwrap()
}

fn accepts(c: &ShardCircuit) -> bool {
    let inst = c.instances().unwrap();
    MockProver::run(c.k(), c, vec![inst])
        .unwrap()
        .verify()
        .is_ok()
}

#[test]
fn a_residual_block_cuts_only_with_bundles() {
    let plan = residual_plan(4, 0);
    // after a: x and a cross; after b: b and a
    assert!(cut_points(&plan).is_empty());
    assert!(cut_points(&residual_plan(256, 6)).is_empty());
    assert_eq!(bundle_cut_points(&plan), vec![1, 2]);
    assert_eq!(crossing(&plan, 1), vec![0, 1]);
    assert_eq!(crossing(&plan, 2), vec![1, 2]);
    // the shard after node 1 starts from the bundle [x, a]: its input is a
    // vector of 8 values over the union of their ranges
    let (sub, origin) = slice(&plan, ShardSpec { start: 2, end: 3 }).unwrap();
    assert_eq!(sub.inputs[0].shape, vec![8]);
    assert_eq!(origin[0], super::partition::ADDED);
    // and ends with the bundle [a, b]
    let out = sub.outputs[0].tensor;
    assert_eq!(sub.info(out).shape, vec![8]);
}

#[test]
fn bundle_shards_chain_prove_and_reject_a_moved_value() {
    let plan = residual_plan(4, 0);
    let specs = [
        ShardSpec { start: 0, end: 2 },
        ShardSpec { start: 2, end: 3 },
        ShardSpec { start: 3, end: 4 },
    ];
    check_partition(&plan, &specs).unwrap();
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 4]), vec![-128, -3, 5, 127]).unwrap();
    let trace = execute(&plan, vec![x]).unwrap();
    let circuits: Vec<ShardCircuit> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| ShardCircuit::for_shard(&plan, *s, i as u32, Some(&trace)).unwrap())
        .collect();
    for (i, c) in circuits.iter().enumerate() {
        assert!(accepts(c), "shard {i} rejected");
    }
    // shard i's output commitment is shard i + 1's input commitment
    for w in circuits.windows(2) {
        assert_eq!(w[0].instances().unwrap()[3], w[1].instances().unwrap()[2]);
    }
    // x moved by one where shard 1 reads it from its bundle: the values
    // committed differ, so the link breaks
    let mut values = trace.values.clone();
    values[0].as_slice_mut().unwrap()[1] += 1;
    let moved = ShardCircuit::for_shard(&plan, specs[1], 1, Some(&Trace { values })).unwrap();
    assert_ne!(
        moved.instances().unwrap()[2],
        circuits[0].instances().unwrap()[3]
    );
}

#[test]
fn the_partitioner_uses_bundles_only_where_it_must() {
    let plan = residual_plan(256, 6);
    // one shard fits: no cut at all
    let whole = partition(&plan, 16).unwrap();
    assert_eq!(whole.len(), 1);
    // a row budget below the whole plan's: bundle cuts (no single one exists)
    let parts = greedy(&plan, 16, whole[0].rows * 2 / 3).unwrap();
    assert!(parts.len() >= 2, "{parts:?}");
    assert!(parts.iter().all(|s| s.rows < whole[0].rows));
    let specs: Vec<ShardSpec> = parts.iter().map(|s| s.spec()).collect();
    check_partition(&plan, &specs).unwrap();
}

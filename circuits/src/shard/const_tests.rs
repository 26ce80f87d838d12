//! Constants read as cells by ops other than Add and Mul (the differential
//! test found `Concat(Const, x)` failing synthesis): every op reads a
//! constant operand through cells pinned to its values, and a shard whose
//! output is a constant commits to those cells.

use super::*;
use crate::exec::execute;
use crate::plan::{OutputDequant, Plan, PlanOutput};
use halo2_proofs::dev::MockProver;
use ndarray::{ArrayD, IxDyn};

fn plan_with(build: impl FnOnce(&mut Plan, TensorId) -> TensorId) -> CheckedPlan {
    let (mut p, x) = super::tests::int8_input_plan("constants");
    let y = build(&mut p, x);
    p.outputs.push(PlanOutput {
        name: "y".into(),
        tensor: y,
        dequant: OutputDequant::Integer,
    });
    CheckedPlan::new(p).unwrap()
}

fn konst(p: &mut Plan, shape: &[usize], values: &[i64]) -> TensorId {
    let op = Op::Const {
        values: values.to_vec(),
    };
    p.push("c", op, vec![], Some(shape.to_vec())).unwrap()
}

/// MockProver's verdict on the executor's trace of `x`, with the output's
/// value at `moved` (if any) moved by one.
fn accepts(plan: &CheckedPlan, moved: Option<usize>) -> bool {
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 4]), vec![5, -7, 100, -128]).unwrap();
    let mut trace = execute(plan, vec![x]).unwrap();
    if let Some(i) = moved {
        let out = plan.outputs[0].tensor as usize;
        let v = trace.values[out].as_slice_mut().unwrap();
        v[i] += if v[i] < 127 { 1 } else { -1 };
    }
    let c = ShardCircuit::new(plan.clone(), 0, Some(&trace)).unwrap();
    let inst = c.instances().unwrap();
    MockProver::run(c.k(), &c, vec![inst])
        .unwrap()
        .verify()
        .is_ok()
}

fn assert_sound(plan: &CheckedPlan) {
    assert!(accepts(plan, None), "the honest witness is rejected");
    let n = plan.info(plan.outputs[0].tensor).len();
    for i in [0, n / 2, n - 1] {
        assert!(
            !accepts(plan, Some(i)),
            "output {i} moved by one is accepted"
        );
    }
}

#[test]
fn concat_transpose_reshape_and_clamp_read_constants_as_cells() {
    let plan = plan_with(|p, x| {
        let c = konst(p, &[1, 2], &[3, -4]);
        let cat = p
            .push("cat", Op::Concat { axis: 1 }, vec![c, x], None)
            .unwrap();
        let r = konst(p, &[3, 2], &[1, 2, 3, 4, 5, 6]);
        let rt = p
            .push("t", Op::Transpose { perm: vec![1, 0] }, vec![r], None)
            .unwrap();
        let rs = p
            .push("r", Op::Reshape, vec![rt], Some(vec![1, 6]))
            .unwrap();
        let clamped = p
            .push("relu", Op::Clamp { lo: 2, hi: 5 }, vec![rs], None)
            .unwrap();
        let add = Op::Add {
            a_zero: 0,
            b_zero: 0,
            a_mult: 1,
            b_mult: 1,
            shift: 0,
            out_zero: 0,
            lo: -128,
            hi: 127,
        };
        p.push("add", add, vec![cat, clamped], None).unwrap()
    });
    assert_sound(&plan);
}

#[test]
fn a_constant_left_operand_of_matmul_and_a_lookup_of_a_constant() {
    let plan = plan_with(|p, x| {
        let xt = p
            .push("xt", Op::Reshape, vec![x], Some(vec![4, 1]))
            .unwrap();
        let a = konst(p, &[2, 4], &[1, -2, 3, 0, 2, 2, -1, 1]);
        let mm = Op::MatMul {
            a_zero: 0,
            b_zero: vec![0],
        };
        let prod = p.push("mm", mm, vec![a, xt], None).unwrap();
        let rq = Op::Rescale {
            in_zero: 0,
            mult: vec![1],
            bias: vec![],
            shift: 3,
            axis: 0,
            out_zero: 0,
            lo: -128,
            hi: 127,
        };
        let y = p.push("rq", rq, vec![prod], None).unwrap();
        let y = p.push("y", Op::Reshape, vec![y], Some(vec![1, 2])).unwrap();
        let c = konst(p, &[1, 2], &[0, 1]);
        let table = Op::Lookup {
            in_lo: 0,
            table: vec![-9, 9],
        };
        let l = p.push("lut", table, vec![c], None).unwrap();
        p.push("cat", Op::Concat { axis: 1 }, vec![y, l], None)
            .unwrap()
    });
    assert_sound(&plan);
}

#[test]
fn a_shard_whose_output_is_a_constant_commits_to_its_cells() {
    let plan = plan_with(|p, _| konst(p, &[1, 3], &[7, -7, 0]));
    assert_sound(&plan);
}

#[test]
fn gather_wires_operands_and_a_constant_pad_value_and_a_moved_output_is_rejected() {
    // x = [5, -7, 100, -128]; pad value 3 is operand 1 (index 4 of the joined operands)
    let plan = plan_with(|p, x| {
        let pad = konst(p, &[1], &[3]);
        let map = vec![4, 0, 1, 2, 3, 4, 3, 3, 0];
        let g = p
            .push("pad", Op::Gather { map }, vec![x, pad], Some(vec![1, 9]))
            .unwrap();
        // a gather of a gather (a slice with a step), then a requantization reading it
        let s = p
            .push(
                "slice",
                Op::Gather {
                    map: vec![1, 3, 5, 7],
                },
                vec![g],
                Some(vec![4]),
            )
            .unwrap();
        let rq = Op::Rescale {
            in_zero: 0,
            mult: vec![1],
            bias: vec![],
            shift: 1,
            axis: 0,
            out_zero: 0,
            lo: -128,
            hi: 127,
        };
        let y = p.push("rq", rq, vec![s], None).unwrap();
        p.push("cat", Op::Concat { axis: 0 }, vec![y, s], None)
            .unwrap()
    });
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 4]), vec![5, -7, 100, -128]).unwrap();
    let trace = execute(&plan, vec![x]).unwrap();
    let out = trace.get(plan.outputs[0].tensor);
    assert_eq!(
        out.iter().copied().collect::<Vec<_>>(),
        vec![2, 50, 2, -64, 5, 100, 3, -128]
    );
    assert_sound(&plan);
}

#[test]
fn gather_maps_are_checked() {
    let (mut p, x) = super::tests::int8_input_plan("gather");
    let bad = p.push("g", Op::Gather { map: vec![0, 4] }, vec![x], Some(vec![2]));
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("outside the 4 operand values"));
    let bad = p.push("g", Op::Gather { map: vec![0, 1] }, vec![x], Some(vec![3]));
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("2 map entries for shape [3]"));
}

//! The shard circuit's own constraints (constants, tensor packing, the
//! commitment's inputs, the public instances) on a small plan
//! (`y = rhe(x / 2)` over four int8 values): the honest witness is
//! accepted, and forged witnesses that bind the commitments to another
//! tensor than the one computed on are rejected.

use super::forge::ForgeAt;
use super::*;
use crate::chips::testing::Case;
use crate::plan::{InputQuant, IntRange, OutputDequant, Plan, PlanInput, PlanOutput};
use crate::poseidon::pack_tensor;
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::halo2curves::ff::Field;
use ndarray::{ArrayD, IxDyn};

const X: [i64; 4] = [5, -7, 100, -128];

fn halve(x: &[i64]) -> Vec<i64> {
    let a = ArrayD::from_shape_vec(IxDyn(&[1, x.len()]), x.to_vec()).unwrap();
    crate::ops::elementwise::rescale(&a, 0, &[1], &[], 1, 0, 0, -128, 127)
        .iter()
        .copied()
        .collect()
}

/// A plan named `name` with one int8 input `x` of shape `[1, 4]`, and `x`.
pub(super) fn int8_input_plan(name: &str) -> (Plan, TensorId) {
    let mut p = Plan {
        name: name.into(),
        inputs: vec![PlanInput {
            name: "x".into(),
            shape: vec![1, 4],
            range: IntRange { lo: -128, hi: 127 },
            quant: InputQuant::Integer,
        }],
        ..Plan::default()
    };
    let x = p.push("x", Op::Input { index: 0 }, vec![], None).unwrap();
    (p, x)
}

/// The shard circuit of `y = rhe(x / 2)` with the witness of `x` (values
/// need not be the executor's: tests give out-of-range ones).
fn circuit(x: &[i64]) -> ShardCircuit {
    let (mut p, xt) = int8_input_plan("halve");
    let y = p
        .push(
            "halve",
            Op::Rescale {
                in_zero: 0,
                mult: vec![1],
                bias: vec![],
                shift: 1,
                axis: 0,
                out_zero: 0,
                lo: -128,
                hi: 127,
            },
            vec![xt],
            None,
        )
        .unwrap();
    p.outputs.push(PlanOutput {
        name: "y".into(),
        tensor: y,
        dequant: OutputDequant::Integer,
    });
    let plan = CheckedPlan::new(p).unwrap();
    let mut c = ShardCircuit::new(plan, 3, None).unwrap();
    c.values = Some(vec![x.to_vec(), halve(x)]);
    c
}

fn prove(c: &ShardCircuit, instances: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(c.k(), c, vec![instances]).unwrap().verify()
}

fn int8() -> Packing {
    Packing::for_range(-128, 127)
}

/// `X` with `X[2] = 101`: the tensor the forged input commitments name.
fn other() -> Vec<i64> {
    let mut x = X.to_vec();
    x[2] = 101;
    x
}

/// The circuit of `X` with forged input-commitment cells, and its public
/// instances with the input commitment `input`.
fn forged_input(cells: Vec<(usize, ForgeAt, Fr)>, input: Fr) -> (ShardCircuit, Vec<Fr>) {
    let mut c = circuit(&X);
    c.forges.cells = cells;
    let mut inst = c.instances().unwrap();
    inst[2] = input;
    (c, inst)
}

/// The shard circuit's witnesses for the mutation test.
pub(crate) fn cases() -> Vec<Case> {
    let case = |name: &str, targets: &[&'static str], (c, inst): (ShardCircuit, Vec<Fr>)| {
        Case::forged(name, targets, move || prove(&c, inst.clone()))
    };
    let honest = circuit(&X);
    let inst = honest.instances().unwrap();
    assert_eq!(honest.k(), 9);
    let u = |v: i64| fe(v as i128 - int8().lo as i128);
    let commit_other = commit_tensor(&other(), int8());
    let mut cases = vec![Case::honest("y = rhe(x / 2)", {
        let (c, inst) = (honest.clone(), inst.clone());
        move || prove(&c, inst.clone())
    })];
    for (row, id) in [
        "shard/copy:instance-model",
        "shard/copy:instance-index",
        "shard/copy:instance-input",
        "shard/copy:instance-output",
    ]
    .into_iter()
    .enumerate()
    {
        let mut wrong = inst.clone();
        wrong[row] += Fr::ONE;
        cases.push(case(
            &format!("public instance {row} + 1"),
            &[id],
            (honest.clone(), wrong),
        ));
    }
    // the shard index's cell holds 4, the public index says 4
    let mut c = circuit(&X);
    c.forges.cells = vec![(0, ForgeAt::Constant(1), Fr::from(4))];
    let mut wrong = inst.clone();
    wrong[1] = Fr::from(4);
    cases.push(case(
        "the index constant's cell holds another index",
        &["shard/gate:constant"],
        (c, wrong),
    ));
    cases.push(case(
        "packing reads 101 for the value 100 (u = v - lo broken)",
        &["shard/gate:pack-u"],
        forged_input(vec![(0, ForgeAt::U(2), u(101))], commit_other),
    ));
    cases.push(case(
        "packing adds u of 101 for the value 100 (the accumulator step broken)",
        &["shard/gate:pack-acc"],
        forged_input(vec![(0, ForgeAt::AccU(2), u(101))], commit_other),
    ));
    cases.push(case(
        "packing copies 101 for the value 100",
        &["shard/copy:pack-val"],
        forged_input(vec![(0, ForgeAt::Val(2), fe(101))], commit_other),
    ));
    // an accumulator started at delta / base^4 packs X + delta at the top: delta
    // = pack(other) - pack(X)
    let delta = pack_tensor(&other(), int8())[0] - pack_tensor(&X, int8())[0];
    let base4 = fe(1i128 << (4 * int8().bits));
    cases.push(case(
        "packing starts at (pack(other) - pack(X)) / 2^32",
        &["shard/gate:pack-start"],
        forged_input(
            vec![(0, ForgeAt::Start(0), delta * base4.invert().unwrap())],
            commit_other,
        ),
    ));
    cases.push(case(
        "the sponge absorbs the packing of another tensor",
        &["shard/copy:commit-element"],
        forged_input(
            vec![(0, ForgeAt::Absorbed(1), pack_tensor(&other(), int8())[0])],
            commit_other,
        ),
    ));
    // lo + 1 absorbed: the commitment of X + 1 with values in [-127, 128]
    let shifted: Vec<i64> = X.iter().map(|v| v + 1).collect();
    cases.push(case(
        "the sponge absorbs lo + 1",
        &["shard/copy:commit-lo"],
        forged_input(
            vec![(0, ForgeAt::Absorbed(0), fe(-127))],
            commit_tensor(&shifted, Packing { lo: -127, ..int8() }),
        ),
    ));
    // an input of 128 (outside int8) packs as u = 256, which carries into
    // the next value: the commitment of [5, -7, -128, -127], whose halves
    // are not the outputs proven (64 for 128)
    let carried = vec![5, -7, -128, -127];
    let out_of_range = |check: Option<Fr>| {
        let mut c = circuit(&[5, -7, 128, -128]);
        if let Some(v) = check {
            c.forges.cells = vec![(0, ForgeAt::Checked(2), v)];
        }
        let mut inst = c.instances().unwrap();
        inst[2] = commit_tensor(&carried, int8());
        (c, inst)
    };
    cases.push(case(
        "an input of 128 packed as a carry",
        &["range/lookup:limb"],
        out_of_range(None),
    ));
    cases.push(case(
        "an input of 128 packed as a carry, its range check run on 0",
        &["shard/copy:pack-range"],
        out_of_range(Some(Fr::ZERO)),
    ));
    cases
}

#[test]
fn cases_hold() {
    crate::chips::testing::assert_cases(&cases());
}

#[test]
fn the_carried_commitment_is_the_forged_packing() {
    // u = 256 at position 2 packs like [.., u = 0, u + 1 at position 3]
    let p = int8();
    let by_hand = [5i64, -7, 128, -128]
        .iter()
        .rev()
        .fold(Fr::ZERO, |acc, &v| acc * fe(256) + fe((v - p.lo) as i128));
    assert_eq!(by_hand, pack_tensor(&[5, -7, -128, -127], p)[0]);
}

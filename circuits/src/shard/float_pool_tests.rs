//! `AvgPoolF32`: the executor reproduces onnxruntime's float32 average
//! pooling, and the circuit admits exactly the nearest integers of the exact
//! average (either one at a tie, where float32 rounding decides).

use super::tests::int8_input_plan;
use super::*;
use crate::exec::execute;
use crate::plan::{OutputDequant, PlanOutput};
use halo2_proofs::dev::MockProver;
use ndarray::{ArrayD, IxDyn};

/// x = [a, b, c, d] as [1, 1, 1, 4], pooled by [1, 2] windows (stride 2),
/// or by one [1, 4] window (onnxruntime's integer path).
fn plan(global: bool, x_scale: f32, y_scale: f32) -> CheckedPlan {
    let (mut p, x) = int8_input_plan("avgpool-f32");
    let x4 = p
        .push("x4", Op::Reshape, vec![x], Some(vec![1, 1, 1, 4]))
        .unwrap();
    let k = if global { 4 } else { 2 };
    let d = crate::arith::Dyadic::exact((x_scale / y_scale) as f64).unwrap();
    let op = Op::AvgPoolF32 {
        kernel: [1, k],
        strides: [1, k],
        pads: [0; 4],
        count_include_pad: false,
        in_zero: 0,
        mult: d.mult,
        shift: d.shift,
        out_zero: 0,
        lo: -128,
        hi: 127,
        x_scale,
        y_scale,
        zero_shift: 128,
        global,
    };
    let y = p.push("pool", op, vec![x4], None).unwrap();
    p.outputs.push(PlanOutput {
        name: "y".into(),
        tensor: y,
        dequant: OutputDequant::Integer,
    });
    CheckedPlan::new(p).unwrap()
}

/// onnxruntime's `QLinearAveragePool` of one window (int8 run as uint8).
fn ort_window(taps: &[i64], xs: f32, ys: f32) -> i64 {
    let mut acc = 0f32;
    for &t in taps {
        acc += xs * t as f32;
    }
    let t = (acc / taps.len() as f32) / ys + 128.0;
    t.round_ties_even() as i64 - 128
}

fn accepts(plan: &CheckedPlan, x: &[i64], y: Option<Vec<i64>>) -> bool {
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 4]), x.to_vec()).unwrap();
    let mut trace = execute(plan, vec![x]).unwrap();
    if let Some(y) = y {
        let out = plan.outputs[0].tensor as usize;
        trace.values[out] = ArrayD::from_shape_vec(trace.values[out].shape(), y).unwrap();
    }
    let c = ShardCircuit::new(plan.clone(), 0, Some(&trace)).unwrap();
    let inst = c.instances().unwrap();
    MockProver::run(c.k(), &c, vec![inst])
        .unwrap()
        .verify()
        .is_ok()
}

#[test]
fn float32_average_pooling_matches_onnxruntime_and_admits_only_nearest_integers() {
    // equal scales (what quantize_static gives AveragePool): the averages
    // 3.5 (a tie) and 10 (an integer)
    let (xs, ys) = (0.0123_f32, 0.0123_f32);
    let p = plan(false, xs, ys);
    let x = [3, 4, 9, 11];
    let x4 = ArrayD::from_shape_vec(IxDyn(&[1, 4]), x.to_vec()).unwrap();
    let trace = execute(&p, vec![x4]).unwrap();
    let y: Vec<i64> = trace.get(p.outputs[0].tensor).iter().copied().collect();
    assert_eq!(
        y,
        vec![ort_window(&[3, 4], xs, ys), ort_window(&[9, 11], xs, ys)]
    );
    assert_eq!(y[1], 10);
    assert!(accepts(&p, &x, None), "the honest run is rejected");
    // the tie: the other neighbour is admitted (float32 decides there), two
    // steps away is not
    let other = if y[0] == 3 { 4 } else { 3 };
    assert!(accepts(&p, &x, Some(vec![other, 10])));
    assert!(!accepts(&p, &x, Some(vec![other + (other - y[0]), 10])));
    // no tie: a moved output is rejected
    assert!(!accepts(&p, &x, Some(vec![y[0], 11])));
    assert!(!accepts(&p, &x, Some(vec![y[0], 9])));
    // an exact average of 9 (divisor 2): its even neighbours too
    let x = [9, 9, 0, 1];
    assert!(accepts(&p, &x, Some(vec![9, 0])));
    assert!(!accepts(&p, &x, Some(vec![8, 0])));
    assert!(!accepts(&p, &x, Some(vec![10, 0])));
}

#[test]
fn a_quarter_off_a_tie_admits_only_the_nearest_integer() {
    // one [1, 4] window, equal scales: 13 / 4 = 3.25 -> 3 only
    let p = plan(true, 0.05, 0.05);
    let x = [3, 3, 3, 4];
    assert!(accepts(&p, &x, Some(vec![3])));
    assert!(!accepts(&p, &x, Some(vec![4])));
    assert!(!accepts(&p, &x, Some(vec![2])));
    // 14 / 4 = 3.5, a tie: both 3 and 4, not 2 or 5
    let x = [3, 3, 4, 4];
    assert!(accepts(&p, &x, Some(vec![3])));
    assert!(accepts(&p, &x, Some(vec![4])));
    assert!(!accepts(&p, &x, Some(vec![5])));
    assert!(!accepts(&p, &x, Some(vec![2])));
}

#[test]
fn a_window_over_the_whole_input_takes_onnxruntimes_integer_path() {
    let (xs, ys) = (0.02_f32, 0.03_f32);
    let p = plan(true, xs, ys);
    let x = [100, -7, 55, 3];
    let x4 = ArrayD::from_shape_vec(IxDyn(&[1, 4]), x.to_vec()).unwrap();
    let trace = execute(&p, vec![x4]).unwrap();
    let y = trace.get(p.outputs[0].tensor)[[0, 0, 0, 0]];
    // MLAS: fl32(Σ x · fl32(xs / fl32(ys · 4))), rounded half to even
    let scale = xs / (ys * 4.0);
    assert_eq!(y, ((151.0f32 * scale).round_ties_even()) as i64);
    assert!(accepts(&p, &x, None));
    assert!(!accepts(&p, &x, Some(vec![y + 1])));
    assert!(!accepts(&p, &x, Some(vec![y - 1])));
}

//! The integer reference executor: runs a [`CheckedPlan`] node by node with
//! the semantics in [`crate::ops`], and checks every value against the range
//! its tensor declares.

use crate::ops::{elementwise as ew, layout, linear, pool};
use crate::plan::{CheckedPlan, InputQuant, Op, OutputDequant, PlanInput, PlanOutput};
use crate::ExecError;
use ndarray::{ArrayD, Axis, IxDyn};

/// Every tensor of one execution, indexed by [`crate::TensorId`].
#[derive(Clone, Debug)]
pub struct Trace {
    pub values: Vec<ArrayD<i64>>,
}

impl Trace {
    pub fn get(&self, t: crate::TensorId) -> &ArrayD<i64> {
        &self.values[t as usize]
    }
}

/// Quantizes float values (row-major, the input's shape) as the plan's input
/// says: `saturate(rhe(fl32(x / scale)) + zp)` in float32, as onnxruntime's
/// `QuantizeLinear`; integer inputs must hold integers in range.
pub fn quantize_input(input: &PlanInput, values: &[f64]) -> Result<ArrayD<i64>, ExecError> {
    let expected: usize = input.shape.iter().product();
    if values.len() != expected {
        return Err(ExecError::InputSize {
            name: input.name.clone(),
            expected,
            found: values.len(),
            shape: input.shape.clone(),
        });
    }
    let (lo, hi) = (input.range.lo, input.range.hi);
    let mut out = Vec::with_capacity(values.len());
    for (index, &v) in values.iter().enumerate() {
        let f = v as f32;
        if !f.is_finite() {
            return Err(ExecError::NotFinite {
                name: input.name.clone(),
                index,
                value: v,
            });
        }
        let q = match input.quant {
            InputQuant::Affine { scale, zero_point } => {
                let r = (f / scale).round_ties_even() as f64 + zero_point as f64;
                r.clamp(lo as f64, hi as f64) as i64
            }
            InputQuant::Integer => {
                if v.fract() != 0.0 || v < lo as f64 || v > hi as f64 {
                    return Err(ExecError::NotInteger {
                        name: input.name.clone(),
                        index,
                        value: v,
                        lo,
                        hi,
                    });
                }
                v as i64
            }
        };
        out.push(q);
    }
    Ok(ArrayD::from_shape_vec(IxDyn(&input.shape), out).expect("length checked"))
}

/// How many of `values` quantization clamped at the input's lower and at
/// its upper bound by more than `slack` steps (finite values of an `Affine`
/// input outside the range its scale covers).
pub fn input_clamped(input: &PlanInput, values: &[f64], slack: i64) -> (usize, usize) {
    let InputQuant::Affine { scale, zero_point } = input.quant else {
        return (0, 0);
    };
    values.iter().fold((0, 0), |(b, a), &v| {
        let r = ((v as f32) / scale).round_ties_even() as f64 + zero_point as f64;
        (
            b + (r < (input.range.lo - slack) as f64) as usize,
            a + (r > (input.range.hi + slack) as f64) as usize,
        )
    })
}

/// The index of the largest value (the first one on a tie; NaNs never win),
/// or None when there is none: a classifier's predicted class.
pub fn argmax(values: &[f64]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .fold(None, |best: Option<(usize, f64)>, (i, &v)| match best {
            Some((_, b)) if b >= v => best,
            _ => Some((i, v)),
        })
        .map(|(i, _)| i)
}

/// Turns an output tensor into the values a user sees:
/// `fl32(fl32(q - zp) * scale)` (onnxruntime's `DequantizeLinear`), or the
/// integers themselves.
pub fn dequantize_output(output: &PlanOutput, values: &ArrayD<i64>) -> ArrayD<f64> {
    match &output.dequant {
        OutputDequant::Integer => values.mapv(|q| q as f64),
        OutputDequant::Affine {
            scales,
            zero_points,
            axis,
        } => {
            let one = |q: i64, s: f32, z: i64| (((q - z) as f32) * s) as f64;
            if scales.len() == 1 {
                values.mapv(|q| one(q, scales[0], zero_points[0]))
            } else {
                let mut out = values.mapv(|q| q as f64);
                for (c, mut lane) in out.axis_iter_mut(Axis(*axis as usize)).enumerate() {
                    lane.mapv_inplace(|q| one(q as i64, scales[c], zero_points[c]));
                }
                out
            }
        }
    }
}

/// The values of `node` computed by `op` (the node's own op, or a
/// variant of it) from the values of the nodes before it.
/// The values of node `i` (of a checked plan) from the values of the nodes
/// before it.
pub fn eval_node(
    i: usize,
    node: &crate::plan::Node,
    values: &[ArrayD<i64>],
) -> Result<ArrayD<i64>, ExecError> {
    eval(i, node, &node.op, values)
}

fn eval(
    i: usize,
    node: &crate::plan::Node,
    op: &Op,
    values: &[ArrayD<i64>],
) -> Result<ArrayD<i64>, ExecError> {
    let arg = |k: usize| &values[node.inputs[k] as usize];
    let shape = node.info.shape.as_slice();
    Ok(match op {
        Op::Input { .. } => unreachable!("inputs are not evaluated"),
        Op::Const { values: v } => {
            ArrayD::from_shape_vec(IxDyn(shape), v.clone()).expect("checked const")
        }
        Op::MatMul { a_zero, b_zero } => linear::matmul(
            arg(0),
            arg(1),
            node.inputs.get(2).map(|&t| &values[t as usize]),
            *a_zero,
            b_zero,
        ),
        Op::Conv {
            x_zero,
            w_zero,
            strides,
            pads,
            dilations,
            group,
        } => linear::conv2d(
            arg(0),
            arg(1),
            node.inputs.get(2).map(|&t| &values[t as usize]),
            *x_zero,
            w_zero,
            *strides,
            *pads,
            *dilations,
            *group,
            shape,
        ),
        Op::Rescale {
            in_zero,
            mult,
            bias,
            shift,
            axis,
            out_zero,
            lo,
            hi,
        } => ew::rescale(
            arg(0),
            *in_zero,
            mult,
            bias,
            *shift,
            *axis as usize,
            *out_zero,
            *lo,
            *hi,
        ),
        Op::Add {
            a_zero,
            b_zero,
            a_mult,
            b_mult,
            shift,
            out_zero,
            lo,
            hi,
        } => ew::add(
            arg(0),
            arg(1),
            shape,
            *a_zero,
            *b_zero,
            *a_mult,
            *b_mult,
            *shift,
            *out_zero,
            *lo,
            *hi,
        ),
        Op::Mul {
            a_zero,
            b_zero,
            mult,
            shift,
            out_zero,
            lo,
            hi,
        } => ew::mul(
            arg(0),
            arg(1),
            shape,
            *a_zero,
            *b_zero,
            *mult,
            *shift,
            *out_zero,
            *lo,
            *hi,
        ),
        Op::Clamp { lo, hi } => ew::clamp(arg(0), *lo, *hi),
        Op::MaxPool {
            kernel,
            strides,
            pads,
            dilations,
            ..
        } => pool::max_pool(arg(0), *kernel, *strides, *pads, *dilations, shape),
        Op::AvgPool {
            kernel,
            strides,
            pads,
            count_include_pad,
            in_zero,
            mult,
            shift,
            out_zero,
            lo,
            hi,
        } => pool::avg_pool(
            arg(0),
            *kernel,
            *strides,
            *pads,
            *count_include_pad,
            *in_zero,
            *mult,
            *shift,
            *out_zero,
            *lo,
            *hi,
            shape,
        ),
        Op::AvgPoolF32 {
            kernel,
            strides,
            pads,
            count_include_pad,
            in_zero,
            out_zero,
            lo,
            hi,
            x_scale,
            y_scale,
            zero_shift,
            global,
            ..
        } => pool::avg_pool_f32(
            arg(0),
            *kernel,
            *strides,
            *pads,
            *count_include_pad,
            *in_zero,
            *out_zero,
            *lo,
            *hi,
            pool::F32Pool {
                x_scale: *x_scale,
                y_scale: *y_scale,
                zero_shift: *zero_shift,
                global: *global,
            },
            shape,
        ),
        Op::Lookup { in_lo, table } => {
            ew::lookup(arg(0), *in_lo, table).map_err(|value| ExecError::LookupMiss {
                node: i,
                name: node.name.clone(),
                value,
            })?
        }
        Op::Softmax {
            axis,
            exp_table,
            out_mult,
            out_zero,
            lo,
            hi,
        } => ew::softmax(
            arg(0),
            *axis as usize,
            exp_table,
            *out_mult,
            *out_zero,
            *lo,
            *hi,
        ),
        Op::Sqrt { bias } => ew::sqrt(arg(0), *bias),
        Op::Div {
            mult,
            out_zero,
            lo,
            hi,
        } => ew::div(arg(0), arg(1), *mult, *out_zero, *lo, *hi),
        Op::Reshape => layout::reshape(arg(0), shape),
        Op::Transpose { perm } => layout::transpose(arg(0), perm),
        Op::Concat { axis } => {
            let xs: Vec<&ArrayD<i64>> = node.inputs.iter().map(|&t| &values[t as usize]).collect();
            layout::concat(&xs, *axis as usize)
        }
        Op::Gather { map } => {
            let xs: Vec<&ArrayD<i64>> = node.inputs.iter().map(|&t| &values[t as usize]).collect();
            layout::gather(&xs, map, shape)
        }
    })
}

/// How many values of node `t` its op clamped at its lower and at its upper
/// bound by more than `slack` steps (the op recomputed without the bounds;
/// requantizing ops only, and zeros for any other op). A value clamped where
/// its calibrated range ends is a saturation: the plan computed something
/// else than the model.
pub fn clamped(
    plan: &CheckedPlan,
    trace: &Trace,
    t: crate::TensorId,
    slack: i64,
) -> (usize, usize) {
    let node = &plan.nodes[t as usize];
    let mut op = node.op.clone();
    let (lo, hi) = match &mut op {
        Op::Rescale { lo, hi, .. }
        | Op::Add { lo, hi, .. }
        | Op::Mul { lo, hi, .. }
        | Op::AvgPool { lo, hi, .. }
        | Op::AvgPoolF32 { lo, hi, .. }
        | Op::Div { lo, hi, .. }
        | Op::Softmax { lo, hi, .. } => {
            let bounds = (*lo, *hi);
            (*lo, *hi) = (i64::MIN / 4, i64::MAX / 4);
            bounds
        }
        _ => return (0, 0),
    };
    let Ok(wide) = eval(t as usize, node, &op, &trace.values[..t as usize]) else {
        return (0, 0);
    };
    wide.iter().fold((0, 0), |(b, a), &v| {
        (b + (v < lo - slack) as usize, a + (v > hi + slack) as usize)
    })
}

/// Runs the plan on quantized inputs (one array per graph input).
pub fn execute(plan: &CheckedPlan, inputs: Vec<ArrayD<i64>>) -> Result<Trace, ExecError> {
    if inputs.len() != plan.inputs.len() {
        return Err(ExecError::InputCount {
            expected: plan.inputs.len(),
            found: inputs.len(),
        });
    }
    for (inp, arr) in plan.inputs.iter().zip(&inputs) {
        if arr.shape() != inp.shape.as_slice() {
            return Err(ExecError::InputSize {
                name: inp.name.clone(),
                expected: inp.shape.iter().product(),
                found: arr.len(),
                shape: inp.shape.clone(),
            });
        }
    }
    let mut inputs: Vec<Option<ArrayD<i64>>> = inputs.into_iter().map(Some).collect();
    let mut values: Vec<ArrayD<i64>> = Vec::with_capacity(plan.nodes.len());
    for (i, node) in plan.nodes.iter().enumerate() {
        let out = match &node.op {
            Op::Input { index } => inputs[*index as usize]
                .take()
                .expect("each input is read once (checked)"),
            op => eval(i, node, op, &values)?,
        };
        let r = node.info.range;
        if let Some(&value) = out.iter().find(|&&v| v < r.lo || v > r.hi) {
            return Err(ExecError::OutOfRange {
                node: i,
                name: node.name.clone(),
                value,
                lo: r.lo,
                hi: r.hi,
            });
        }
        values.push(out);
    }
    Ok(Trace { values })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{IntRange, Plan};

    fn tiny_plan() -> Plan {
        let mut p = Plan {
            name: "tiny".into(),
            inputs: vec![PlanInput {
                name: "x".into(),
                shape: vec![1, 2],
                range: IntRange { lo: -128, hi: 127 },
                quant: InputQuant::Affine {
                    scale: 0.5,
                    zero_point: 0,
                },
            }],
            ..Plan::default()
        };
        let x = p.push("x", Op::Input { index: 0 }, vec![], None).unwrap();
        let w = p
            .push(
                "w",
                Op::Const {
                    values: vec![1, 2, 3, 4],
                },
                vec![],
                Some(vec![2, 2]),
            )
            .unwrap();
        let acc = p
            .push(
                "mm",
                Op::MatMul {
                    a_zero: 0,
                    b_zero: vec![0],
                },
                vec![x, w],
                None,
            )
            .unwrap();
        let y = p
            .push(
                "rq",
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
                vec![acc],
                None,
            )
            .unwrap();
        p.outputs.push(PlanOutput {
            name: "y".into(),
            tensor: y,
            dequant: OutputDequant::Affine {
                scales: vec![0.25],
                zero_points: vec![0],
                axis: 0,
            },
        });
        p
    }

    #[test]
    fn runs_a_checked_plan_end_to_end() {
        let plan = CheckedPlan::new(tiny_plan()).unwrap();
        let x = quantize_input(&plan.inputs[0], &[1.0, 1.25]).unwrap();
        // 1.0/0.5 = 2, 1.25/0.5 = 2.5 -> 2 (half to even)
        assert_eq!(x.iter().copied().collect::<Vec<_>>(), vec![2, 2]);
        let trace = execute(&plan, vec![x]).unwrap();
        // [2,2] x [[1,2],[3,4]] = [8, 12]; /2 -> [4, 6]
        let y = trace.get(plan.outputs[0].tensor);
        assert_eq!(y.iter().copied().collect::<Vec<_>>(), vec![4, 6]);
        let f = dequantize_output(&plan.outputs[0], y);
        assert_eq!(f.iter().copied().collect::<Vec<_>>(), vec![1.0, 1.5]);
    }

    #[test]
    fn input_quantization_saturates_and_rejects_non_finite() {
        let plan = CheckedPlan::new(tiny_plan()).unwrap();
        let q = quantize_input(&plan.inputs[0], &[1000.0, -1000.0]).unwrap();
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![127, -128]);
        assert!(matches!(
            quantize_input(&plan.inputs[0], &[f64::NAN, 0.0]),
            Err(ExecError::NotFinite { index: 0, .. })
        ));
        assert!(matches!(
            quantize_input(&plan.inputs[0], &[0.0, 1e300]),
            Err(ExecError::NotFinite { index: 1, .. })
        ));
        assert!(matches!(
            quantize_input(&plan.inputs[0], &[0.0]),
            Err(ExecError::InputSize {
                expected: 2,
                found: 1,
                ..
            })
        ));
    }

    #[test]
    fn checker_rejects_a_tampered_range_and_a_forward_reference() {
        let mut p = tiny_plan();
        p.nodes[2].info.range.hi = 10;
        assert!(matches!(
            CheckedPlan::new(p),
            Err(crate::PlanError::BadNode { node: 2, .. })
        ));
        let mut p = tiny_plan();
        p.nodes[2].inputs[1] = 3;
        assert!(matches!(
            CheckedPlan::new(p),
            Err(crate::PlanError::BadNode { node: 2, .. })
        ));
        let mut p = tiny_plan();
        p.inputs[0].quant = InputQuant::Affine {
            scale: -1.0,
            zero_point: 0,
        };
        assert!(
            matches!(CheckedPlan::new(p), Err(crate::PlanError::Invalid(_))),
            "negative scales rejected"
        );
    }

    #[test]
    fn plan_bytes_round_trip_and_reject_other_versions() {
        let p = tiny_plan();
        let bytes = p.to_bytes();
        assert_eq!(Plan::from_bytes(&bytes).unwrap(), p);
        assert_eq!(p.hash_hex().len(), 64);
        let mut other = bytes.clone();
        other[8] = 99;
        assert_eq!(
            Plan::from_bytes(&other),
            Err(crate::PlanError::Version {
                found: 99,
                supported: crate::PLAN_FORMAT_VERSION
            })
        );
        assert_eq!(
            Plan::from_bytes(b"garbage"),
            Err(crate::PlanError::BadMagic)
        );
        assert!(matches!(
            Plan::from_bytes(&bytes[..bytes.len() - 3]),
            Err(crate::PlanError::Corrupt(_))
        ));
        let mut p2 = p.clone();
        p2.nodes[1].op = Op::Const {
            values: vec![1, 2, 3, 5],
        };
        assert_ne!(
            p2.hash_hex(),
            p.hash_hex(),
            "a different weight is a different model"
        );
    }

    #[test]
    fn argmax_takes_the_first_largest_and_skips_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), Some(1));
        assert_eq!(argmax(&[f64::NAN, -2.0, f64::NAN, -1.0]), Some(3));
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[f64::NAN]), None);
    }
}

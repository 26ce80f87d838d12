//! The overflow guard of the range rules: a plan whose parameters could make
//! any op's worst-case intermediate exceed what the executor (i128) and the
//! circuits (a 254-bit field) hold is rejected before anything runs (hostile
//! or corrupt plans).

use super::VALUE_LIMIT;
use crate::plan::{IntRange, Op, Plan};

/// Intermediate values of every op (before rounding and clamping) must stay
/// below this magnitude: the executor computes in i128, circuits in a
/// 254-bit field.
pub const INTERMEDIATE_LIMIT: i128 = 1 << 120;
const ZERO_LIMIT: i64 = 1 << 40;

/// `max |v - z|` over a range, checked.
fn dev(r: IntRange, z: i64) -> Option<i128> {
    if z.unsigned_abs() > ZERO_LIMIT as u64 {
        return None;
    }
    Some(
        (r.lo as i128 - z as i128)
            .abs()
            .max((r.hi as i128 - z as i128).abs()),
    )
}

fn max_abs(v: &[i64]) -> i128 {
    v.iter().map(|x| (*x as i128).abs()).max().unwrap_or(0)
}

/// `max |a - a_zero| · max |b - b_zero| · terms + max |bias|` of a product
/// with operands `inputs` (`[a, b]` or `[a, b, bias]`), checked.
fn product_bound(
    plan: &Plan,
    inputs: &[u32],
    a_zero: i64,
    b_zero: &[i64],
    terms: i128,
) -> Option<i128> {
    let r = |k: usize| plan.info(inputs[k]).range;
    let b = b_zero
        .iter()
        .map(|&z| dev(r(1), z))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .max()?;
    let bias = match inputs.get(2) {
        Some(_) => dev(r(2), 0)?,
        None => 0,
    };
    dev(r(0), a_zero)?
        .checked_mul(b)?
        .checked_mul(terms)?
        .checked_add(bias)
}

/// Rejects parameters whose worst case could overflow the executor's
/// arithmetic (hostile or corrupt plans).
pub(super) fn arithmetic_guard(plan: &Plan, op: &Op, inputs: &[u32]) -> Option<()> {
    let r = |k: usize| plan.info(inputs[k]).range;
    let shape = |k: usize| plan.info(inputs[k]).shape.clone();
    let ok = |m: Option<i128>| m.filter(|&m| m <= INTERMEDIATE_LIMIT).map(|_| ());
    let shift_ok = |s: u32| (s <= 96).then_some(());
    match op {
        Op::MatMul { a_zero, b_zero } => {
            let k = *shape(0).last()? as i128;
            ok(product_bound(plan, inputs, *a_zero, b_zero, k))
        }
        Op::Conv { x_zero, w_zero, .. } => {
            let taps = shape(1)
                .get(1..)?
                .iter()
                .try_fold(1i128, |a, &d| a.checked_mul(d as i128))?;
            ok(product_bound(plan, inputs, *x_zero, w_zero, taps))
        }
        Op::Rescale {
            in_zero,
            mult,
            bias,
            shift,
            out_zero,
            ..
        } => {
            shift_ok(*shift)?;
            dev(IntRange { lo: 0, hi: 0 }, *out_zero)?;
            ok(dev(r(0), *in_zero)?
                .checked_mul(max_abs(mult))?
                .checked_add(max_abs(bias)))
        }
        Op::Add {
            a_zero,
            b_zero,
            a_mult,
            b_mult,
            shift,
            out_zero,
            ..
        } => {
            shift_ok(*shift)?;
            dev(IntRange { lo: 0, hi: 0 }, *out_zero)?;
            let a = dev(r(0), *a_zero)?.checked_mul((*a_mult as i128).abs())?;
            ok(dev(r(1), *b_zero)?
                .checked_mul((*b_mult as i128).abs())?
                .checked_add(a))
        }
        Op::Mul {
            a_zero,
            b_zero,
            mult,
            shift,
            out_zero,
            ..
        } => {
            shift_ok(*shift)?;
            dev(IntRange { lo: 0, hi: 0 }, *out_zero)?;
            ok(dev(r(0), *a_zero)?
                .checked_mul(dev(r(1), *b_zero)?)?
                .checked_mul((*mult as i128).abs()))
        }
        Op::AvgPool {
            kernel,
            in_zero,
            mult,
            shift,
            out_zero,
            ..
        }
        | Op::AvgPoolF32 {
            kernel,
            in_zero,
            mult,
            shift,
            out_zero,
            ..
        } => {
            shift_ok(*shift)?;
            dev(IntRange { lo: 0, hi: 0 }, *out_zero)?;
            let area = (kernel[0] as i128).checked_mul(kernel[1] as i128)?;
            ok(area.checked_mul(1i128 << shift))?;
            ok(dev(r(0), *in_zero)?
                .checked_mul(area)?
                .checked_mul((*mult as i128).abs()))
        }
        Op::Softmax {
            axis,
            exp_table,
            out_mult,
            out_zero,
            ..
        } => {
            dev(IntRange { lo: 0, hi: 0 }, *out_zero)?;
            let lane = *shape(0).get(*axis as usize)? as i128;
            ok(max_abs(exp_table)
                .checked_mul(lane)?
                .checked_mul((*out_mult as i128).abs().max(1)))
        }
        Op::Div { mult, out_zero, .. } => {
            dev(IntRange { lo: 0, hi: 0 }, *out_zero)?;
            // the divide chip's widths stay far below its 2^120 bound
            dev(r(0), 0)?
                .checked_mul((*mult as i128).abs())
                .filter(|&m| m <= 1 << 100)
                .map(|_| ())
        }
        Op::Sqrt { bias } => (r(0).hi as i128)
            .checked_add(*bias as i128)
            .filter(|&m| m <= VALUE_LIMIT)
            .map(|_| ()),
        _ => Some(()),
    }
}

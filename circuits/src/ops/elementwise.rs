//! Requantization, elementwise arithmetic, clamps, table lookups and softmax.

use super::index::{axis_lanes, broadcast_index, channel_of};
use crate::arith::{div_round_half_even, saturate, shift_round_half_even};
use ndarray::{ArrayD, IxDyn};

fn at(v: &[i64], c: usize) -> i64 {
    match v.len() {
        0 => 0,
        1 => v[0],
        _ => v[c],
    }
}

/// `y = clamp(rhe(((x - in_zero) * mult[c] + bias[c]) / 2^shift) + out_zero, lo, hi)`.
/// Requantizes an accumulator (`in_zero = 0`) or re-scales an activation.
#[allow(clippy::too_many_arguments)]
pub fn rescale(
    x: &ArrayD<i64>,
    in_zero: i64,
    mult: &[i64],
    bias: &[i64],
    shift: u32,
    axis: usize,
    out_zero: i64,
    lo: i64,
    hi: i64,
) -> ArrayD<i64> {
    let per_channel = (mult.len() > 1 || bias.len() > 1) && axis < x.ndim();
    let shape = x.shape().to_vec();
    let one = |v: i64, c: usize| {
        let num = (v as i128 - in_zero as i128) * at(mult, c) as i128 + at(bias, c) as i128;
        saturate(shift_round_half_even(num, shift) + out_zero as i128, lo, hi)
    };
    let out: Vec<i64> = x
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let c = if per_channel {
                channel_of(k, &shape, axis)
            } else {
                0
            };
            one(v, c)
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("shape matches data")
}

/// `f` of the broadcast operands at every element of `shape`.
fn zip_broadcast(
    a: &ArrayD<i64>,
    b: &ArrayD<i64>,
    shape: &[usize],
    f: impl Fn(i64, i64) -> i64,
) -> ArrayD<i64> {
    let av: Vec<i64> = a.iter().copied().collect();
    let bv: Vec<i64> = b.iter().copied().collect();
    let len: usize = shape.iter().product();
    let out: Vec<i64> = (0..len)
        .map(|k| {
            f(
                av[broadcast_index(k, shape, a.shape())],
                bv[broadcast_index(k, shape, b.shape())],
            )
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), out).expect("shape matches data")
}

/// Broadcasting `clamp(rhe(((a - za) ma + (b - zb) mb) / 2^shift) + out_zero, lo, hi)`.
#[allow(clippy::too_many_arguments)]
pub fn add(
    a: &ArrayD<i64>,
    b: &ArrayD<i64>,
    shape: &[usize],
    a_zero: i64,
    b_zero: i64,
    a_mult: i64,
    b_mult: i64,
    shift: u32,
    out_zero: i64,
    lo: i64,
    hi: i64,
) -> ArrayD<i64> {
    zip_broadcast(a, b, shape, |x, y| {
        let num = (x as i128 - a_zero as i128) * a_mult as i128
            + (y as i128 - b_zero as i128) * b_mult as i128;
        saturate(shift_round_half_even(num, shift) + out_zero as i128, lo, hi)
    })
}

/// Broadcasting `clamp(rhe((a - za)(b - zb) mult / 2^shift) + out_zero, lo, hi)`.
#[allow(clippy::too_many_arguments)]
pub fn mul(
    a: &ArrayD<i64>,
    b: &ArrayD<i64>,
    shape: &[usize],
    a_zero: i64,
    b_zero: i64,
    mult: i64,
    shift: u32,
    out_zero: i64,
    lo: i64,
    hi: i64,
) -> ArrayD<i64> {
    zip_broadcast(a, b, shape, |x, y| {
        let num = (x as i128 - a_zero as i128) * (y as i128 - b_zero as i128) * mult as i128;
        saturate(shift_round_half_even(num, shift) + out_zero as i128, lo, hi)
    })
}

pub fn clamp(x: &ArrayD<i64>, lo: i64, hi: i64) -> ArrayD<i64> {
    x.mapv(|v| v.clamp(lo, hi))
}

/// `y = table[x - in_lo]`; `None` (with the value) if `x` misses the table.
pub fn lookup(x: &ArrayD<i64>, in_lo: i64, table: &[i64]) -> Result<ArrayD<i64>, i64> {
    let mut out = x.clone();
    for v in out.iter_mut() {
        let idx = *v as i128 - in_lo as i128;
        if idx < 0 || idx >= table.len() as i128 {
            return Err(*v);
        }
        *v = table[idx as usize];
    }
    Ok(out)
}

/// Integer softmax along `axis`: `e_i = exp_table[max - x_i]`,
/// `y_i = clamp(rhe(e_i out_mult / Σ e) + out_zero, lo, hi)`.
pub fn softmax(
    x: &ArrayD<i64>,
    axis: usize,
    exp_table: &[i64],
    out_mult: i64,
    out_zero: i64,
    lo: i64,
    hi: i64,
) -> ArrayD<i64> {
    let xv: Vec<i64> = x.iter().copied().collect();
    let mut out = xv.clone();
    for lane in axis_lanes(x.shape(), axis) {
        let max = lane.iter().map(|&j| xv[j]).max().unwrap_or(0);
        let e: Vec<i128> = lane
            .iter()
            .map(|&j| exp_table.get((max - xv[j]) as usize).copied().unwrap_or(0) as i128)
            .collect();
        let sum: i128 = e.iter().sum();
        for (&j, ei) in lane.iter().zip(e) {
            out[j] = saturate(
                div_round_half_even(ei * out_mult as i128, sum.max(1)) + out_zero as i128,
                lo,
                hi,
            );
        }
    }
    ArrayD::from_shape_vec(IxDyn(x.shape()), out).expect("shape matches data")
}

/// `y = floor(sqrt(x + bias))` (the plan checks `x + bias >= 0`; below
/// zero reads 0).
pub fn sqrt(x: &ArrayD<i64>, bias: i64) -> ArrayD<i64> {
    x.mapv(|v| crate::plan::infer::isqrt(v as i128 + bias as i128) as i64)
}

/// `y = clamp(rhe(a mult / b) + out_zero, lo, hi)` with `b` shaped like `a`
/// or one divisor per row (`a`'s last axis); a divisor below 1 (never in a
/// checked plan) divides as 1.
pub fn div(
    a: &ArrayD<i64>,
    b: &ArrayD<i64>,
    mult: i64,
    out_zero: i64,
    lo: i64,
    hi: i64,
) -> ArrayD<i64> {
    let per_row = b.len() != a.len();
    let row = a.shape().last().copied().unwrap_or(1).max(1);
    let bv: Vec<i64> = b.iter().copied().collect();
    let out: Vec<i64> = a
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let d = if per_row { bv[i / row] } else { bv[i] };
            saturate(
                div_round_half_even(v as i128 * mult as i128, (d as i128).max(1))
                    + out_zero as i128,
                lo,
                hi,
            )
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(a.shape()), out).expect("shape matches data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr1;

    #[test]
    fn rescale_rounds_half_to_even_and_saturates() {
        // multiply by 1/2: 1 -> 0.5 -> 0, 3 -> 1.5 -> 2, 5 -> 2.5 -> 2, -3 -> -1.5 -> -2
        let x = arr1(&[1i64, 3, 5, -3, 1000, -1000]).into_dyn();
        let y = rescale(&x, 0, &[1], &[], 1, 0, 0, -128, 127);
        assert_eq!(y, arr1(&[0i64, 2, 2, -2, 127, -128]).into_dyn());
    }

    #[test]
    fn rescale_adds_zero_points_and_saturates_uint8() {
        let x = arr1(&[-10i64, 0, 10, 600]).into_dyn();
        let y = rescale(&x, 0, &[1], &[], 0, 0, 128, 0, 255);
        assert_eq!(y, arr1(&[118i64, 128, 138, 255]).into_dyn());
        let y = rescale(&x, 0, &[1], &[], 0, 0, 0, 0, 255);
        assert_eq!(y, arr1(&[0i64, 0, 10, 255]).into_dyn());
        let y = rescale(
            &arr1(&[130i64]).into_dyn(),
            128,
            &[1],
            &[],
            0,
            0,
            0,
            -128,
            127,
        );
        assert_eq!(
            y,
            arr1(&[2i64]).into_dyn(),
            "input zero point is subtracted first"
        );
    }

    #[test]
    fn rescale_per_channel_uses_each_channel_multiplier() {
        let x = ndarray::arr2(&[[4i64, 4], [4, 4]]).into_dyn();
        let y = rescale(&x, 0, &[1, 3], &[0, 2], 1, 1, 0, -128, 127);
        // column 0: 4*1/2 = 2; column 1: (4*3+2)/2 = 7
        assert_eq!(y, ndarray::arr2(&[[2i64, 7], [2, 7]]).into_dyn());
    }

    #[test]
    fn add_broadcasts_and_rounds() {
        let a = ndarray::arr2(&[[1i64, 2], [3, 4]]).into_dyn();
        let b = arr1(&[1i64, -1]).into_dyn();
        let y = add(&a, &b, &[2, 2], 0, 0, 1, 1, 1, 0, -128, 127);
        // (a + b)/2: [[1, 0.5->0],[2, 1.5->2]]
        assert_eq!(y, ndarray::arr2(&[[1i64, 0], [2, 2]]).into_dyn());
    }

    #[test]
    fn mul_saturates() {
        let a = arr1(&[100i64, -100]).into_dyn();
        let y = mul(&a, &a, &[2], 0, 0, 1, 0, 0, -128, 127);
        assert_eq!(y, arr1(&[127i64, 127]).into_dyn());
    }

    #[test]
    fn lookup_reports_values_outside_the_table() {
        let x = arr1(&[-1i64, 0, 1]).into_dyn();
        assert_eq!(
            lookup(&x, -1, &[10, 20, 30]).unwrap(),
            arr1(&[10i64, 20, 30]).into_dyn()
        );
        assert_eq!(lookup(&x, 0, &[10, 20, 30]), Err(-1));
    }

    #[test]
    fn softmax_of_equal_values_is_uniform() {
        let x = arr1(&[5i64, 5, 5, 5]).into_dyn();
        let y = softmax(&x, 0, &[1 << 16, 1 << 15], 256, 0, 0, 255);
        assert_eq!(y, arr1(&[64i64, 64, 64, 64]).into_dyn());
    }
}

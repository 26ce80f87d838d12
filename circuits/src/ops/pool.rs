//! Max and average pooling over NCHW tensors.

use super::index::pool_windows;
use crate::arith::{div_round_half_even, saturate};
use ndarray::{ArrayD, IxDyn};

/// `f(kernel area, taps inside the input)` for every output of a pooling
/// over the windows [`pool_windows`] gives.
fn windows(
    x: &ArrayD<i64>,
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    out_shape: &[usize],
    mut f: impl FnMut(usize, &mut dyn Iterator<Item = i64>) -> i64,
) -> ArrayD<i64> {
    let xv: Vec<i64> = x.iter().copied().collect();
    let out: Vec<i64> = pool_windows(x.shape(), out_shape, kernel, strides, pads, dil)
        .iter()
        .map(|w| f(kernel[0] * kernel[1], &mut w.iter().map(|&j| xv[j])))
        .collect();
    ArrayD::from_shape_vec(IxDyn(out_shape), out).expect("checked pool shape")
}

/// Max over each window; padded taps are skipped (they never win).
pub fn max_pool(
    x: &ArrayD<i64>,
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    out_shape: &[usize],
) -> ArrayD<i64> {
    windows(x, kernel, strides, pads, dil, out_shape, |_, taps| {
        taps.max().unwrap_or(i64::MIN)
    })
}

/// `clamp(rhe(Σ (x - in_zero) mult / (count 2^shift)) + out_zero, lo, hi)`.
#[allow(clippy::too_many_arguments)]
pub fn avg_pool(
    x: &ArrayD<i64>,
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    count_include_pad: bool,
    in_zero: i64,
    mult: i64,
    shift: u32,
    out_zero: i64,
    lo: i64,
    hi: i64,
    out_shape: &[usize],
) -> ArrayD<i64> {
    windows(x, kernel, strides, pads, [1, 1], out_shape, |area, taps| {
        let (mut sum, mut inside) = (0i128, 0i128);
        for t in taps {
            sum += t as i128 - in_zero as i128;
            inside += 1;
        }
        let count = if count_include_pad {
            area as i128
        } else {
            inside.max(1)
        };
        let den = count << shift;
        saturate(
            div_round_half_even(sum * mult as i128, den) + out_zero as i128,
            lo,
            hi,
        )
    })
}

/// The float32 parameters of [`avg_pool_f32`] (see `Op::AvgPoolF32`).
#[derive(Clone, Copy, Debug)]
pub struct F32Pool {
    pub x_scale: f32,
    pub y_scale: f32,
    pub zero_shift: i64,
    /// onnxruntime's integer path (a kernel over the whole input)
    pub global: bool,
}

/// onnxruntime's float32 average pooling of int8 values (`Op::AvgPoolF32`),
/// before the clamp: the unclamped rounded value `nearbyint(t) - zero_shift`
/// of one window (the taps inside the input, in row-major order, as `x -
/// in_zero`), `count` its divisor.
pub fn avg_f32_unclamped(taps: &[i64], count: usize, out_zero: i64, f: F32Pool) -> i64 {
    if f.global {
        let n = count as f32;
        let scale = f.x_scale / (f.y_scale * n);
        let acc: i64 = taps.iter().sum();
        let v = acc as f32 * scale;
        return v.round_ties_even() as i64 + out_zero;
    }
    let mut acc = 0f32;
    for &d in taps {
        acc += f.x_scale * d as f32;
    }
    let avg = acc / count as f32;
    let t = avg / f.y_scale + (out_zero + f.zero_shift) as f32;
    t.round_ties_even() as i64 - f.zero_shift
}

/// `Op::AvgPoolF32`: onnxruntime's float32 average pooling, clamped.
#[allow(clippy::too_many_arguments)]
pub fn avg_pool_f32(
    x: &ArrayD<i64>,
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    count_include_pad: bool,
    in_zero: i64,
    out_zero: i64,
    lo: i64,
    hi: i64,
    f: F32Pool,
    out_shape: &[usize],
) -> ArrayD<i64> {
    windows(x, kernel, strides, pads, [1, 1], out_shape, |area, taps| {
        let d: Vec<i64> = taps.map(|t| t - in_zero).collect();
        let count = if count_include_pad || f.global {
            area
        } else {
            d.len().max(1)
        };
        avg_f32_unclamped(&d, count, out_zero, f).clamp(lo, hi)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_pool_ignores_padding_even_for_negative_values() {
        let x = ArrayD::from_elem(IxDyn(&[1, 1, 2, 2]), -128i64);
        let y = max_pool(&x, [2, 2], [1, 1], [1, 1, 1, 1], [1, 1], &[1, 1, 3, 3]);
        assert!(y.iter().all(|&v| v == -128));
    }

    #[test]
    fn avg_pool_counts_with_or_without_padding() {
        let x = ArrayD::from_elem(IxDyn(&[1, 1, 2, 2]), 4i64);
        let incl = avg_pool(
            &x,
            [2, 2],
            [1, 1],
            [1, 1, 0, 0],
            true,
            0,
            1,
            0,
            0,
            -128,
            127,
            &[1, 1, 2, 2],
        );
        let excl = avg_pool(
            &x,
            [2, 2],
            [1, 1],
            [1, 1, 0, 0],
            false,
            0,
            1,
            0,
            0,
            -128,
            127,
            &[1, 1, 2, 2],
        );
        assert_eq!(incl.iter().copied().collect::<Vec<_>>(), vec![1, 2, 2, 4]);
        assert_eq!(excl.iter().copied().collect::<Vec<_>>(), vec![4, 4, 4, 4]);
    }
}

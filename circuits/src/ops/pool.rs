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

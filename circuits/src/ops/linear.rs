//! Matrix products and convolutions on integers (exact, no rounding).

use ndarray::{ArrayD, IxDyn};

fn zero_at(zeros: &[i64], c: usize) -> i64 {
    if zeros.len() == 1 {
        zeros[0]
    } else {
        zeros[c]
    }
}

/// `out[.., m, n] = Σ_k (a - a_zero)(b - b_zero[n]) + bias[n]`.
pub fn matmul(
    a: &ArrayD<i64>,
    b: &ArrayD<i64>,
    bias: Option<&ArrayD<i64>>,
    a_zero: i64,
    b_zero: &[i64],
) -> ArrayD<i64> {
    let (ash, bsh) = (a.shape(), b.shape());
    let (m, k) = (ash[ash.len() - 2], ash[ash.len() - 1]);
    let n = bsh[bsh.len() - 1];
    let batch: usize = ash[..ash.len() - 2].iter().product();
    let b_batched = bsh.len() > 2;
    let av: Vec<i64> = a.iter().copied().collect();
    let bv: Vec<i64> = b.iter().copied().collect();
    let biasv: Option<Vec<i64>> = bias.map(|t| t.iter().copied().collect());
    let mut out = vec![0i64; batch * m * n];
    for bi in 0..batch {
        let a_off = bi * m * k;
        let b_off = if b_batched { bi * k * n } else { 0 };
        for i in 0..m {
            for j in 0..n {
                let zb = zero_at(b_zero, j) as i128;
                let mut acc: i128 = biasv.as_ref().map_or(0, |v| v[j] as i128);
                for t in 0..k {
                    acc += (av[a_off + i * k + t] as i128 - a_zero as i128)
                        * (bv[b_off + t * n + j] as i128 - zb);
                }
                out[bi * m * n + i * n + j] = acc as i64;
            }
        }
    }
    let mut shape = ash[..ash.len() - 2].to_vec();
    shape.extend([m, n]);
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("shape matches data")
}

/// 2-D NCHW convolution with groups; padding contributes zero.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &ArrayD<i64>,
    w: &ArrayD<i64>,
    bias: Option<&ArrayD<i64>>,
    x_zero: i64,
    w_zero: &[i64],
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
    group: usize,
    out_shape: &[usize],
) -> ArrayD<i64> {
    let (n, c_in, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (c_out, c_in_g, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
    let (oh, ow) = (out_shape[2], out_shape[3]);
    let out_per_g = c_out / group;
    let xv: Vec<i64> = x.iter().copied().collect();
    let wv: Vec<i64> = w.iter().copied().collect();
    let biasv: Option<Vec<i64>> = bias.map(|t| t.iter().copied().collect());
    let mut out = vec![0i64; n * c_out * oh * ow];
    for b in 0..n {
        for o in 0..c_out {
            let g = o / out_per_g;
            let zw = zero_at(w_zero, o) as i128;
            for y in 0..oh {
                for xx in 0..ow {
                    let mut acc: i128 = biasv.as_ref().map_or(0, |v| v[o] as i128);
                    for ci in 0..c_in_g {
                        let c = g * c_in_g + ci;
                        for ky in 0..kh {
                            let iy =
                                (y * strides[0] + ky * dilations[0]) as isize - pads[0] as isize;
                            if iy < 0 || iy as usize >= h {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (xx * strides[1] + kx * dilations[1]) as isize
                                    - pads[1] as isize;
                                if ix < 0 || ix as usize >= wd {
                                    continue;
                                }
                                let xval = xv[((b * c_in + c) * h + iy as usize) * wd + ix as usize]
                                    as i128
                                    - x_zero as i128;
                                let wval = wv[((o * c_in_g + ci) * kh + ky) * kw + kx] as i128 - zw;
                                acc += xval * wval;
                            }
                        }
                    }
                    out[((b * c_out + o) * oh + y) * ow + xx] = acc as i64;
                }
            }
        }
    }
    ArrayD::from_shape_vec(IxDyn(out_shape), out).expect("shape matches data")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::arr2;

    #[test]
    fn matmul_subtracts_zero_points_and_adds_bias() {
        let a = arr2(&[[1i64, 2], [3, 4]]).into_dyn();
        let b = arr2(&[[5i64, 6], [7, 8]]).into_dyn();
        let bias = ndarray::arr1(&[10i64, -10]).into_dyn();
        let out = matmul(&a, &b, Some(&bias), 1, &[5, 6]);
        // (a-1) = [[0,1],[2,3]], (b - [5,6]) = [[0,0],[2,2]]
        assert_eq!(out, arr2(&[[12i64, -8], [16, -4]]).into_dyn());
    }

    #[test]
    fn matmul_at_int8_extremes_does_not_wrap() {
        let a = ArrayD::from_elem(IxDyn(&[1, 512]), -128i64);
        let b = ArrayD::from_elem(IxDyn(&[512, 1]), -128i64);
        let out = matmul(&a, &b, None, 127, &[127]);
        assert_eq!(out[[0, 0]], 512 * 255 * 255);
    }

    #[test]
    fn conv_padding_reads_the_zero_point() {
        // 1x1x2x2 input all equal to the zero point: every output is the bias
        let x = ArrayD::from_elem(IxDyn(&[1, 1, 2, 2]), 3i64);
        let w = ArrayD::from_elem(IxDyn(&[1, 1, 3, 3]), 1i64);
        let bias = ndarray::arr1(&[7i64]).into_dyn();
        let out = conv2d(
            &x,
            &w,
            Some(&bias),
            3,
            &[0],
            [1, 1],
            [1, 1, 1, 1],
            [1, 1],
            1,
            &[1, 1, 2, 2],
        );
        assert!(out.iter().all(|&v| v == 7));
        // with zero point 0 every output sums the 4 inputs it covers
        let out = conv2d(
            &x,
            &w,
            None,
            0,
            &[0],
            [1, 1],
            [1, 1, 1, 1],
            [1, 1],
            1,
            &[1, 1, 2, 2],
        );
        assert!(out.iter().all(|&v| v == 12));
    }
}

//! Matrix products and convolutions on integers (exact, no rounding).

use super::index::{ConvGeometry, MatMulDims};
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
    let d = MatMulDims::new(a.shape(), b.shape());
    let (m, k, n) = (d.m, d.k, d.n);
    let av: Vec<i64> = a.iter().copied().collect();
    let bv: Vec<i64> = b.iter().copied().collect();
    let biasv: Option<Vec<i64>> = bias.map(|t| t.iter().copied().collect());
    let mut out = vec![0i64; d.batch * m * n];
    for bi in 0..d.batch {
        let a_off = bi * m * k;
        let b_off = if d.b_batched { bi * k * n } else { 0 };
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
    let ash = a.shape();
    let mut shape = ash[..ash.len() - 2].to_vec();
    shape.extend([m, n]);
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("shape matches data")
}

/// 2-D NCHW convolution with groups; padding contributes zero (it reads the
/// input's zero point). Each output reads the patch [`ConvGeometry::patch`]
/// gives.
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
    let g = ConvGeometry::new(
        x.shape(),
        w.shape(),
        out_shape,
        strides,
        pads,
        dilations,
        group,
    );
    let xv: Vec<i64> = x.iter().copied().collect();
    let wv: Vec<i64> = w.iter().copied().collect();
    let biasv: Option<Vec<i64>> = bias.map(|t| t.iter().copied().collect());
    let mut out = vec![0i64; g.batch * g.c_out * g.positions()];
    let mut patch = Vec::with_capacity(g.taps());
    let cog = g.out_per_group();
    for b in 0..g.batch {
        for gi in 0..g.group {
            for p in 0..g.positions() {
                g.patch(b, gi, p, &mut patch);
                for o in gi * cog..(gi + 1) * cog {
                    let zw = zero_at(w_zero, o) as i128;
                    let mut acc: i128 = biasv.as_ref().map_or(0, |v| v[o] as i128);
                    for (t, tap) in patch.iter().enumerate() {
                        if let Some(at) = *tap {
                            acc += (xv[at] as i128 - x_zero as i128)
                                * (wv[g.weight_index(o, t)] as i128 - zw);
                        }
                    }
                    out[g.output_index(b, o, p)] = acc as i64;
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

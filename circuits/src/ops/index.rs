//! Index maps: which elements of its operands each output element of an op
//! reads (broadcasting, transposition, concatenation, pooling windows,
//! convolution patches, softmax lanes, channels, batched products). The
//! executor computes through these maps and the shard circuit wires through
//! them, so the two cannot disagree about which element goes where. Flat
//! indices are row-major.

/// The flat index into a tensor of shape `input` that numpy broadcasting
/// reads for flat output index `k` of shape `out`.
pub fn broadcast_index(k: usize, out: &[usize], input: &[usize]) -> usize {
    let skip = out.len() - input.len();
    let mut rem = k;
    let mut at = 0;
    let mut stride = 1;
    for d in (0..out.len()).rev() {
        let c = rem % out[d];
        rem /= out[d];
        if d >= skip {
            let size = input[d - skip];
            if size != 1 {
                at += c * stride;
            }
            stride *= size;
        }
    }
    at
}

/// For every flat output index of the transposition of a tensor of shape
/// `shape` by `perm` (output axis `d` is input axis `perm[d]`), the flat
/// input index it reads.
pub fn transpose_map(shape: &[usize], perm: &[u32]) -> Vec<usize> {
    let len: usize = shape.iter().product();
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p as usize]).collect();
    // input strides, in output axis order
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let stride_of: Vec<usize> = perm.iter().map(|&p| strides[p as usize]).collect();
    (0..len)
        .map(|k| {
            let mut rem = k;
            let mut at = 0;
            for d in (0..out_shape.len()).rev() {
                at += (rem % out_shape[d]) * stride_of[d];
                rem /= out_shape[d];
            }
            at
        })
        .collect()
}

/// A concatenation along `axis` of operands of `shapes`, as the runs of
/// consecutive elements that make up the output in order: `(operand, first
/// flat index in it, length)`.
pub fn concat_runs(shapes: &[&[usize]], axis: usize) -> Vec<(usize, usize, usize)> {
    let Some(first) = shapes.first() else {
        return Vec::new();
    };
    let outer: usize = first[..axis].iter().product();
    let inner: Vec<usize> = shapes.iter().map(|s| s[axis..].iter().product()).collect();
    let mut runs = Vec::with_capacity(outer * shapes.len());
    for o in 0..outer {
        for (operand, &len) in inner.iter().enumerate() {
            runs.push((operand, o * len, len));
        }
    }
    runs
}

/// For every output element of a 2-D pooling (NCHW, any batch), the flat
/// input indices of its taps inside the input (padding taps left out), in
/// kernel order.
pub fn pool_windows(
    input: &[usize],
    output: &[usize],
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
) -> Vec<Vec<usize>> {
    let (planes, h, wd) = (input[0] * input[1], input[2], input[3]);
    let (oh, ow) = (output[2], output[3]);
    let mut out = Vec::with_capacity(planes * oh * ow);
    for plane in 0..planes {
        for y in 0..oh {
            for xx in 0..ow {
                let mut taps = Vec::with_capacity(kernel[0] * kernel[1]);
                for ky in 0..kernel[0] {
                    for kx in 0..kernel[1] {
                        let iy = (y * strides[0] + ky * dilations[0]) as isize - pads[0] as isize;
                        let ix = (xx * strides[1] + kx * dilations[1]) as isize - pads[1] as isize;
                        if iy >= 0 && (iy as usize) < h && ix >= 0 && (ix as usize) < wd {
                            taps.push((plane * h + iy as usize) * wd + ix as usize);
                        }
                    }
                }
                out.push(taps);
            }
        }
    }
    out
}

/// The shapes of a 2-D convolution (NCHW input, OIHW weights, any batch and
/// groups) and its patches: output position `p = y * ow + x` of batch
/// entry `b` in group `g` reads, for every tap `t = (ci, ky, kx)` of the
/// group's input channels, one input element or the padding.
#[derive(Clone, Copy, Debug)]
pub struct ConvGeometry {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub group: usize,
    pub strides: [usize; 2],
    pub pads: [usize; 4],
    pub dilations: [usize; 2],
}

impl ConvGeometry {
    pub fn new(
        x: &[usize],
        w: &[usize],
        out: &[usize],
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        group: usize,
    ) -> ConvGeometry {
        ConvGeometry {
            batch: x[0],
            c_in: x[1],
            h: x[2],
            w: x[3],
            c_out: w[0],
            kh: w[2],
            kw: w[3],
            oh: out[2],
            ow: out[3],
            group: group.max(1),
            strides,
            pads,
            dilations,
        }
    }

    /// Output positions per channel.
    pub fn positions(&self) -> usize {
        self.oh * self.ow
    }

    /// Input channels per group.
    pub fn in_per_group(&self) -> usize {
        self.c_in / self.group
    }

    /// Output channels per group.
    pub fn out_per_group(&self) -> usize {
        self.c_out / self.group
    }

    /// Taps of one patch (the weights of one output channel).
    pub fn taps(&self) -> usize {
        self.in_per_group() * self.kh * self.kw
    }

    /// Flat index of weight tap `t` of output channel `o`.
    pub fn weight_index(&self, o: usize, t: usize) -> usize {
        o * self.taps() + t
    }

    /// Flat index of output position `p` of channel `o` in batch entry `b`.
    pub fn output_index(&self, b: usize, o: usize, p: usize) -> usize {
        (b * self.c_out + o) * self.positions() + p
    }

    /// The patch of position `p` of batch entry `b` in group `g`, into
    /// `out` (cleared first): per tap, the flat input index, or None where
    /// the tap falls on padding.
    pub fn patch(&self, b: usize, g: usize, p: usize, out: &mut Vec<Option<usize>>) {
        out.clear();
        let (y, x) = (p / self.ow, p % self.ow);
        let cig = self.in_per_group();
        for ci in g * cig..(g + 1) * cig {
            let plane = (b * self.c_in + ci) * self.h;
            for ky in 0..self.kh {
                let iy =
                    (y * self.strides[0] + ky * self.dilations[0]) as isize - self.pads[0] as isize;
                for kx in 0..self.kw {
                    let ix = (x * self.strides[1] + kx * self.dilations[1]) as isize
                        - self.pads[1] as isize;
                    let inside =
                        iy >= 0 && (iy as usize) < self.h && ix >= 0 && (ix as usize) < self.w;
                    out.push(inside.then(|| (plane + iy as usize) * self.w + ix as usize));
                }
            }
        }
    }
}

/// Every lane of a tensor of shape `shape` along `axis` (the elements that
/// share all other coordinates), as flat indices in axis order; lanes in
/// row-major order of the other axes.
pub fn axis_lanes(shape: &[usize], axis: usize) -> Vec<Vec<usize>> {
    let len = shape.get(axis).copied().unwrap_or(1);
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let total: usize = shape.iter().product();
    let outer = total / (len * inner).max(1);
    let mut lanes = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for k in 0..inner {
            lanes.push((0..len).map(|j| (o * len + j) * inner + k).collect());
        }
    }
    lanes
}

/// The coordinate along `axis` of flat index `k` in a tensor of shape
/// `shape` (the channel of a per-channel parameter).
pub fn channel_of(k: usize, shape: &[usize], axis: usize) -> usize {
    let inner: usize = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    let ch = shape.get(axis).copied().unwrap_or(1).max(1);
    (k / inner.max(1)) % ch
}

/// The shapes of a (batched) matrix product `A[.., m, k] · B[.., k, n]`:
/// a 2-D `B` multiplies every batch entry of `A`; a batched `B` has one
/// matrix per batch entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatMulDims {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub b_batched: bool,
}

impl MatMulDims {
    pub fn new(a: &[usize], b: &[usize]) -> MatMulDims {
        MatMulDims {
            batch: a[..a.len() - 2].iter().product(),
            m: a[a.len() - 2],
            k: a[a.len() - 1],
            n: b[b.len() - 1],
            b_batched: b.len() > 2,
        }
    }

    /// The independent products: one per batch entry of a batched `B`,
    /// else one product of all of `A`'s rows.
    pub fn products(&self) -> usize {
        if self.b_batched {
            self.batch
        } else {
            1
        }
    }

    /// Rows of `A` (and of the result) in each product.
    pub fn rows_per_product(&self) -> usize {
        self.batch * self.m / self.products()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_reads_size_one_axes_at_zero() {
        // out [2, 3], input [3]: every row reads the same three
        let idx: Vec<usize> = (0..6).map(|k| broadcast_index(k, &[2, 3], &[3])).collect();
        assert_eq!(idx, vec![0, 1, 2, 0, 1, 2]);
        // input [2, 1]: every column reads the row's one value
        let idx: Vec<usize> = (0..6)
            .map(|k| broadcast_index(k, &[2, 3], &[2, 1]))
            .collect();
        assert_eq!(idx, vec![0, 0, 0, 1, 1, 1]);
    }

    #[test]
    fn transpose_map_of_a_matrix() {
        // [[0, 1, 2], [3, 4, 5]] transposed: [[0, 3], [1, 4], [2, 5]]
        assert_eq!(transpose_map(&[2, 3], &[1, 0]), vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(transpose_map(&[2, 3], &[0, 1]), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn concat_runs_interleave_per_outer_index() {
        let runs = concat_runs(&[&[2, 1], &[2, 2]], 1);
        assert_eq!(runs, vec![(0, 0, 1), (1, 0, 2), (0, 1, 1), (1, 2, 2)]);
    }

    #[test]
    fn conv_patches_mark_padding() {
        let g = ConvGeometry::new(
            &[1, 1, 2, 2],
            &[1, 1, 3, 3],
            &[1, 1, 2, 2],
            [1, 1],
            [1, 1, 1, 1],
            [1, 1],
            1,
        );
        let mut p = Vec::new();
        g.patch(0, 0, 0, &mut p);
        let inside: Vec<usize> = p.iter().flatten().copied().collect();
        assert_eq!(inside, vec![0, 1, 2, 3]);
        assert_eq!(p.len(), 9);
    }

    #[test]
    fn lanes_and_channels() {
        assert_eq!(axis_lanes(&[2, 3], 1), vec![vec![0, 1, 2], vec![3, 4, 5]]);
        assert_eq!(
            axis_lanes(&[2, 3], 0),
            vec![vec![0, 3], vec![1, 4], vec![2, 5]]
        );
        let ch: Vec<usize> = (0..6).map(|k| channel_of(k, &[1, 3, 2], 1)).collect();
        assert_eq!(ch, vec![0, 0, 1, 1, 2, 2]);
    }
}

//! Reshapes, transposes and concatenations: pure data movement, through
//! the index maps the shard circuit wires with.

use super::index::{concat_runs, transpose_map};
use ndarray::{ArrayD, IxDyn};

pub fn reshape(x: &ArrayD<i64>, shape: &[usize]) -> ArrayD<i64> {
    let flat: Vec<i64> = x.iter().copied().collect();
    ArrayD::from_shape_vec(IxDyn(shape), flat).expect("checked reshape")
}

/// Output axis `d` is input axis `perm[d]`.
pub fn transpose(x: &ArrayD<i64>, perm: &[u32]) -> ArrayD<i64> {
    let xv: Vec<i64> = x.iter().copied().collect();
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape()[p as usize]).collect();
    let out: Vec<i64> = transpose_map(x.shape(), perm)
        .into_iter()
        .map(|j| xv[j])
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("checked transpose")
}

/// The operands concatenated along `axis`.
pub fn concat(xs: &[&ArrayD<i64>], axis: usize) -> ArrayD<i64> {
    let shapes: Vec<&[usize]> = xs.iter().map(|x| x.shape()).collect();
    let flat: Vec<Vec<i64>> = xs.iter().map(|x| x.iter().copied().collect()).collect();
    let mut out = Vec::with_capacity(flat.iter().map(Vec::len).sum());
    for (operand, start, len) in concat_runs(&shapes, axis) {
        out.extend_from_slice(&flat[operand][start..start + len]);
    }
    let mut shape = xs[0].shape().to_vec();
    shape[axis] = xs.iter().map(|x| x.shape()[axis]).sum();
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("checked concat")
}

/// `out[i] = cat[map[i]]`, `cat` the operands flattened and joined in order.
pub fn gather(xs: &[&ArrayD<i64>], map: &[u32], shape: &[usize]) -> ArrayD<i64> {
    let cat: Vec<i64> = xs.iter().flat_map(|x| x.iter().copied()).collect();
    let out = map.iter().map(|&j| cat[j as usize]).collect();
    ArrayD::from_shape_vec(IxDyn(shape), out).expect("checked gather")
}

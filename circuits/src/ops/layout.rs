//! Reshapes, transposes and concatenations: pure data movement.

use ndarray::{ArrayD, Axis, IxDyn};

pub fn reshape(x: &ArrayD<i64>, shape: &[usize]) -> ArrayD<i64> {
    let flat: Vec<i64> = x.iter().copied().collect();
    ArrayD::from_shape_vec(IxDyn(shape), flat).expect("checked reshape")
}

pub fn transpose(x: &ArrayD<i64>, perm: &[u32]) -> ArrayD<i64> {
    let perm: Vec<usize> = perm.iter().map(|&p| p as usize).collect();
    x.clone()
        .permuted_axes(IxDyn(&perm))
        .as_standard_layout()
        .into_owned()
}

pub fn concat(xs: &[&ArrayD<i64>], axis: usize) -> ArrayD<i64> {
    let views: Vec<_> = xs.iter().map(|x| x.view()).collect();
    ndarray::concatenate(Axis(axis), &views)
        .expect("checked concat")
        .as_standard_layout()
        .into_owned()
}

//! Hashing with the permutation: circomlib-compatible `hash2`, and the
//! commitment to an integer tensor used for shard boundaries.

use super::{permute, Spec, WIDTH};
use crate::field::fe;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;

/// Poseidon of two field elements: state `[0, a, b]`, output `state[0]`
/// (circomlib's `Poseidon(2)`).
pub fn hash2(a: Fr, b: Fr) -> Fr {
    let mut s = [Fr::ZERO, a, b];
    permute(Spec::get(), &mut s);
    s[0]
}

/// How a tensor's integers are packed into field elements before hashing:
/// `u = v - lo` takes `bits` bits; `per_element` of them share one element,
/// least significant first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packing {
    pub lo: i64,
    pub bits: u32,
    pub per_element: usize,
}

impl Packing {
    /// The packing of values in `[lo, hi]`.
    pub fn for_range(lo: i64, hi: i64) -> Packing {
        let span = (hi as i128 - lo as i128).max(1) as u128;
        let bits = 128 - span.leading_zeros();
        Packing {
            lo,
            bits,
            per_element: (248 / bits).max(1) as usize,
        }
    }
}

/// Packs `values` (all in `[p.lo, p.lo + 2^bits)`) into field elements.
pub fn pack_tensor(values: &[i64], p: Packing) -> Vec<Fr> {
    let base = fe(1i128 << p.bits);
    values
        .chunks(p.per_element)
        .map(|chunk| {
            chunk.iter().rev().fold(Fr::ZERO, |acc, &v| {
                acc * base + fe(v as i128 - p.lo as i128)
            })
        })
        .collect()
}

/// Commitment to a tensor: a Poseidon sponge (rate 2, capacity 1) whose
/// capacity starts as `len + 2^64 * bits`, absorbing `lo` and then the packed
/// values two at a time; the output is `state[1]` after the last permutation.
pub fn commit_tensor(values: &[i64], p: Packing) -> Fr {
    let spec = Spec::get();
    let mut elements = vec![fe(p.lo as i128)];
    elements.extend(pack_tensor(values, p));
    let mut s = [
        fe(values.len() as i128) + fe(1i128 << 64) * fe(p.bits as i128),
        Fr::ZERO,
        Fr::ZERO,
    ];
    for pair in elements.chunks(WIDTH - 1) {
        for (k, e) in pair.iter().enumerate() {
            s[1 + k] += e;
        }
        permute(spec, &mut s);
    }
    s[1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::PrimeField;

    fn hex(f: Fr) -> String {
        f.to_repr()
            .iter()
            .rev()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn matches_circomlib_poseidon_of_one_two() {
        // circomlib Poseidon([1, 2]), a widely published test vector
        assert_eq!(
            hex(hash2(Fr::from(1), Fr::from(2))),
            "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
    }

    #[test]
    fn commitments_bind_values_length_and_range() {
        let p = Packing::for_range(-128, 127);
        assert_eq!(p.bits, 8);
        assert_eq!(p.per_element, 31);
        let v: Vec<i64> = (0..100).map(|i| (i * 37 % 256) - 128).collect();
        let c = commit_tensor(&v, p);
        assert_eq!(c, commit_tensor(&v, p), "deterministic");
        let mut w = v.clone();
        w[99] += 1;
        assert_ne!(c, commit_tensor(&w, p), "one value changed");
        assert_ne!(c, commit_tensor(&v[..99], p), "one value dropped");
        let mut z = v.clone();
        z.push(-128); // packs to 0: same elements, different length
        assert_ne!(c, commit_tensor(&z, p), "length is bound");
        assert_ne!(
            c,
            commit_tensor(&v, Packing::for_range(-128, 300)),
            "range is bound"
        );
    }

    #[test]
    fn packing_is_little_endian_within_an_element() {
        let p = Packing {
            lo: 0,
            bits: 8,
            per_element: 2,
        };
        assert_eq!(
            pack_tensor(&[1, 2, 3], p),
            vec![Fr::from(1 + 2 * 256), Fr::from(3)]
        );
    }
}

//! Integers as elements of BN254's scalar field.

use halo2_proofs::halo2curves::bn256::Fr;

/// The field element of a signed integer (negative values wrap to p - |v|).
pub fn fe(v: i128) -> Fr {
    let mag = v.unsigned_abs();
    let two64 = Fr::from(u64::MAX) + Fr::from(1);
    let f = Fr::from((mag >> 64) as u64) * two64 + Fr::from(mag as u64);
    if v < 0 {
        -f
    } else {
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_integers_embed_consistently() {
        assert_eq!(fe(5) + fe(-5), fe(0));
        assert_eq!(fe(-1) * fe(-1), fe(1));
        assert_eq!(fe(1 << 100) * fe(4), fe(1 << 102));
        assert_eq!(fe(i64::MIN as i128) + fe(i64::MAX as i128), fe(-1));
    }
}

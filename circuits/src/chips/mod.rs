//! Chips: one folder per family. Each chip's `Config` declares its gates
//! over columns handed to it (so a shard circuit can share columns between
//! chips) and assigns rows whose values follow the native semantics.

pub mod divide;
pub mod lookup;
pub mod matmul;
pub mod maxpool;
pub mod poseidon;
pub mod range;
pub mod rescale;

/// Helpers shared by the chips' tests.
#[cfg(test)]
pub(crate) mod testing {
    use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
    use halo2_proofs::plonk::{keygen_vk, Circuit, VerifyingKey};
    use halo2_proofs::poly::kzg::commitment::ParamsKZG;
    use halo2_proofs::SerdeFormat;
    use rand::SeedableRng;
    use sha2::Digest;

    /// A reproducible SRS (seeded: for tests only).
    pub fn params(k: u32) -> ParamsKZG<Bn256> {
        ParamsKZG::<Bn256>::setup(k, rand::rngs::StdRng::seed_from_u64(7))
    }

    /// The first 16 hex digits of the SHA-256 of a verifying key: its bytes
    /// (fixed and permutation commitments) and its transcript
    /// representation (which also hashes the gates, lookups and columns).
    pub fn digest(vk: &VerifyingKey<G1Affine>) -> String {
        use halo2_proofs::halo2curves::ff::PrimeField;
        let mut h = sha2::Sha256::new();
        h.update(vk.to_bytes(SerdeFormat::RawBytes));
        h.update(vk.transcript_repr().to_repr());
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The pinned-VK digest of `circuit` at `k`.
    pub fn vk_digest<C: Circuit<Fr, Params = ()>>(k: u32, circuit: &C) -> String {
        digest(&keygen_vk(&params(k), circuit).expect("keygen"))
    }
}

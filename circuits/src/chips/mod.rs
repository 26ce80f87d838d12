//! Chips: one folder per family. Each chip's `Config` declares its gates
//! over columns handed to it (so a shard circuit can share columns between
//! chips) and assigns rows whose values follow the native semantics.

pub mod divide;
pub mod dot;
pub mod lookup;
pub mod matmul;
pub mod maxpool;
pub mod poseidon;
pub mod range;
pub mod rescale;

#[cfg(all(test, feature = "mutation"))]
mod mutation_tests;

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

    /// One witness of a chip's test circuit: honest (must be accepted) or
    /// forged by a cheating prover (must be rejected). `run` proves it with
    /// MockProver. `targets` names the constraints (mutation ids) the
    /// forgery is built to slip past: each should be the only thing that
    /// rejects it (the mutation test tries a constraint's targeted cases
    /// first).
    pub struct Case {
        pub name: String,
        pub forged: bool,
        #[cfg_attr(not(feature = "mutation"), allow(dead_code))]
        pub targets: Vec<&'static str>,
        #[allow(clippy::type_complexity)]
        pub run: Box<dyn Fn() -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>>>,
    }

    impl Case {
        pub fn honest(
            name: impl Into<String>,
            run: impl Fn() -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> + 'static,
        ) -> Case {
            Case {
                name: name.into(),
                forged: false,
                targets: vec![],
                run: Box::new(run),
            }
        }

        pub fn forged(
            name: impl Into<String>,
            targets: &[&'static str],
            run: impl Fn() -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> + 'static,
        ) -> Case {
            Case {
                name: name.into(),
                forged: true,
                targets: targets.to_vec(),
                run: Box::new(run),
            }
        }

        /// Whether the circuit accepts the witness (a panic rejects it).
        pub fn accepted(&self) -> bool {
            let run = std::panic::AssertUnwindSafe(&self.run);
            matches!(std::panic::catch_unwind(run), Ok(Ok(())))
        }
    }

    /// Every honest case is accepted and every forged one rejected (with
    /// every constraint in force).
    pub fn assert_cases(cases: &[Case]) {
        let wrong: Vec<String> = cases
            .iter()
            .filter(|c| c.accepted() == c.forged)
            .map(|c| {
                format!(
                    "{} ({})",
                    c.name,
                    if c.forged {
                        "forged, accepted"
                    } else {
                        "honest, rejected"
                    }
                )
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:?}");
    }
}

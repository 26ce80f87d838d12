//! The part of a KZG SRS a verifier needs: the G1 generator, the G2
//! generator and `s·G2`. It is the same for every circuit size (an SRS of
//! `2^k` points is a prefix of a larger one), so one copy serves a whole
//! chain; 160 bytes where the SRS itself is megabytes.

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, G1Affine, G2Affine};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::GroupEncoding;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use thiserror::Error;

/// Length of [`SrsVerifierPart::to_bytes`].
pub const SRS_PART_BYTES: usize = 32 + 64 + 64;

/// Bytes that are not an SRS verifier part.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SrsPartError {
    #[error("SRS verifier part of {0} bytes (expected {SRS_PART_BYTES})")]
    Length(usize),
    #[error("SRS verifier part: a point is not on the curve")]
    NotOnCurve,
    #[error("SRS verifier part: the generators are not BN254's")]
    Generators,
    #[error("SRS verifier part: s·G2 is trivial")]
    Trivial,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrsVerifierPart {
    g2: G2Affine,
    s_g2: G2Affine,
}

impl SrsVerifierPart {
    /// The verifier part of an SRS.
    pub fn of(params: &ParamsKZG<Bn256>) -> SrsVerifierPart {
        SrsVerifierPart {
            g2: params.g2(),
            s_g2: params.s_g2(),
        }
    }

    /// Whether `params` belongs to the same SRS.
    pub fn matches(&self, params: &ParamsKZG<Bn256>) -> bool {
        *self == SrsVerifierPart::of(params)
    }

    /// Compressed points: G1 generator (32 bytes), G2 generator and `s·G2`
    /// (64 bytes each).
    pub fn to_bytes(&self) -> [u8; SRS_PART_BYTES] {
        let mut out = [0u8; SRS_PART_BYTES];
        out[..32].copy_from_slice(G1Affine::generator().to_bytes().as_ref());
        out[32..96].copy_from_slice(self.g2.to_bytes().as_ref());
        out[96..].copy_from_slice(self.s_g2.to_bytes().as_ref());
        out
    }

    /// Reads and checks the points: each must decode to a curve point, the
    /// first two must be the generators and `s·G2` must not be trivial.
    pub fn from_bytes(bytes: &[u8]) -> Result<SrsVerifierPart, SrsPartError> {
        if bytes.len() != SRS_PART_BYTES {
            return Err(SrsPartError::Length(bytes.len()));
        }
        let mut g1 = <G1Affine as GroupEncoding>::Repr::default();
        g1.as_mut().copy_from_slice(&bytes[..32]);
        let g1 = Option::<G1Affine>::from(G1Affine::from_bytes(&g1));
        let g2_at = |at: usize| {
            // halo2curves unwraps each coordinate while decoding: check
            // that both halves of x (flag bits cleared) are canonical first
            let mut x = [0u8; 64];
            x.copy_from_slice(&bytes[at..at + 64]);
            x[63] &= 0b0011_1111;
            let canonical = |h: &[u8]| {
                let mut c = [0u8; 32];
                c.copy_from_slice(h);
                bool::from(Fq::from_bytes(&c).is_some())
            };
            if !canonical(&x[..32]) || !canonical(&x[32..]) {
                return None;
            }
            let mut r = <G2Affine as GroupEncoding>::Repr::default();
            r.as_mut().copy_from_slice(&bytes[at..at + 64]);
            Option::<G2Affine>::from(G2Affine::from_bytes(&r))
        };
        let (Some(g1), Some(g2), Some(s_g2)) = (g1, g2_at(32), g2_at(96)) else {
            return Err(SrsPartError::NotOnCurve);
        };
        if g1 != G1Affine::generator() || g2 != G2Affine::generator() {
            return Err(SrsPartError::Generators);
        }
        if bool::from(s_g2.is_identity()) || s_g2 == g2 {
            return Err(SrsPartError::Trivial);
        }
        Ok(SrsVerifierPart { g2, s_g2 })
    }

    /// Verifier parameters for circuits of `2^k` rows: only `n`, `g[0]`,
    /// `g2` and `s_g2` are read by the SHPLONK verifier, so no other point
    /// is materialized.
    pub fn params(&self, k: u32) -> ParamsKZG<Bn256> {
        // halo2 builds parameters only from its own encoding or from an
        // existing instance: read a one-point instance, then resize it.
        let mut raw = 0u32.to_le_bytes().to_vec();
        for _ in 0..2 {
            raw.extend(g1_raw(&G1Affine::generator()));
        }
        raw.extend(g2_raw(&self.g2));
        raw.extend(g2_raw(&self.s_g2));
        let boot = ParamsKZG::<Bn256>::read_custom(&mut raw.as_slice(), SerdeFormat::RawBytes)
            .expect("a one-point SRS of valid points reads back");
        let p = boot.from_parts(
            k,
            vec![G1Affine::generator()],
            Some(Vec::new()),
            self.g2,
            self.s_g2,
        );
        debug_assert_eq!(p.k(), k);
        debug_assert_eq!(p.get_g()[0], G1Affine::generator());
        p
    }
}

fn g1_raw(p: &G1Affine) -> Vec<u8> {
    use halo2_proofs::halo2curves::serde::SerdeObject;
    p.to_raw_bytes()
}

fn g2_raw(p: &G2Affine) -> Vec<u8> {
    use halo2_proofs::halo2curves::serde::SerdeObject;
    p.to_raw_bytes()
}

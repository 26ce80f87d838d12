//! The verifier's transcript reader: halo2's Blake2b transcript, reading
//! only canonical encodings. halo2curves decodes a compressed point whose
//! "infinity" flag is set but whose x is not zero as the ordinary point, so
//! two byte strings would verify as one proof; this reader refuses any point
//! or scalar whose bytes are not exactly its canonical encoding, and
//! [`CanonicalRead::finish`] refuses bytes left after the proof. A valid
//! proof therefore has exactly one encoding (no malleability).

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::group::GroupEncoding;
use halo2_proofs::transcript::{
    Blake2bRead, Challenge255, Transcript, TranscriptRead, TranscriptReadBuffer,
};
use std::io;

type Inner<'a> = Blake2bRead<&'a [u8], G1Affine, Challenge255<G1Affine>>;

pub struct CanonicalRead<'a> {
    /// the hashing state (fed through `common_*`; reads nothing itself)
    inner: Inner<'a>,
    rest: &'a [u8],
}

impl<'a> CanonicalRead<'a> {
    pub fn new(proof: &'a [u8]) -> CanonicalRead<'a> {
        CanonicalRead {
            inner: Inner::init(&[][..]),
            rest: proof,
        }
    }

    fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        if self.rest.len() < N {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the proof is too short",
            ));
        }
        let (head, tail) = self.rest.split_at(N);
        self.rest = tail;
        let mut out = [0u8; N];
        out.copy_from_slice(head);
        Ok(out)
    }

    /// Errors when bytes are left after what the verifier read.
    pub fn finish(&self) -> io::Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} bytes after the proof", self.rest.len()),
            ))
        }
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl Transcript<G1Affine, Challenge255<G1Affine>> for CanonicalRead<'_> {
    fn squeeze_challenge(&mut self) -> Challenge255<G1Affine> {
        self.inner.squeeze_challenge()
    }
    fn common_point(&mut self, point: G1Affine) -> io::Result<()> {
        self.inner.common_point(point)
    }
    fn common_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.inner.common_scalar(scalar)
    }
}

impl TranscriptRead<G1Affine, Challenge255<G1Affine>> for CanonicalRead<'_> {
    fn read_point(&mut self) -> io::Result<G1Affine> {
        let bytes = self.take::<32>()?;
        let mut repr = <G1Affine as GroupEncoding>::Repr::default();
        repr.as_mut().copy_from_slice(&bytes);
        let point: G1Affine = Option::from(G1Affine::from_bytes(&repr))
            .ok_or_else(|| invalid("invalid point encoding in proof"))?;
        if point.to_bytes().as_ref() != bytes {
            return Err(invalid("non-canonical point encoding in proof"));
        }
        self.common_point(point)?;
        Ok(point)
    }

    fn read_scalar(&mut self) -> io::Result<Fr> {
        let bytes = self.take::<32>()?;
        let scalar: Fr = Option::from(Fr::from_repr(bytes))
            .ok_or_else(|| invalid("invalid field element encoding in proof"))?;
        self.common_scalar(scalar)?;
        Ok(scalar)
    }
}

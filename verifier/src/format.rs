//! The shard-proof file: `ZKINFPRF`, format version (u32 LE), transcript id
//! (u8), shard index (u32 LE), the four public instances (32-byte LE field
//! elements: model id, shard index, input and output commitments), proof
//! length (u32 LE) and the proof bytes.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use thiserror::Error;

pub const PROOF_FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"ZKINFPRF";
/// Proofs larger than this are rejected before allocating.
const MAX_PROOF_BYTES: usize = 1 << 24;

/// The Fiat-Shamir transcript a proof was written with; a proof verifies
/// only under its own transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transcript {
    /// halo2's Blake2b transcript (native and browser verifiers).
    Blake2b,
}

impl Transcript {
    fn id(self) -> u8 {
        match self {
            Transcript::Blake2b => 1,
        }
    }
}

#[derive(Clone, Debug, Error, PartialEq)]
pub enum FormatError {
    #[error("not a zkinf shard proof (bad magic bytes)")]
    BadMagic,
    #[error(
        "proof format version {found} is not supported (this zkinf reads version {supported})"
    )]
    Version { found: u32, supported: u32 },
    #[error("unknown transcript id {0}")]
    Transcript(u8),
    #[error("proof file is truncated")]
    Truncated,
    #[error("public instance {0} is not a canonical field element")]
    Instance(usize),
    #[error("proof of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("{0} trailing bytes after the proof")]
    Trailing(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ShardProof {
    pub transcript: Transcript,
    pub shard: u32,
    /// model id, shard index, input commitment, output commitment
    pub instances: [Fr; 4],
    pub proof: Vec<u8>,
}

impl ShardProof {
    pub fn model_id(&self) -> Fr {
        self.instances[0]
    }
    pub fn input_commitment(&self) -> Fr {
        self.instances[2]
    }
    pub fn output_commitment(&self) -> Fr {
        self.instances[3]
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(PROOF_FORMAT_VERSION.to_le_bytes());
        out.push(self.transcript.id());
        out.extend(self.shard.to_le_bytes());
        for i in &self.instances {
            out.extend(i.to_repr());
        }
        out.extend((self.proof.len() as u32).to_le_bytes());
        out.extend(&self.proof);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<ShardProof, FormatError> {
        let mut rd = Reader { bytes, at: 0 };
        if rd.take(8)? != MAGIC {
            return Err(FormatError::BadMagic);
        }
        let version = rd.u32()?;
        if version != PROOF_FORMAT_VERSION {
            return Err(FormatError::Version {
                found: version,
                supported: PROOF_FORMAT_VERSION,
            });
        }
        let transcript = match rd.take(1)?[0] {
            1 => Transcript::Blake2b,
            other => return Err(FormatError::Transcript(other)),
        };
        let shard = rd.u32()?;
        let mut instances = [Fr::default(); 4];
        for (k, slot) in instances.iter_mut().enumerate() {
            let mut repr = [0u8; 32];
            repr.copy_from_slice(rd.take(32)?);
            *slot = Option::<Fr>::from(Fr::from_repr(repr)).ok_or(FormatError::Instance(k))?;
        }
        let len = rd.u32()? as usize;
        if len > MAX_PROOF_BYTES {
            return Err(FormatError::TooLarge(len));
        }
        let proof = rd.take(len)?.to_vec();
        if rd.at != bytes.len() {
            return Err(FormatError::Trailing(bytes.len() - rd.at));
        }
        Ok(ShardProof {
            transcript,
            shard,
            instances,
            proof,
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(FormatError::Truncated)?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, FormatError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

//! The serialized Plan: magic bytes, a format version, then the Plan in
//! bincode. The SHA-256 of these bytes is the model's identity.

use super::Plan;
use crate::PlanError;
use bincode::Options;
use sha2::{Digest, Sha256};

/// Bumped whenever the serialized form or the meaning of an op changes.
pub const PLAN_FORMAT_VERSION: u32 = 1;
const MAGIC: &[u8; 8] = b"ZKINFPLN";

fn codec(limit: u64) -> impl Options {
    bincode::options()
        .with_fixint_encoding()
        .with_little_endian()
        .with_limit(limit)
}

impl Plan {
    /// The canonical bytes of this plan.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(PLAN_FORMAT_VERSION.to_le_bytes());
        // serializing plain data into a Vec cannot fail
        let body = codec(u64::MAX).serialize(self).unwrap_or_default();
        out.extend(body);
        out
    }

    /// Reads a plan written by [`Plan::to_bytes`]; never allocates more than
    /// a small multiple of the input's size.
    pub fn from_bytes(bytes: &[u8]) -> Result<Plan, PlanError> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(PlanError::BadMagic);
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != PLAN_FORMAT_VERSION {
            return Err(PlanError::Version {
                found: version,
                supported: PLAN_FORMAT_VERSION,
            });
        }
        let body = &bytes[12..];
        let limit = (body.len() as u64).saturating_mul(8).max(1 << 16);
        codec(limit)
            .deserialize(body)
            .map_err(|e| PlanError::Corrupt(e.to_string()))
    }

    /// SHA-256 of the canonical bytes, in hex: the model's identity.
    pub fn hash_hex(&self) -> String {
        let digest = Sha256::digest(self.to_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

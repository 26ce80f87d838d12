//! The setup record (`keys/setup.json`, versioned): which model the keys
//! are for, which SRS made them, its verifier part, the keys digest, and per
//! shard the circuit size and the verifying key's file digest and
//! transcript representation (a hash of the key and of the constraint
//! system this zkinf derives for it).

use crate::error::{ProveError, RecordError};
use crate::folder::{read_file, Folder};
use crate::srs::SrsSource;
use halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_proofs::plonk::VerifyingKey;
use serde::{Deserialize, Serialize};
use zkinf_circuits::shard::SizedShard;
use zkinf_circuits::CheckedPlan;
use zkinf_verifier::{hex, keys_digest_of, read_verifying_key, SrsVerifierPart, MAX_K};

/// The setup record format this zkinf writes. Version 1 is the record of
/// earlier releases (no `format` field), read the same way.
pub const SETUP_FORMAT_VERSION: u32 = 2;

/// Per shard: its nodes of the plan, `2^k` rows, the SHA-256 of its
/// verifying-key file and the key's transcript representation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardKeys {
    /// the plan's nodes `start..end` (records of format 1 lack them)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<usize>,
    pub k: u32,
    pub vk_sha256: String,
    pub vk_repr: String,
}

/// `keys/setup.json` as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordFile {
    #[serde(default = "unversioned")]
    format: u32,
    model_hash: String,
    srs: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    srs_verifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys_digest: Option<String>,
    shards: Vec<ShardKeys>,
}

fn unversioned() -> u32 {
    1
}

/// The setup record.
#[derive(Clone, Debug, PartialEq)]
pub struct SetupRecord {
    pub model_hash: String,
    pub srs: SrsSource,
    /// the SRS verifier part (records written before bundles lack it)
    pub srs_part: Option<SrsVerifierPart>,
    pub keys_digest: Option<String>,
    pub shards: Vec<ShardKeys>,
}

/// A verifying-key file's bytes and the key read from them.
/// A shard's verifying-key file, checked against the record, and what its
/// key says of the proof: its bytes, `k` and the prover's memory estimate.
/// The decoded key is not kept: halo2 keeps FFT tables of the (extended)
/// domain in each key, hundreds of MB at `2^20`, so a model of 49 such
/// shards would hold more than 20 GB; [`VkFile::key`] decodes it again.
pub struct VkFile {
    pub bytes: Vec<u8>,
    pub k: u32,
    /// [`crate::budget::memory_estimate`] of proving this shard
    pub prove_memory: u64,
}

impl VkFile {
    /// The decoded verifying key.
    pub fn key(&self, path: &std::path::Path) -> Result<VerifyingKey<G1Affine>, ProveError> {
        read_verifying_key(&self.bytes).map_err(|source| ProveError::Key {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// The transcript representation of a verifying key, as hex.
pub fn vk_repr(vk: &VerifyingKey<G1Affine>) -> String {
    use halo2_proofs::halo2curves::ff::PrimeField;
    let mut r = vk.transcript_repr().to_repr().as_ref().to_vec();
    r.reverse();
    hex(&r)
}

/// The SHA-256 of bytes, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

fn hex_bytes(h: &str) -> Option<Vec<u8>> {
    if h.len() % 2 != 0 || !h.is_ascii() {
        return None;
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok())
        .collect()
}

impl SetupRecord {
    /// Reads the record of a folder (`NoKeys` when there is none).
    pub fn read(folder: &Folder) -> Result<SetupRecord, ProveError> {
        let path = folder.setup_path();
        let bytes = std::fs::read(&path).map_err(|_| ProveError::NoKeys(folder.dir.clone()))?;
        SetupRecord::from_json(&bytes).map_err(|source| ProveError::Record { path, source })
    }

    pub fn from_json(bytes: &[u8]) -> Result<SetupRecord, RecordError> {
        let f: RecordFile = serde_json::from_slice(bytes).map_err(RecordError::Json)?;
        if f.format > SETUP_FORMAT_VERSION || f.format == 0 {
            return Err(RecordError::Version {
                found: f.format,
                supported: SETUP_FORMAT_VERSION,
            });
        }
        if f.shards.is_empty() {
            return Err(RecordError::Empty);
        }
        if let Some((shard, s)) = f.shards.iter().enumerate().find(|(_, s)| s.k > MAX_K) {
            return Err(RecordError::K { shard, k: s.k });
        }
        let srs = SrsSource::from_descriptor(&f.srs).ok_or(RecordError::Srs(f.srs.clone()))?;
        let srs_part = match f.srs_verifier {
            None => None,
            Some(h) => Some(SrsVerifierPart::from_bytes(
                &hex_bytes(&h).ok_or(RecordError::Hex)?,
            )?),
        };
        Ok(SetupRecord {
            model_hash: f.model_hash,
            srs,
            srs_part,
            keys_digest: f.keys_digest,
            shards: f.shards,
        })
    }

    pub fn to_json(&self) -> Vec<u8> {
        let f = RecordFile {
            format: SETUP_FORMAT_VERSION,
            model_hash: self.model_hash.clone(),
            srs: self.srs.descriptor(),
            srs_verifier: self.srs_part.map(|p| hex(&p.to_bytes())),
            keys_digest: self.keys_digest.clone(),
            shards: self.shards.clone(),
        };
        serde_json::to_vec_pretty(&f).unwrap_or_default()
    }

    /// The largest shard's size.
    pub fn max_k(&self) -> u32 {
        self.shards.iter().map(|s| s.k).max().unwrap_or(9)
    }

    pub fn ks(&self) -> Vec<u32> {
        self.shards.iter().map(|s| s.k).collect()
    }

    /// The keys must be this model's and match its partition (each shard's
    /// size, and its nodes where the record has them).
    pub fn check(&self, plan: &CheckedPlan, shards: &[SizedShard]) -> Result<(), ProveError> {
        let same = self.model_hash == plan.hash_hex()
            && self.shards.len() == shards.len()
            && self.shards.iter().zip(shards).all(|(a, b)| {
                a.k == b.k
                    && a.start.is_none_or(|s| s == b.start)
                    && a.end.is_none_or(|e| e == b.end)
            });
        if same {
            Ok(())
        } else {
            Err(ProveError::KeysOfAnotherModel)
        }
    }

    /// The SRS verifier part (records from before bundles have none).
    pub fn verifier_part(&self, folder: &Folder) -> Result<SrsVerifierPart, ProveError> {
        self.srs_part.ok_or_else(|| ProveError::Record {
            path: folder.setup_path(),
            source: RecordError::NoSrsPart,
        })
    }

    /// Every shard's verifying-key file and key, checked against the record
    /// (file digest and constraint system).
    pub fn read_vks(&self, folder: &Folder) -> Result<Vec<VkFile>, ProveError> {
        let mut out = Vec::new();
        for (shard, keys) in self.shards.iter().enumerate() {
            let path = folder.vk_path(shard);
            let bytes = read_file(&path)?;
            let vk = read_verifying_key(&bytes).map_err(|source| ProveError::Key {
                path: path.clone(),
                source,
            })?;
            let d = sha256_hex(&bytes);
            if d != keys.vk_sha256 {
                return Err(match self.shards.iter().position(|o| o.vk_sha256 == d) {
                    Some(owner) => ProveError::SwappedKey { path, shard, owner },
                    None => ProveError::ForeignKey { path, shard },
                });
            }
            if vk_repr(&vk) != keys.vk_repr {
                return Err(ProveError::CircuitChanged { path });
            }
            let k = vk.get_domain().k();
            out.push(VkFile {
                prove_memory: crate::budget::memory_estimate(vk.cs(), k),
                k,
                bytes,
            });
        }
        Ok(out)
    }

    /// The keys digest of an SRS verifier part and verifying-key files.
    pub fn digest_of<'a>(
        part: &SrsVerifierPart,
        vks: impl ExactSizeIterator<Item = &'a [u8]>,
    ) -> String {
        hex(&keys_digest_of(part, vks))
    }

    /// The verifying keys of the record, when all of them (and the proving
    /// keys) are on disk and valid: the cached keys `zkinf setup` reuses.
    pub fn keys_on_disk(&self, folder: &Folder, vk_only: bool) -> Option<Vec<VkFile>> {
        let vks = self.read_vks(folder).ok()?;
        (vk_only || (0..self.shards.len()).all(|i| folder.pk_path(i).is_file())).then_some(vks)
    }
}

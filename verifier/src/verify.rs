//! Verifying shard proofs and chains of them.

use crate::format::{ShardProof, Transcript};
use crate::transcript::CanonicalRead;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{verify_proof, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::SerdeFormat;
use std::collections::BTreeMap;
use thiserror::Error;
use zkinf_circuits::shard::{ShardCircuit, ShardParams, MAX_RANGE_LANES};

#[derive(Debug, Error, PartialEq)]
pub enum VerifyError {
    #[error("shard {shard}: the proof is for model {found}, expected {expected}")]
    Model {
        shard: u32,
        found: String,
        expected: String,
    },
    #[error("position {position} of the chain holds the proof of shard {found} (proofs swapped or misnamed)")]
    ShardIndex { position: usize, found: u32 },
    #[error("shard {shard}: the verifying key is for 2^{vk_k} rows but the SRS given has 2^{srs_k} points")]
    SrsSize { shard: u32, vk_k: u32, srs_k: u32 },
    #[error("no SRS of 2^{0} points was given")]
    NoSrs(u32),
    #[error("shard {0}: the proof does not verify against its verifying key and public values")]
    Rejected(u32),
    #[error("shard {0}: the input commitment does not match the given input")]
    Input(u32),
    #[error("shard {0}: the output commitment does not match the claimed output")]
    Output(u32),
    #[error("shards {0} and {1} do not link: output commitment of {0} differs from input commitment of {1}")]
    Link(u32, u32),
    #[error("{proofs} proofs for {keys} verifying keys")]
    Count { proofs: usize, keys: usize },
    #[error("the chain is empty")]
    Empty,
    #[error("truncated or corrupt verifying key ({0})")]
    Key(String),
    #[error("{0}")]
    KeyFile(String),
}

impl VerifyError {
    /// The shard the error is about, if it is about one.
    pub fn shard(&self) -> Option<u32> {
        match self {
            VerifyError::Model { shard, .. } | VerifyError::SrsSize { shard, .. } => Some(*shard),
            VerifyError::ShardIndex { position, .. } => Some(*position as u32),
            VerifyError::Rejected(s) | VerifyError::Input(s) | VerifyError::Output(s) => Some(*s),
            VerifyError::Link(_, s) => Some(*s),
            _ => None,
        }
    }
}

/// The SRS a verifier needs, one copy per circuit size `2^k`: every shard
/// is verified against the copy of its own size (all prefixes of one SRS).
#[derive(Clone, Debug, Default)]
pub struct SrsByK(BTreeMap<u32, ParamsKZG<Bn256>>);

impl SrsByK {
    /// Copies of `full` downsized to each of `ks` (at most `full`'s size).
    pub fn from_full(full: &ParamsKZG<Bn256>, ks: impl IntoIterator<Item = u32>) -> SrsByK {
        let mut m = BTreeMap::new();
        for k in ks {
            if k <= full.k() && !m.contains_key(&k) {
                let mut p = full.clone();
                if k < full.k() {
                    p.downsize(k);
                }
                m.insert(k, p);
            }
        }
        SrsByK(m)
    }

    /// Verifier-only parameters for each of `ks` from the SRS verifier part
    /// (no SRS file needed).
    pub fn from_verifier_part(
        part: &crate::srs::SrsVerifierPart,
        ks: impl IntoIterator<Item = u32>,
    ) -> SrsByK {
        SrsByK(ks.into_iter().map(|k| (k, part.params(k))).collect())
    }

    pub fn insert(&mut self, params: ParamsKZG<Bn256>) {
        self.0.insert(params.k(), params);
    }

    pub fn get(&self, k: u32) -> Option<&ParamsKZG<Bn256>> {
        self.0.get(&k)
    }
}

/// What a verifier expects of one shard.
#[derive(Clone, Debug, Default)]
pub struct Expected {
    pub model_id: Option<Fr>,
    pub shard: u32,
    pub input: Option<Fr>,
    pub output: Option<Fr>,
}

fn hex(f: &Fr) -> String {
    use halo2_proofs::halo2curves::ff::PrimeField;
    f.to_repr()
        .iter()
        .rev()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Key files: `ZKINFVK\0` (verifying) or `ZKINFPK\0` (proving), the key
/// format version (u32 LE), the shard circuit's range lanes (u32 LE) and
/// chip flags (u32 LE), then halo2's `SerdeFormat::RawBytes` encoding of
/// the key.
pub const KEY_FORMAT_VERSION: u32 = 2;
const KEY_HEADER: usize = 20;
pub const VK_MAGIC: &[u8; 8] = b"ZKINFVK\0";
pub const PK_MAGIC: &[u8; 8] = b"ZKINFPK\0";

/// Prepends the key-file header to a key's raw bytes.
pub fn encode_key(magic: &[u8; 8], params: ShardParams, body: &[u8]) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend(KEY_FORMAT_VERSION.to_le_bytes());
    out.extend(params.range_lanes.to_le_bytes());
    out.extend(params.chips.to_le_bytes());
    out.extend(body);
    out
}

/// Splits a key file into the circuit parameters and the raw key bytes.
pub fn decode_key<'a>(
    magic: &[u8; 8],
    what: &str,
    bytes: &'a [u8],
) -> Result<(ShardParams, &'a [u8]), String> {
    if bytes.len() < 12 {
        return Err(format!("truncated or corrupt {what} (no header)"));
    }
    if &bytes[..8] != magic {
        return Err(format!("not a zkinf {what} (bad magic bytes)"));
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = word(8);
    if version != KEY_FORMAT_VERSION {
        return Err(format!(
            "{what} format version {version} is not supported (this zkinf reads version {KEY_FORMAT_VERSION})"
        ));
    }
    if bytes.len() < KEY_HEADER {
        return Err(format!("truncated or corrupt {what} (no header)"));
    }
    let lanes = word(12);
    if !(1..=MAX_RANGE_LANES).contains(&lanes) {
        return Err(format!("corrupt {what}: {lanes} range lanes"));
    }
    let chips = word(16);
    if chips & !zkinf_circuits::shard::chips::ALL != 0 {
        return Err(format!("corrupt {what}: unknown chip flags {chips:#x}"));
    }
    let body = &bytes[KEY_HEADER..];
    check_key_k(body).map_err(|e| format!("corrupt {what}: {e}"))?;
    Ok((
        ShardParams {
            range_lanes: lanes,
            chips,
        },
        body,
    ))
}

/// The largest circuit a key may describe: `2^MAX_K` rows (what `zkinf
/// compile --max-log-rows` allows). halo2 sizes its evaluation domain from
/// the key's `k` before reading anything else, so a key claiming more is
/// refused before halo2 sees it.
pub const MAX_K: u32 = 26;

/// halo2's key encoding starts with a version byte and `k` (u32 LE).
fn check_key_k(body: &[u8]) -> Result<u32, String> {
    let k = body
        .get(1..5)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| "truncated (no circuit size)".to_string())?;
    if k > MAX_K {
        return Err(format!(
            "the key describes a circuit of 2^{k} rows (at most 2^{MAX_K})"
        ));
    }
    Ok(k)
}

/// halo2 allocates every selector of `2^k` rows before reading it: a key
/// is refused unless it holds those selectors' bytes (`2^k / 8` per
/// selector, with selector compression), so the allocation is bounded by
/// the key's own size rather than by its `k` field.
fn check_selector_bytes(body: &[u8], params: ShardParams) -> Result<(), String> {
    use halo2_proofs::plonk::{Circuit, ConstraintSystem};
    let k = check_key_k(body)?;
    let compressed = body.get(5).copied() == Some(1);
    if !compressed {
        return Ok(());
    }
    let mut cs = ConstraintSystem::<Fr>::default();
    ShardCircuit::configure_with_params(&mut cs, params);
    let need = (cs.num_selectors() as u64) * ((1u64 << k) / 8).max(1);
    if need > body.len() as u64 {
        return Err(format!(
            "its {} selectors of 2^{k} rows need {need} bytes, the key has {}",
            cs.num_selectors(),
            body.len()
        ));
    }
    Ok(())
}

/// A verifying key as a key file.
pub fn write_verifying_key(vk: &VerifyingKey<G1Affine>, params: ShardParams) -> Vec<u8> {
    encode_key(VK_MAGIC, params, &vk.to_bytes(SerdeFormat::RawBytes))
}

/// Reads a verifying-key file (see [`KEY_FORMAT_VERSION`]).
pub fn read_verifying_key(bytes: &[u8]) -> Result<VerifyingKey<G1Affine>, VerifyError> {
    let (params, body) =
        decode_key(VK_MAGIC, "verifying key", bytes).map_err(VerifyError::KeyFile)?;
    check_selector_bytes(body, params).map_err(VerifyError::Key)?;
    let mut rd = body;
    let vk = VerifyingKey::read::<_, ShardCircuit>(&mut rd, SerdeFormat::RawBytes, params)
        .map_err(|e| VerifyError::Key(e.to_string()))?;
    if !rd.is_empty() {
        return Err(VerifyError::Key(format!("{} trailing bytes", rd.len())));
    }
    // the selectors read decide how many fixed columns the constraint
    // system has; halo2 does not compare that with the commitments it read
    // (a verifier indexing past them would panic)
    let (fixed, columns) = (vk.fixed_commitments().len(), vk.cs().num_fixed_columns());
    if fixed != columns {
        return Err(VerifyError::Key(format!(
            "{fixed} fixed commitments for {columns} fixed columns"
        )));
    }
    Ok(vk)
}

/// Verifies one shard proof against its verifying key and what the verifier
/// expects of it.
pub fn verify_shard(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    proof: &ShardProof,
    expected: &Expected,
) -> Result<(), VerifyError> {
    let shard = proof.shard;
    if let Some(id) = expected.model_id {
        if id != proof.model_id() {
            return Err(VerifyError::Model {
                shard,
                found: hex(&proof.model_id()),
                expected: hex(&id),
            });
        }
    }
    if proof.shard != expected.shard || proof.instances[1] != Fr::from(expected.shard as u64) {
        return Err(VerifyError::ShardIndex {
            position: expected.shard as usize,
            found: proof.shard,
        });
    }
    if expected
        .input
        .is_some_and(|c| c != proof.input_commitment())
    {
        return Err(VerifyError::Input(shard));
    }
    if expected
        .output
        .is_some_and(|c| c != proof.output_commitment())
    {
        return Err(VerifyError::Output(shard));
    }
    let vk_k = vk.get_domain().k();
    if params.k() != vk_k {
        return Err(VerifyError::SrsSize {
            shard,
            vk_k,
            srs_k: params.k(),
        });
    }
    match proof.transcript {
        Transcript::Blake2b => {
            let mut t = CanonicalRead::new(&proof.proof);
            verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
                params,
                vk,
                SingleStrategy::new(params),
                &[&[&proof.instances]],
                &mut t,
            )
            .map_err(|_| VerifyError::Rejected(shard))?;
            t.finish().map_err(|_| VerifyError::Rejected(shard))
        }
    }
}

/// Verifies a whole inference: shard `i` is `proofs[i]` under `vks[i]`
/// (checked with the SRS copy of its size from `srs`), every proof names
/// the same model, consecutive shards link (output commitment of shard
/// `i` = input commitment of shard `i + 1`), and the first input and the
/// last output commitments match what is given (when given).
///
/// ```ignore
/// let vks: Vec<_> = vk_files.iter().map(|b| read_verifying_key(b)).collect::<Result<_, _>>()?;
/// let proofs: Vec<_> = proof_files.iter().map(|b| ShardProof::from_bytes(b)).collect::<Result<_, _>>()?;
/// let srs = SrsByK::from_full(&params, vks.iter().map(|vk| vk.get_domain().k()));
/// verify_chain(&srs, &vks, &proofs, model_id, Some(input_commitment), Some(output_commitment))?;
/// ```
pub fn verify_chain(
    srs: &SrsByK,
    vks: &[VerifyingKey<G1Affine>],
    proofs: &[ShardProof],
    model_id: Fr,
    input: Option<Fr>,
    output: Option<Fr>,
) -> Result<(), VerifyError> {
    if proofs.is_empty() {
        return Err(VerifyError::Empty);
    }
    if proofs.len() != vks.len() {
        return Err(VerifyError::Count {
            proofs: proofs.len(),
            keys: vks.len(),
        });
    }
    for (i, (p, vk)) in proofs.iter().zip(vks).enumerate() {
        if p.shard != i as u32 {
            return Err(VerifyError::ShardIndex {
                position: i,
                found: p.shard,
            });
        }
        if p.model_id() != model_id {
            return Err(VerifyError::Model {
                shard: p.shard,
                found: hex(&p.model_id()),
                expected: hex(&model_id),
            });
        }
        if i > 0 && proofs[i - 1].output_commitment() != p.input_commitment() {
            return Err(VerifyError::Link(proofs[i - 1].shard, p.shard));
        }
        let expected = Expected {
            model_id: Some(model_id),
            shard: i as u32,
            input: if i == 0 { input } else { None },
            output: if i + 1 == proofs.len() { output } else { None },
        };
        let k = vk.get_domain().k();
        let params = srs.get(k).ok_or(VerifyError::NoSrs(k))?;
        verify_shard(params, vk, p, &expected)?;
    }
    Ok(())
}

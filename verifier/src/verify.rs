//! Verifying shard proofs and chains of them.

use crate::format::{ShardProof, Transcript};
use crate::key::KeyError;
use crate::transcript::CanonicalRead;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{verify_proof, VerifyingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq)]
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
    #[error(transparent)]
    Key(#[from] KeyError),
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

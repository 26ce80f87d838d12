//! Verifying shard proofs and chains of them.

use crate::format::{ShardProof, Transcript};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{verify_proof, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{Blake2bRead, Challenge255, TranscriptReadBuffer};
use halo2_proofs::SerdeFormat;
use thiserror::Error;
use zkinf_circuits::shard::ShardCircuit;

#[derive(Debug, Error, PartialEq)]
pub enum VerifyError {
    #[error("shard {shard}: the proof is for model {found}, expected {expected}")]
    Model {
        shard: u32,
        found: String,
        expected: String,
    },
    #[error("shard at position {position} claims to be shard {found}")]
    ShardIndex { position: usize, found: u32 },
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
    #[error("verifying key: {0}")]
    Key(String),
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

/// Reads a verifying key written with `SerdeFormat::RawBytes`.
pub fn read_verifying_key(bytes: &[u8]) -> Result<VerifyingKey<G1Affine>, VerifyError> {
    let mut rd = bytes;
    VerifyingKey::read::<_, ShardCircuit>(&mut rd, SerdeFormat::RawBytes, ())
        .map_err(|e| VerifyError::Key(e.to_string()))
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
    match proof.transcript {
        Transcript::Blake2b => {
            let mut t = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof.proof[..]);
            verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
                params,
                vk,
                SingleStrategy::new(params),
                &[&[&proof.instances]],
                &mut t,
            )
            .map_err(|_| VerifyError::Rejected(shard))
        }
    }
}

/// Verifies a whole inference: shard `i` is `proofs[i]` under `vks[i]`,
/// every proof names the same model, consecutive shards link, the first
/// input and the last output match what is given.
pub fn verify_chain(
    params: &ParamsKZG<Bn256>,
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
        if i > 0 && proofs[i - 1].output_commitment() != p.input_commitment() {
            return Err(VerifyError::Link(proofs[i - 1].shard, p.shard));
        }
        let expected = Expected {
            model_id: Some(model_id),
            shard: i as u32,
            input: if i == 0 { input } else { None },
            output: if i + 1 == proofs.len() { output } else { None },
        };
        verify_shard(params, vk, p, &expected)?;
    }
    Ok(())
}

//! zkinf prover: SRS loading and caching, key generation and per-shard
//! proofs. Every proof is checked with the verifier crate before it is
//! returned. (The CUDA backend and hybrid sampling come later: DESIGN.md.)

pub mod budget;
pub mod srs;

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk_custom, Circuit, ProvingKey};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::transcript::{Blake2bWrite, Challenge255, TranscriptWriterBuffer};
use thiserror::Error;
use zkinf_circuits::shard::{ShardCircuit, ShardParams};
use zkinf_verifier::{verify_shard, Expected, ShardProof, Transcript, VerifyError};

#[derive(Debug, Error)]
pub enum ProveError {
    #[error("SRS: {0}")]
    Srs(String),
    #[error("{0}")]
    Io(String),
    #[error("key generation failed: {0}")]
    Keygen(String),
    #[error("proving failed: {0}")]
    Prove(String),
    #[error("{0}")]
    Key(String),
    #[error("the circuit has no witness")]
    NoWitness,
    #[error("the proof just written does not verify: {0}")]
    SelfCheck(#[from] VerifyError),
}

/// Proving key (with its verifying key) of a shard circuit.
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    circuit: &ShardCircuit,
) -> Result<ProvingKey<G1Affine>, ProveError> {
    let empty = circuit.without_witnesses();
    // selector compression on: the chips' selectors share fixed columns
    // (each fixed column costs extended-domain FFTs in every proof)
    let vk =
        keygen_vk_custom(params, &empty, true).map_err(|e| ProveError::Keygen(e.to_string()))?;
    keygen_pk(params, vk, &empty).map_err(|e| ProveError::Keygen(e.to_string()))
}

/// A proving key as a key file (the verifier crate's key-file header, then
/// halo2's raw encoding).
pub fn write_proving_key(pk: &ProvingKey<G1Affine>, params: ShardParams) -> Vec<u8> {
    zkinf_verifier::encode_key(
        zkinf_verifier::KeyKind::Proving,
        params,
        &pk.to_bytes(halo2_proofs::SerdeFormat::RawBytes),
    )
}

/// Reads a proving-key file.
pub fn read_proving_key(bytes: &[u8]) -> Result<ProvingKey<G1Affine>, ProveError> {
    let (params, body) = zkinf_verifier::decode_key(zkinf_verifier::KeyKind::Proving, bytes)
        .map_err(|e| ProveError::Key(e.to_string()))?;
    let mut rd = body;
    ProvingKey::<G1Affine>::read::<_, ShardCircuit>(
        &mut rd,
        halo2_proofs::SerdeFormat::RawBytes,
        params,
    )
    .map_err(|e| ProveError::Key(format!("truncated or corrupt proving key ({e})")))
}

/// Proves one shard and verifies the proof before returning it.
pub fn prove_shard(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: ShardCircuit,
    shard: u32,
) -> Result<ShardProof, ProveError> {
    let inst = circuit.instances().ok_or(ProveError::NoWitness)?;
    let instances: [_; 4] = [inst[0], inst[1], inst[2], inst[3]];
    let mut t = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        params,
        pk,
        &[circuit],
        &[&[&instances]],
        rand::rngs::OsRng,
        &mut t,
    )
    .map_err(|e| ProveError::Prove(e.to_string()))?;
    let proof = ShardProof {
        transcript: Transcript::Blake2b,
        shard,
        instances,
        proof: t.finalize(),
    };
    verify_shard(
        params,
        pk.get_vk(),
        &proof,
        &Expected {
            model_id: Some(instances[0]),
            shard,
            input: None,
            output: None,
        },
    )?;
    Ok(proof)
}

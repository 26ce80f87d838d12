//! Keys of a shard circuit: generation (deterministic: the same plan and
//! SRS give the same keys, which is what lets an auditor rebuild published
//! keys) and the proving-key file.

use crate::error::ProveError;
use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, Circuit, ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use zkinf_circuits::shard::{ShardCircuit, ShardParams};
use zkinf_verifier::{decode_key, encode_key, KeyError, KeyKind};

/// The verifying key of a shard circuit (selector compression on: the
/// chips' selectors share fixed columns, each of which costs
/// extended-domain FFTs in every proof).
pub fn keygen_vk(
    params: &ParamsKZG<Bn256>,
    circuit: &ShardCircuit,
) -> Result<VerifyingKey<G1Affine>, ProveError> {
    vk_of(params, &circuit.without_witnesses())
}

/// The verifying key of a circuit without witnesses.
fn vk_of(
    params: &ParamsKZG<Bn256>,
    empty: &ShardCircuit,
) -> Result<VerifyingKey<G1Affine>, ProveError> {
    keygen_vk_custom(params, empty, true).map_err(|source| ProveError::Keygen {
        shard: empty.index(),
        source,
    })
}

/// The proving key (with its verifying key) of a shard circuit.
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    circuit: &ShardCircuit,
) -> Result<ProvingKey<G1Affine>, ProveError> {
    let empty = circuit.without_witnesses();
    let vk = vk_of(params, &empty)?;
    keygen_pk(params, vk, &empty).map_err(|source| ProveError::Keygen {
        shard: empty.index(),
        source,
    })
}

/// A proving key as a key file (the verifier crate's key-file header, then
/// halo2's raw encoding).
pub fn write_proving_key(pk: &ProvingKey<G1Affine>, params: ShardParams) -> Vec<u8> {
    encode_key(
        KeyKind::Proving,
        params,
        &pk.to_bytes(SerdeFormat::RawBytes),
    )
}

/// Reads a proving-key file.
pub fn read_proving_key(bytes: &[u8]) -> Result<ProvingKey<G1Affine>, KeyError> {
    let kind = KeyKind::Proving;
    let (params, body) = decode_key(kind, bytes)?;
    let mut rd = body;
    ProvingKey::<G1Affine>::read::<_, ShardCircuit>(&mut rd, SerdeFormat::RawBytes, params).map_err(
        |e| KeyError::Body {
            kind,
            reason: e.to_string(),
        },
    )
}

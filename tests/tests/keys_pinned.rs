//! The production shard circuit's verifying keys, pinned: every bundled
//! digits model compiled as `zkinf compile` compiles it (default options,
//! `--max-log-rows 18`, and the CNN also as `--shards 2`), its keys made as
//! `zkinf setup` makes them (`zkinf_prover::keygen`: selector compression
//! on) from a seeded SRS, and the keys digest (SHA-256 over the SRS verifier
//! part and every verifying-key file) compared with the value recorded when
//! the layout last changed on purpose. A refactor that moves a single cell,
//! column or gate changes a digest here; one that does not, keeps them all.
//!
//! Key generation is deterministic: the same plan and SRS give the same
//! keys, which is what lets an auditor recompute published keys
//! (`zkinf verify-bundle --recompute-keys`).

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::rngs::StdRng;
use rand::SeedableRng;
use zkinf_circuits::shard::{partition, partition_into, ShardCircuit};
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_prover::keygen;
use zkinf_tests::digits;
use zkinf_verifier::{keys_digest_of, write_verifying_key, SrsVerifierPart};

/// The SRS every pinned key is made with (its size: the largest shard's).
const SRS_SEED: u64 = 0x5eed_0021;

/// (model, shards asked for, keys digest)
const PINNED: &[(&str, u32, &str)] = &[
    (
        "cnn_int8_qdq",
        1,
        "96096a256f7f9338580293e87c0e4423e1cbbc32a95e4cf9a6c7575f6757f92e",
    ),
    (
        "cnn_int8_qdq",
        2,
        "6a78a000ebf35a57c2ef6b136c112f9f21c2da9c76a4327c95e2ef664c04ee66",
    ),
    (
        "cnn_int8_qop",
        1,
        "b5903cd6cd75879a39eb02d6a2e0aa8b59b20fcab6bd38c1667c51ae7006cea0",
    ),
    (
        "cnn_uint8_qop",
        1,
        "1fe8905708a186ca8b9a666160c0413a8e505759a52527d96fe6c6bf275dd67b",
    ),
    (
        "cnn_float",
        1,
        "211b0f54b04ccfc698b67961a4854f14cc22f8190bcb26265148ecb97356108a",
    ),
    (
        "mlp_int8_qdq",
        1,
        "9e6b291f5cfb6f1b67a76b8f45d9becae352d2db66202ac6a5e594b882941ec4",
    ),
    (
        "mlp_uint8_qop",
        1,
        "e15cc601be8314f2c130f4909a77a7a1fc2fa0dac3097c3f1543302d80b12f09",
    ),
    (
        "mlp_uint8_qdq_pc",
        1,
        "1681a54aea8aec089b0f26fc293d83df381ec2b5776a20e5cbda6d803484d3c3",
    ),
    (
        "mlp_float",
        1,
        "5600609ccdb506ac70f9573ec342dd48f05f8ac7a7c8b912151e57fed2501171",
    ),
    (
        "mlp_matmul_float",
        1,
        "eb902b00c4e2035b4708a27a14c247fe47a8d21cc2c073cb495646282061a7bc",
    ),
    (
        "mlp_matmul_uint8_qop",
        1,
        "b58ec46aa83b3ce0d2414d34821c95718d3c5fdc5d116e52169ca03544e3dc55",
    ),
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The keys digest of `model` cut into at least `shards` shards.
fn keys_digest(model: &str, shards: u32) -> String {
    let plan = compile_file(
        &digits(&format!("{model}.onnx")),
        &CompileOptions::default(),
    )
    .unwrap()
    .plan;
    let cut = if shards > 1 {
        partition_into(&plan, 18, shards as usize).unwrap()
    } else {
        partition(&plan, 18).unwrap()
    };
    let max_k = cut.iter().map(|s| s.k).max().unwrap();
    let full = ParamsKZG::<Bn256>::setup(max_k, StdRng::seed_from_u64(SRS_SEED));
    let mut vks = Vec::new();
    for (i, s) in cut.iter().enumerate() {
        let c = ShardCircuit::for_shard(&plan, s.spec(), i as u32, None).unwrap();
        let mut p = full.clone();
        if s.k < max_k {
            p.downsize(s.k);
        }
        let pk = keygen(&p, &c).unwrap();
        vks.push(write_verifying_key(pk.get_vk(), c.params()));
    }
    hex(&keys_digest_of(
        &SrsVerifierPart::of(&full),
        vks.iter().map(Vec::as_slice),
    ))
}

#[test]
fn bundled_models_keep_their_verifying_keys() {
    let mut changed = Vec::new();
    for &(model, shards, want) in PINNED {
        let got = keys_digest(model, shards);
        if got != want {
            changed.push(format!("    (\"{model}\", {shards}, \"{got}\"),"));
        }
    }
    assert!(
        changed.is_empty(),
        "verifying keys changed (if on purpose, say why in the change and pin):\n{}",
        changed.join("\n")
    );
}

#[test]
fn key_generation_is_deterministic() {
    let a = keys_digest("mlp_int8_qdq", 2);
    let b = keys_digest("mlp_int8_qdq", 2);
    assert_eq!(a, b, "two setups of one plan with one SRS");
}

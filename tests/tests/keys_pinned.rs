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
        "aa4704ba63fe4be1ea08f10caf10d041e20dc2d9c476185a03b75f6ea73a4747",
    ),
    (
        "cnn_int8_qdq",
        2,
        "a04912b608a4f07cbe8f73ce6780ac3f3f6d840a8bb2a9f41f94aeb549c5eb0b",
    ),
    (
        "cnn_int8_qop",
        1,
        "961cf6268e63928a5cfec52446d1e92a73c39cf79d9e023c35d4831b5879c04d",
    ),
    (
        "cnn_uint8_qop",
        1,
        "438c3bfe4dd13ea9d460e1e363169fab7ab8c43c8246299402fc08cf488c118b",
    ),
    (
        "cnn_float",
        1,
        "c218b77ef03bc57b48cfa39070038e715bc1f0ce01aed31b2f2ac2f1a9e750fe",
    ),
    (
        "mlp_int8_qdq",
        1,
        "4dc02d8279bb97a124937bbfff2efbbcb23289ba9529cdded3fa3ce7300fcab1",
    ),
    (
        "mlp_uint8_qop",
        1,
        "75ce54920cc14ef6750be39c29d1fe32770d78b67d22138e759550ec3f7414c5",
    ),
    (
        "mlp_uint8_qdq_pc",
        1,
        "258bd2f6f9ecacfccc69ffb86ad7ca03df4f69efb36f4d689587da15520281d1",
    ),
    (
        "mlp_float",
        1,
        "8b61629cda27a297bd05ecbbce2672f1818759a7876a0dca240cdd4df5d291a4",
    ),
    (
        "mlp_matmul_float",
        1,
        "4eefd707ebdf20ba0cb3118862541dc22043a4f37fde34fb2a2fa65048ca70b5",
    ),
    (
        "mlp_matmul_uint8_qop",
        1,
        "cb8328b2163dd7fe115e29bda5e7933a6d68f78a4b6facf93f1f1de6af2b83f4",
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

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
        "753161102f5d0c7d19ae38c955c0f906cc4dceb90057b13a4fb0c31a8071a60a",
    ),
    (
        "cnn_int8_qdq",
        2,
        "a29d90de6ea87893f184716195805450ed1f3e86e9a947b7aa9d542436b5b6e0",
    ),
    (
        "cnn_int8_qop",
        1,
        "5938cf6cdfe824e44a52961f8f5f074fb251eeffe5e5b7f62ea34c718cccb8d8",
    ),
    (
        "cnn_uint8_qop",
        1,
        "7b375387e07473ab8589ed4645c26c19b9b82eeb501023de76401c63c10e1283",
    ),
    (
        "cnn_float",
        1,
        "6cc9849c8672ad783c5066927098301e796b75e89239e3ab1efb51f1aebccabc",
    ),
    (
        "mlp_int8_qdq",
        1,
        "aee245bb763322315bc4924d1521d0898054aba4ba99e581b69b18e535b80164",
    ),
    (
        "mlp_uint8_qop",
        1,
        "c3840e077062e27810710aaf0fe97a65a04c7226899c5dd2bf31f58e07ef817f",
    ),
    (
        "mlp_uint8_qdq_pc",
        1,
        "ba1314e484f52de3c8d346ce83be6302f654f018f4007be633fd4f7255e3a983",
    ),
    (
        "mlp_float",
        1,
        "018a98eb9cdeb65edb6235677235bd6dbd1ba45aba4c6160159386fbcfcc15d1",
    ),
    (
        "mlp_matmul_float",
        1,
        "5e8e838a220f454491fa005cfd56b2d8397e66acb17bb8ebc4babc51b30e7b5b",
    ),
    (
        "mlp_matmul_uint8_qop",
        1,
        "14af92181ac466cebca5560455b92a9210ef6d99c5752b93ba1813b7d2f648bf",
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

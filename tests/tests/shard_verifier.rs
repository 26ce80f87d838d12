//! Proving a shard with the prover crate and checking it with the verifier
//! crate: the honest proof and chain verify; a flipped byte, a changed
//! claimed output, a different input, a proof from another model, another
//! model's verifying key, truncated or foreign-version files are each
//! rejected with their own error.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use zkinf_circuits::poseidon::{commit_tensor, Packing};
use zkinf_circuits::shard::{partition_into, ShardCircuit};
use zkinf_circuits::{execute, quantize_input};
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_prover::{keygen, prove_shard};
use zkinf_tests::{digits, samples};
use zkinf_verifier::{
    read_verifying_key, verify_chain, verify_shard, Expected, FormatError, KeyError, ShardProof,
    SrsByK, VerifyError,
};

struct Proved {
    proof: ShardProof,
    vk_bytes: Vec<u8>,
    input_commitment: Fr,
}

fn prove(model: &str, params: &ParamsKZG<Bn256>) -> Proved {
    let plan = compile_file(
        &digits(&format!("{model}.onnx")),
        &CompileOptions::default(),
    )
    .unwrap()
    .plan;
    let s = samples(model);
    let q = quantize_input(&plan.inputs[0], &s.inputs[0]).unwrap();
    let r = plan.inputs[0].range;
    let input_commitment = commit_tensor(
        &q.iter().copied().collect::<Vec<_>>(),
        Packing::for_range(r.lo, r.hi),
    );
    let trace = execute(&plan, vec![q]).unwrap();
    let circuit = ShardCircuit::new(plan, 0, Some(&trace)).unwrap();
    assert!(circuit.k() <= 12);
    let params_of = circuit.params();
    let pk = keygen(params, &circuit).unwrap();
    let proof = prove_shard(params, &pk, circuit, 0).unwrap();
    Proved {
        proof,
        vk_bytes: zkinf_verifier::write_verifying_key(pk.get_vk(), params_of),
        input_commitment,
    }
}

#[test]
fn shard_proofs_verify_and_every_forgery_is_rejected() {
    let params = ParamsKZG::<Bn256>::setup(12, rand::rngs::StdRng::seed_from_u64(3));
    let a = prove("mlp_int8_qdq", &params);
    let b = prove("mlp_uint8_qdq_pc", &params);
    let vk_a = read_verifying_key(&a.vk_bytes).unwrap();
    let vk_b = read_verifying_key(&b.vk_bytes).unwrap();
    let id_a = a.proof.model_id();
    let srs = SrsByK::from_full(&params, [12]);

    // honest: the file round-trips and verifies, alone and as a chain
    let bytes = a.proof.to_bytes();
    let back = ShardProof::from_bytes(&bytes).unwrap();
    assert_eq!(back, a.proof);
    let exp = Expected {
        model_id: Some(id_a),
        shard: 0,
        input: Some(a.input_commitment),
        output: Some(a.proof.output_commitment()),
    };
    assert_eq!(verify_shard(&params, &vk_a, &back, &exp), Ok(()));
    assert_eq!(
        verify_chain(
            &srs,
            std::slice::from_ref(&vk_a),
            std::slice::from_ref(&back),
            id_a,
            Some(a.input_commitment),
            Some(a.proof.output_commitment())
        ),
        Ok(())
    );

    // one flipped byte in the proof
    let mut flipped = back.clone();
    flipped.proof[200] ^= 1;
    assert_eq!(
        verify_shard(&params, &vk_a, &flipped, &Expected::default()),
        Err(VerifyError::Rejected(0))
    );

    // a changed claimed output, inside the proof file
    let mut claimed = back.clone();
    claimed.instances[3] += Fr::ONE;
    assert_eq!(
        verify_shard(&params, &vk_a, &claimed, &Expected::default()),
        Err(VerifyError::Rejected(0))
    );
    // ... or as the verifier's expectation
    let other_out = Expected {
        output: Some(a.proof.output_commitment() + Fr::ONE),
        ..exp.clone()
    };
    assert_eq!(
        verify_shard(&params, &vk_a, &back, &other_out),
        Err(VerifyError::Output(0))
    );

    // a different input
    let other_in = Expected {
        input: Some(a.input_commitment + Fr::ONE),
        ..exp.clone()
    };
    assert_eq!(
        verify_shard(&params, &vk_a, &back, &other_in),
        Err(VerifyError::Input(0))
    );

    // a proof from another model
    assert!(matches!(
        verify_shard(&params, &vk_a, &b.proof, &exp),
        Err(VerifyError::Model { .. })
    ));
    assert!(matches!(
        verify_chain(
            &srs,
            std::slice::from_ref(&vk_a),
            std::slice::from_ref(&b.proof),
            id_a,
            None,
            None
        ),
        Err(VerifyError::Model { .. })
    ));

    // a verifying key from another model
    assert_eq!(
        verify_shard(&params, &vk_b, &back, &Expected::default()),
        Err(VerifyError::Rejected(0))
    );

    // a proof claiming another shard position
    let mut moved = back.clone();
    moved.shard = 1;
    assert!(matches!(
        verify_shard(&params, &vk_a, &moved, &exp),
        Err(VerifyError::ShardIndex { .. })
    ));

    // file-level damage
    assert_eq!(
        ShardProof::from_bytes(&bytes[..bytes.len() - 1]),
        Err(FormatError::Truncated)
    );
    assert_eq!(
        ShardProof::from_bytes(&bytes[..20]),
        Err(FormatError::Truncated)
    );
    let mut v = bytes.clone();
    v[8] = 9;
    assert_eq!(
        ShardProof::from_bytes(&v),
        Err(FormatError::Version {
            found: 9,
            supported: 1
        })
    );
    assert_eq!(
        ShardProof::from_bytes(b"definitely not a proof"),
        Err(FormatError::BadMagic)
    );
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(ShardProof::from_bytes(&long), Err(FormatError::Trailing(1)));
    let mut t = bytes.clone();
    t[12] = 7;
    assert_eq!(ShardProof::from_bytes(&t), Err(FormatError::Transcript(7)));

    // a truncated verifying key
    assert!(matches!(
        read_verifying_key(&a.vk_bytes[..a.vk_bytes.len() / 2]),
        Err(KeyError::Selectors { .. } | KeyError::Body { .. })
    ));
    // key-file header: an older format version, unknown chip flags, a
    // header cut short, and chip flags of another circuit shape (the key
    // then does not describe the circuit it claims: rejected on reading)
    let header = |at: usize, word: u32| {
        let mut b = a.vk_bytes.clone();
        b[at..at + 4].copy_from_slice(&word.to_le_bytes());
        read_verifying_key(&b)
    };
    assert!(
        matches!(header(8, 1), Err(e @ KeyError::Version { found: 1, .. }) if e.to_string().contains("format version 1 is not supported")),
    );
    assert!(
        matches!(header(16, 1 << 9), Err(e @ KeyError::ChipFlags { .. }) if e.to_string().contains("unknown chip flags")),
    );
    assert!(matches!(
        read_verifying_key(&a.vk_bytes[..18]),
        Err(e @ KeyError::NoHeader { .. }) if e.to_string().contains("no header")
    ));
    let chips = u32::from_le_bytes(a.vk_bytes[16..20].try_into().unwrap());
    assert_ne!(chips, zkinf_circuits::shard::chips::ALL);
    assert!(
        header(16, zkinf_circuits::shard::chips::ALL).is_err(),
        "a key read with another chip set"
    );
    assert_eq!(
        verify_chain(&srs, &[], &[], id_a, None, None),
        Err(VerifyError::Empty)
    );
}

/// A three-shard chain through the library API: it verifies; swapped,
/// missing, re-ordered or foreign pieces are each rejected with their error.
#[test]
fn a_chain_of_shards_verifies_and_broken_chains_are_rejected() {
    let params = ParamsKZG::<Bn256>::setup(12, rand::rngs::StdRng::seed_from_u64(5));
    let model = "mlp_int8_qdq";
    let plan = compile_file(
        &digits(&format!("{model}.onnx")),
        &CompileOptions::default(),
    )
    .unwrap()
    .plan;
    let shards = partition_into(&plan, 12, 3).unwrap();
    assert_eq!(shards.len(), 3);
    let srs = SrsByK::from_full(&params, shards.iter().map(|s| s.k));
    let s = samples(model);
    let run = |sample: usize| {
        let q = quantize_input(&plan.inputs[0], &s.inputs[sample]).unwrap();
        let r = plan.inputs[0].range;
        let c = commit_tensor(
            &q.iter().copied().collect::<Vec<_>>(),
            Packing::for_range(r.lo, r.hi),
        );
        (execute(&plan, vec![q]).unwrap(), c)
    };
    let (trace, input_c) = run(0);
    let mut vks = Vec::new();
    let mut proofs = Vec::new();
    for (i, sh) in shards.iter().enumerate() {
        let c = ShardCircuit::for_shard(&plan, sh.spec(), i as u32, Some(&trace)).unwrap();
        let p = srs.get(sh.k).unwrap();
        let pk = keygen(p, &c).unwrap();
        proofs.push(prove_shard(p, &pk, c, i as u32).unwrap());
        vks.push(pk.get_vk().clone());
    }
    let id = proofs[0].model_id();
    let out_c = proofs[2].output_commitment();
    let chain = |vks: &[_], proofs: &[ShardProof]| {
        verify_chain(&srs, vks, proofs, id, Some(input_c), Some(out_c))
    };
    assert_eq!(chain(&vks, &proofs), Ok(()));

    // two proofs swapped
    let mut swapped = proofs.clone();
    swapped.swap(1, 2);
    assert_eq!(
        chain(&vks, &swapped),
        Err(VerifyError::ShardIndex {
            position: 1,
            found: 2
        })
    );
    // a shard missing
    assert_eq!(
        chain(&vks, &proofs[..2]),
        Err(VerifyError::Count { proofs: 2, keys: 3 })
    );
    assert_eq!(
        chain(&vks[..2], &proofs[..2]),
        Err(VerifyError::Output(1)),
        "a chain cut short does not end in the claimed output"
    );
    // the verifying key of another shard (same size: shard 0's key under shard 1)
    let mut keys = vks.clone();
    keys[1] = vks[2].clone();
    assert!(matches!(
        chain(&keys, &proofs),
        Err(VerifyError::Rejected(1)) | Err(VerifyError::SrsSize { shard: 1, .. })
    ));
    // a proof of another run of shard 0 does not link to shard 1
    let (trace1, input1) = run(1);
    let c0 = ShardCircuit::for_shard(&plan, shards[0].spec(), 0, Some(&trace1)).unwrap();
    let p0 = srs.get(shards[0].k).unwrap();
    let other0 = prove_shard(p0, &keygen(p0, &c0).unwrap(), c0, 0).unwrap();
    let mut mixed = proofs.clone();
    mixed[0] = other0;
    assert_eq!(
        verify_chain(&srs, &vks, &mixed, id, Some(input1), Some(out_c)),
        Err(VerifyError::Link(0, 1))
    );
    // an SRS of the wrong size for a shard
    assert_eq!(
        verify_shard(
            &params,
            &vks[1],
            &proofs[1],
            &Expected {
                shard: 1,
                ..Default::default()
            }
        ),
        Err(VerifyError::SrsSize {
            shard: 1,
            vk_k: shards[1].k,
            srs_k: 12
        })
    );
    assert_eq!(
        verify_chain(&SrsByK::default(), &vks, &proofs, id, None, None),
        Err(VerifyError::NoSrs(shards[0].k))
    );
}

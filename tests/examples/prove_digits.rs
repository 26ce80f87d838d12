//! Proves one digit through each bundled int8 digits model as a single shard
//! and prints k, setup (SRS + keys), prove and verify times, proof size and
//! peak RSS. A measurement tool, not a test:
//!
//!     cargo run --release -p zkinf-tests --example prove_digits [MODEL ...]

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof, Circuit};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{
    Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
};
use rand::SeedableRng;
use std::time::Instant;
use zkinf_circuits::shard::ShardCircuit;
use zkinf_circuits::{execute, quantize_input};
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_tests::{digits, samples};

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let models = if args.is_empty() {
        vec!["mlp_int8_qdq".to_string(), "cnn_int8_qdq".to_string()]
    } else {
        args
    };
    for model in models {
        let plan = compile_file(
            &digits(&format!("{model}.onnx")),
            &CompileOptions::default(),
        )
        .expect("compile")
        .plan;
        let s = samples(&model);
        let q = quantize_input(&plan.inputs[0], &s.inputs[0]).expect("input");
        let trace = execute(&plan, vec![q]).expect("execute");
        let circuit = ShardCircuit::new(plan, 0, Some(&trace)).expect("supported");
        let inst = circuit.instances().expect("witness");
        let k = circuit.k();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let t = Instant::now();
        let params = ParamsKZG::<Bn256>::setup(k, &mut rng);
        let srs = t.elapsed();
        let t = Instant::now();
        let vk = keygen_vk(&params, &circuit.without_witnesses()).expect("vk");
        let pk = keygen_pk(&params, vk, &circuit.without_witnesses()).expect("pk");
        let keygen = t.elapsed();
        let t = Instant::now();
        let mut tr = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
            &params,
            &pk,
            &[circuit],
            &[&[&inst]],
            &mut rng,
            &mut tr,
        )
        .expect("prove");
        let proof = tr.finalize();
        let prove = t.elapsed();
        let t = Instant::now();
        let mut tr = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof[..]);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            pk.get_vk(),
            SingleStrategy::new(&params),
            &[&[&inst]],
            &mut tr,
        )
        .expect("verifies");
        let verify = t.elapsed();
        println!(
            "{model}: k={k} srs {:.2}s keygen {:.2}s prove {:.2}s verify {:.1}ms proof {} B peak RSS {:.0} MB",
            srs.as_secs_f64(),
            keygen.as_secs_f64(),
            prove.as_secs_f64(),
            verify.as_secs_f64() * 1e3,
            proof.len(),
            peak_rss_mb()
        );
    }
}

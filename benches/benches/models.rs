//! The bundled int8 digits MLP and CNN: key generation and proving as one
//! shard; native verification of one shard and of the CNN cut into three
//! shards (a chain).

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use zkinf_benches::{digits_plan, digits_trace, srs};
use zkinf_circuits::shard::{partition_into, ShardCircuit};
use zkinf_prover::{keygen, prove_shard};
use zkinf_verifier::{verify_chain, verify_shard, Expected, SrsByK};

fn models(c: &mut Criterion) {
    let mut group = c.benchmark_group("digits");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    for model in ["mlp_int8_qdq", "cnn_int8_qdq"] {
        let plan = digits_plan(model);
        let trace = digits_trace(model, &plan);
        let circuit = ShardCircuit::new(plan, 0, Some(&trace)).expect("circuit");
        let k = circuit.k();
        let params = srs(k);
        group.bench_function(format!("{model} keygen (k={k})"), |b| {
            b.iter(|| keygen(&params, &circuit).expect("keys"))
        });
        let pk = keygen(&params, &circuit).expect("keys");
        group.bench_function(format!("{model} prove (k={k})"), |b| {
            b.iter(|| prove_shard(&params, &pk, circuit.clone(), 0).expect("proof"))
        });
        let proof = prove_shard(&params, &pk, circuit.clone(), 0).expect("proof");
        let expected = Expected {
            model_id: Some(proof.model_id()),
            shard: 0,
            input: Some(proof.input_commitment()),
            output: Some(proof.output_commitment()),
        };
        group.bench_function(format!("{model} verify one shard"), |b| {
            b.iter(|| verify_shard(&params, pk.get_vk(), &proof, &expected).expect("verifies"))
        });
    }

    // the CNN as a chain of three shards
    let model = "cnn_int8_qdq";
    let plan = digits_plan(model);
    let trace = digits_trace(model, &plan);
    let whole = ShardCircuit::new(plan.clone(), 0, None)
        .expect("circuit")
        .k();
    let shards = partition_into(&plan, whole, 3).expect("three shards");
    let full = srs(shards.iter().map(|s| s.k).max().unwrap_or(whole));
    let set = SrsByK::from_full(&full, shards.iter().map(|s| s.k));
    let (mut vks, mut proofs) = (Vec::new(), Vec::new());
    for (i, s) in shards.iter().enumerate() {
        let c = ShardCircuit::for_shard(&plan, s.spec(), i as u32, Some(&trace)).expect("shard");
        let p = set.get(s.k).expect("srs");
        let pk = keygen(p, &c).expect("keys");
        proofs.push(prove_shard(p, &pk, c, i as u32).expect("proof"));
        vks.push(pk.get_vk().clone());
    }
    let id = proofs[0].model_id();
    let (input, output) = (
        proofs[0].input_commitment(),
        proofs[proofs.len() - 1].output_commitment(),
    );
    group.bench_function(format!("{model} verify chain of {}", shards.len()), |b| {
        b.iter(|| {
            verify_chain(&set, &vks, &proofs, id, Some(input), Some(output)).expect("verifies")
        })
    });
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);

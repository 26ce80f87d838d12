//! The benchmark's transformer block (models/transformer/block.onnx) as one
//! shard: witness assignment (building the circuit from the trace), key
//! generation, proving and verification; and the same block cut inside its
//! layers into shards of 2^11 rows (bundle cuts), proven one after another.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use zkinf_benches::{srs, transformer_block};
use zkinf_circuits::shard::{partition, ShardCircuit};
use zkinf_prover::{keygen, prove_shard};
use zkinf_verifier::{verify_shard, Expected, SrsByK};

fn block(c: &mut Criterion) {
    let mut group = c.benchmark_group("transformer");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let (plan, trace) = transformer_block();
    let circuit = ShardCircuit::new(plan.clone(), 0, Some(&trace)).expect("circuit");
    let k = circuit.k();
    // where the rows go: the bank (inputs, packing, rescale/divide, maxpool,
    // poseidon: stacked) or the tallest other group sets the height
    let groups: Vec<String> = circuit
        .row_breakdown()
        .iter()
        .filter(|(_, r)| *r > 0)
        .map(|(g, r)| format!("{g} {r}"))
        .collect();
    println!(
        "transformer block: k = {k}, {} rows, {} range lanes; rows per column group: {}",
        circuit.rows(),
        circuit.params().range_lanes,
        groups.join(", ")
    );
    let params = srs(k);
    group.bench_function(format!("block witness (k={k})"), |b| {
        b.iter(|| ShardCircuit::new(plan.clone(), 0, Some(&trace)).expect("circuit"))
    });
    group.bench_function(format!("block keygen (k={k})"), |b| {
        b.iter(|| keygen(&params, &circuit).expect("keys"))
    });
    let pk = keygen(&params, &circuit).expect("keys");
    group.bench_function(format!("block prove (k={k})"), |b| {
        b.iter(|| prove_shard(&params, &pk, circuit.clone(), 0).expect("proof"))
    });
    let proof = prove_shard(&params, &pk, circuit.clone(), 0).expect("proof");
    let expected = Expected {
        model_id: Some(proof.model_id()),
        shard: 0,
        input: Some(proof.input_commitment()),
        output: Some(proof.output_commitment()),
    };
    group.bench_function("block verify", |b| {
        b.iter(|| verify_shard(&params, pk.get_vk(), &proof, &expected).expect("verifies"))
    });

    // cut inside its layers: shards of at most 2^11 rows
    let shards = partition(&plan, 11).expect("bundle cuts");
    let full = srs(shards.iter().map(|s| s.k).max().unwrap_or(11));
    let set = SrsByK::from_full(&full, shards.iter().map(|s| s.k));
    let mut keyed = Vec::new();
    for (i, s) in shards.iter().enumerate() {
        let c = ShardCircuit::for_shard(&plan, s.spec(), i as u32, Some(&trace)).expect("shard");
        let p = set.get(s.k).expect("srs");
        let pk = keygen(p, &c).expect("keys");
        keyed.push((s.k, c, pk));
    }
    group.bench_function(
        format!("block prove {} shards of k <= 11", shards.len()),
        |b| {
            b.iter(|| {
                for (i, (k, c, pk)) in keyed.iter().enumerate() {
                    let p = set.get(*k).expect("srs");
                    prove_shard(p, pk, c.clone(), i as u32).expect("proof");
                }
            })
        },
    );
    group.finish();
}

criterion_group!(benches, block);
criterion_main!(benches);

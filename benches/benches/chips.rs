//! Proving throughput of each chip family (rows per second): a one-family
//! shard circuit at two sizes, keys made once, `prove_shard` measured (it
//! includes the proof's self-check, a few milliseconds).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use zkinf_benches::{family, run, srs, FAMILIES};
use zkinf_circuits::shard::ShardCircuit;
use zkinf_prover::{keygen, prove_shard};

fn chips(c: &mut Criterion) {
    let mut group = c.benchmark_group("chip proving");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for &(name, sizes) in FAMILIES {
        for &size in sizes {
            let plan = family(name, size);
            let trace = run(&plan);
            let circuit = ShardCircuit::new(plan, 0, Some(&trace)).expect("circuit");
            let (k, rows) = (circuit.k(), circuit.rows());
            let params = srs(k);
            let pk = keygen(&params, &circuit).expect("keys");
            group.throughput(Throughput::Elements(rows as u64));
            group.bench_with_input(
                BenchmarkId::new(name, format!("{size} (k={k}, {rows} rows)")),
                &circuit,
                |b, circuit| {
                    b.iter(|| prove_shard(&params, &pk, circuit.clone(), 0).expect("proof"))
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, chips);
criterion_main!(benches);

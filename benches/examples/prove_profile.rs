//! Where proving time goes, for the bundled digits models (and `block`, the
//! transformer benchmark block of models/transformer): the shard
//! circuit's shape (advice, fixed and equality-enabled columns, lookup
//! arguments, degree, k) and the best of a few in-process proofs (no process
//! start, key reading or SRS loading), so circuit changes can be compared
//! without the noise of whole-CLI runs.
//!
//!     cargo run --release -p zkinf-benches --example prove_profile [-- MODEL... [--runs N]]

use halo2_proofs::plonk::ConstraintSystem;
use std::time::Instant;
use zkinf_benches::{digits_plan, digits_trace, srs, transformer_block};
use zkinf_circuits::shard::ShardCircuit;
use zkinf_prover::{keygen, prove_shard};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 5;
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(5);
        args.drain(i..(i + 2).min(args.len()));
    }
    if args.is_empty() {
        args = vec!["mlp_int8_qdq".into(), "cnn_int8_qdq".into()];
    }
    for model in &args {
        let (plan, trace) = if model == "block" {
            transformer_block()
        } else {
            let plan = digits_plan(model);
            let trace = digits_trace(model, &plan);
            (plan, trace)
        };
        let circuit = ShardCircuit::new(plan, 0, Some(&trace)).expect("circuit");
        let groups: Vec<String> = circuit
            .row_breakdown()
            .iter()
            .filter(|(_, r)| *r > 0)
            .map(|(g, r)| format!("{g} {r}"))
            .collect();
        println!("{model}: rows per column group: {}", groups.join(", "));
        let k = circuit.k();
        let mut cs = ConstraintSystem::default();
        let _ = <ShardCircuit as halo2_proofs::plonk::Circuit<_>>::configure_with_params(
            &mut cs,
            circuit.params(),
        );
        println!(
            "{model}: k = {k}, {} rows, params {:?}: {} advice, {} fixed, {} equality-enabled, {} lookups, degree {}",
            circuit.rows(),
            circuit.params(),
            cs.num_advice_columns(),
            cs.num_fixed_columns(),
            cs.permutation().get_columns().len(),
            cs.lookups().len(),
            cs.degree()
        );
        let params = srs(k);
        let t = Instant::now();
        let pk = keygen(&params, &circuit).expect("keys");
        let kcs = pk.get_vk().cs();
        println!(
            "  keygen {:.3} s; after selector compression: {} fixed columns, {} selectors",
            t.elapsed().as_secs_f64(),
            kcs.num_fixed_columns(),
            kcs.num_selectors()
        );
        let mut times = Vec::new();
        let cpu0 = cpu_seconds();
        for _ in 0..runs {
            let t = Instant::now();
            let proof = prove_shard(&params, &pk, circuit.clone(), 0).expect("proof");
            times.push(t.elapsed().as_secs_f64());
            std::hint::black_box(proof);
        }
        let cpu = (cpu_seconds() - cpu0) / runs as f64;
        times.sort_by(f64::total_cmp);
        println!(
            "  prove (with self-check) best {:.3} s, median {:.3} s over {runs}; CPU {cpu:.3} s per proof (all threads)",
            times[0],
            times[times.len() / 2]
        );
    }
}

/// User + system CPU time of this process so far (all threads), from
/// /proc/self/stat (0 where that is missing): less sensitive than wall time
/// to other work on a shared machine.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // fields after the command name (which may hold spaces) end with ')'
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), 12 and 13 here
    (ticks(11) + ticks(12)) / 100.0
}

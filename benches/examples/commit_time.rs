//! What `zkinf commit` costs on a compiled folder, without its keys: the
//! integer executor over the whole model, then every shard's boundary
//! commitments (each shard's circuit built with its witness, its public
//! values computed). `zkinf commit` adds only reading the verifying keys
//! (for the keys digest) and writing the record, so this measures the hybrid
//! mode's commitment on models whose keys are not generated here (Qwen2.5's
//! 24 layers: 49 shards of 2^20 rows).
//!
//!     cargo run --release -p zkinf-benches --example commit_time -- DIR IN.json

use std::path::PathBuf;
use std::time::Instant;
use zkinf_circuits::shard::{model_id, ShardCircuit};
use zkinf_prover::{run_input, Folder};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(input)) = (args.first(), args.get(1)) else {
        eprintln!("usage: commit_time DIR IN.json");
        std::process::exit(2);
    };
    let folder = Folder::new(PathBuf::from(dir));
    let t = Instant::now();
    let plan = folder.load_plan().expect("the folder's plan");
    let shards = folder.load_shards(&plan).expect("the folder's shards");
    println!(
        "plan and shards read in {:.1} s ({} shards)",
        t.elapsed().as_secs_f64(),
        shards.len()
    );
    let t = Instant::now();
    let run = run_input(&plan, input.as_ref()).expect("the input runs");
    println!("executor (whole model): {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let _ = model_id(&plan);
    println!(
        "model id (hash of the plan, once per plan): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let mut boundaries = Vec::with_capacity(shards.len() + 1);
    for (i, s) in shards.iter().enumerate() {
        let c = ShardCircuit::for_shard(&plan, s.spec(), i as u32, Some(&run.trace))
            .expect("the shard's circuit");
        let inst = c.instances().expect("a witness");
        if i == 0 {
            boundaries.push(inst[2]);
        }
        boundaries.push(inst[3]);
    }
    println!(
        "{} boundary commitments: {:.1} s",
        boundaries.len(),
        t.elapsed().as_secs_f64()
    );
}

//! What a verifying-key-only setup (`zkinf setup --verifying-keys-only`)
//! costs per shard of a compiled folder: the development SRS of the
//! shard's size, then its verifying key, timed (shards given by index, default
//! the first).
//!
//!     cargo run --release -p zkinf-benches --example vk_time -- DIR [SHARD...]

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::path::PathBuf;
use std::time::Instant;
use zkinf_circuits::shard::ShardCircuit;
use zkinf_prover::{keygen_vk, Folder};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: vk_time DIR [SHARD...]");
        std::process::exit(2);
    };
    let which: Vec<usize> = match args[1..].iter().map(|a| a.parse()).collect() {
        Ok(v) if !args[1..].is_empty() => v,
        _ => vec![0],
    };
    let folder = Folder::new(PathBuf::from(dir));
    let plan = folder.load_plan().expect("the folder's plan");
    let shards = folder.load_shards(&plan).expect("the folder's shards");
    for i in which {
        let s = &shards[i];
        let t = Instant::now();
        let params = ParamsKZG::<Bn256>::setup(s.k, StdRng::seed_from_u64(1));
        let srs_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let c = ShardCircuit::for_shard(&plan, s.spec(), i as u32, None).expect("shard");
        let vk = keygen_vk(&params, &c).expect("verifying key");
        println!(
            "shard {i} (k = {}, {} rows): SRS {srs_s:.1} s, verifying key {:.1} s ({} fixed commitments)",
            s.k,
            s.rows,
            t.elapsed().as_secs_f64(),
            vk.fixed_commitments().len()
        );
    }
}

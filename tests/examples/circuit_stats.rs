//! Where a shard circuit's rows and columns go: for each model (default:
//! the bundled int8 digits MLP and CNN), the circuit's k, the rows of each
//! column group (the tallest sets k), and the constraint system's columns,
//! lookup arguments and degree.
//!
//!     cargo run --release -p zkinf-tests --example circuit_stats [MODEL ...]
//!
//! MODEL is a bundled digits model name or a path to an ONNX file.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use zkinf_circuits::shard::ShardCircuit;
use zkinf_compiler::{compile_file, CompileOptions};
use zkinf_tests::digits;

fn main() {
    let mut models: Vec<String> = std::env::args().skip(1).collect();
    if models.is_empty() {
        models = vec!["mlp_int8_qdq".into(), "cnn_int8_qdq".into()];
    }
    let mut cs = ConstraintSystem::<Fr>::default();
    ShardCircuit::configure(&mut cs);
    println!(
        "shard circuit: {} advice, {} fixed, {} instance columns, {} selectors, {} lookup arguments, {} equality-enabled columns, max degree {}",
        cs.num_advice_columns(),
        cs.num_fixed_columns(),
        cs.num_instance_columns(),
        cs.num_selectors(),
        cs.lookups().len(),
        cs.permutation().get_columns().len(),
        cs.degree()
    );
    for m in models {
        let path = if m.ends_with(".onnx") {
            std::path::PathBuf::from(&m)
        } else {
            digits(&format!("{m}.onnx"))
        };
        let plan = match compile_file(&path, &CompileOptions::default()) {
            Ok(c) => c.plan,
            Err(e) => {
                eprintln!("{m}: {e}");
                continue;
            }
        };
        let c = match ShardCircuit::new(plan, 0, None) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{m}: {e}");
                continue;
            }
        };
        println!(
            "{m}: k = {}, {} rows, {} range lane(s)",
            c.k(),
            c.rows(),
            c.params().range_lanes
        );
        for (group, rows) in c.row_breakdown() {
            println!("  {group:<22} {rows:>8}");
        }
    }
}

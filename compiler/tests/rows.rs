//! The compile table's rows are the circuits' exact sizing: every node's
//! share plus each shard's own rows is exactly that shard's circuit, and the
//! table's total is the sum of the shards' rows, for every bundled model cut
//! into one, two or three shards.

use std::path::PathBuf;
use zkinf_circuits::shard::ShardCircuit;
use zkinf_compiler::{compile_file, CompileOptions};

fn digits(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../models/digits")
        .join(name)
}

#[test]
fn the_table_adds_up_to_the_shards_rows() {
    let mut checked = 0;
    for model in [
        "mlp_int8_qdq",
        "mlp_float",
        "mlp_uint8_qop",
        "cnn_int8_qdq",
        "cnn_float",
        "cnn_uint8_qop",
    ] {
        for shards in 1..=3 {
            let opts = CompileOptions {
                shards,
                ..CompileOptions::default()
            };
            let c = compile_file(&digits(&format!("{model}.onnx")), &opts).unwrap();
            let r = &c.report;
            let Some(cut) = r.shards.shards.as_ref() else {
                // fewer cut points than shards asked for
                assert!(shards > 1, "{model}: {:?}", r.shards.error);
                continue;
            };
            assert!(cut.len() >= shards as usize);
            let total = r.total_rows.unwrap();
            assert_eq!(total, cut.iter().map(|s| s.rows).sum::<usize>(), "{model}");
            for (i, s) in cut.iter().enumerate() {
                let circuit =
                    ShardCircuit::for_shard(&c.plan, s.sized().spec(), i as u32, None).unwrap();
                assert_eq!(circuit.rows(), s.rows, "{model} shard {i}");
                assert_eq!(circuit.k(), s.k, "{model} shard {i}");
                let nodes: usize = r
                    .ops
                    .iter()
                    .filter(|o| o.shard == Some(i))
                    .map(|o| o.rows.unwrap())
                    .sum();
                assert_eq!(nodes + s.overhead, s.rows, "{model} shard {i}");
                assert!(s.overhead >= 16, "the reserved rows are the shard's own");
            }
            assert!(r.ops.iter().all(|o| o.rows.is_some() && o.shard.is_some()));
            let table = r.table();
            assert!(
                table
                    .lines()
                    .last()
                    .unwrap()
                    .trim_end()
                    .ends_with(&total.to_string()),
                "{table}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked}");
}

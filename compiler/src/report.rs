//! The compile report (`report.json`).

use crate::cut::{Partition, ShardRow};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct OpRow {
    pub node: String,
    pub op: String,
    pub shape: Vec<usize>,
    /// the rows this node adds to its shard's circuit (None: no circuit)
    pub rows: Option<usize>,
    pub shard: Option<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct TensorRow {
    pub name: String,
    pub shape: Vec<usize>,
}

#[derive(Clone, Debug, Serialize)]
pub struct QuantReport {
    /// `exact-int8` (integer semantics taken from the model) or `calibrated`.
    pub mode: String,
    /// Where the measured samples came from.
    pub data: String,
    pub samples: usize,
    /// Largest |plan output - float reference output| over the samples.
    pub max_abs_error: f64,
    /// Share of samples whose first output has the same argmax.
    pub argmax_agreement: f64,
    /// What the float reference computes.
    pub reference: String,
    /// Activation bits (calibrated mode).
    pub bits: Option<u32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub model_hash: String,
    pub plan_format_version: u32,
    pub source: String,
    pub opset: i64,
    pub inputs: Vec<TensorRow>,
    pub outputs: Vec<TensorRow>,
    pub ops: Vec<OpRow>,
    /// the sum of the (sized) shards' rows (None: the model has no circuit
    /// yet)
    pub total_rows: Option<usize>,
    pub quantization: QuantReport,
    /// the cut into shards (`shards.json`)
    pub shards: Partition,
    /// the shards the rows were measured on: the cut, or (when one node
    /// needs more rows than the cut allows) a cut into shards of up to
    /// `2^26` rows; empty when the model has no circuit yet
    pub sized_shards: Vec<ShardRow>,
}

impl Report {
    /// The per-layer table printed by `zkinf compile`: each node's share of
    /// its shard's rows (the rows it adds to the column group that sets the
    /// shard's height), each shard's own rows (commitments of its input and
    /// output, tables, blinding: what no single node adds), and the total,
    /// the sum of the shards' rows.
    pub fn table(&self) -> String {
        let w = self
            .ops
            .iter()
            .map(|o| o.node.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 40);
        let line =
            |a: &str, b: &str, c: &str, d: String| format!("{a:<w$}  {b:<10}  {c:<18}  {d:>10}\n");
        let show = |r: Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
        let mut s = line("node", "op", "output shape", "rows".into());
        let shards = &self.sized_shards;
        for (i, o) in self.ops.iter().enumerate() {
            s += &line(&o.node, &o.op, &format!("{:?}", o.shape), show(o.rows));
            let last_of_shard =
                o.shard.is_some() && self.ops.get(i + 1).is_none_or(|next| next.shard != o.shard);
            if let Some(sh) = o.shard.filter(|_| last_of_shard) {
                if let Some(row) = shards.get(sh) {
                    s += &line(
                        &format!("(shard {sh})"),
                        "its own",
                        "commitments, tables",
                        row.overhead.to_string(),
                    );
                }
            }
        }
        s += &line("total", "", "", show(self.total_rows));
        s
    }
}

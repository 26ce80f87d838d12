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
    /// where this node's output is an ONNX tensor: the largest |dequantized
    /// value - float reference| over the measured samples (the layer's
    /// quantization error)
    pub max_abs_error: Option<f64>,
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
    /// Weight bits (calibrated mode).
    pub weight_bits: Option<u32>,
    /// Whether the ranges were guessed (no calibration data was given).
    pub ranges_guessed: bool,
    /// Float tensors of an int8 model that zkinf quantized from the
    /// calibration data (the model leaves them float): not bit-exact.
    pub zkinf_quantized: Vec<String>,
    /// Ops of an int8 model onnxruntime computes in float32, which zkinf
    /// approximates in integers: not bit-exact.
    pub approximated: Vec<String>,
    /// What a user must know about this quantization (printed by compile).
    pub warnings: Vec<String>,
}

/// A requantization whose bound is where a calibrated range ends: a value
/// the op clamps there was outside that range (`infer` and `prove` count
/// them; `--strict` refuses).
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SatBound {
    /// the plan node (tensor id) and its name
    pub tensor: u32,
    pub name: String,
    /// whether the lower / upper bound is a saturation
    pub lo: bool,
    pub hi: bool,
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
    /// requantizations whose bounds end a calibrated range (float models)
    pub saturation: Vec<SatBound>,
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
        let errors = self.ops.iter().any(|o| o.max_abs_error.is_some());
        let line = |a: &str, b: &str, c: &str, d: String, e: String| {
            let row = format!("{a:<w$}  {b:<10}  {c:<18}  {d:>10}");
            if errors {
                format!("{row}  {e:>10}\n")
            } else {
                format!("{row}\n")
            }
        };
        let show = |r: Option<usize>| r.map_or("-".to_string(), |r| r.to_string());
        let err = |e: Option<f64>| e.map_or(String::new(), |e| format!("{e:.2e}"));
        let mut s = line(
            "node",
            "op",
            "output shape",
            "rows".into(),
            "max |error|".into(),
        );
        let shards = &self.sized_shards;
        for (i, o) in self.ops.iter().enumerate() {
            s += &line(
                &o.node,
                &o.op,
                &format!("{:?}", o.shape),
                show(o.rows),
                err(o.max_abs_error),
            );
            let last_of_shard =
                o.shard.is_some() && self.ops.get(i + 1).is_none_or(|next| next.shard != o.shard);
            if let Some(sh) = o.shard.filter(|_| last_of_shard) {
                if let Some(row) = shards.get(sh) {
                    s += &line(
                        &format!("(shard {sh})"),
                        "its own",
                        "commitments, tables",
                        row.overhead.to_string(),
                        String::new(),
                    );
                }
            }
        }
        s += &line("total", "", "", show(self.total_rows), String::new());
        s
    }
}

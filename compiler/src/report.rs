//! The compile report (`report.json`).

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct OpRow {
    pub node: String,
    pub op: String,
    pub shape: Vec<usize>,
    pub rows: usize,
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
    pub total_rows: usize,
    pub quantization: QuantReport,
}

impl Report {
    /// The per-layer table printed by `zkinf compile`.
    pub fn table(&self) -> String {
        let w = self
            .ops
            .iter()
            .map(|o| o.node.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 40);
        let mut s = format!(
            "{:<w$}  {:<10}  {:<18}  {:>10}\n",
            "node", "op", "output shape", "rows"
        );
        for o in &self.ops {
            s += &format!(
                "{:<w$}  {:<10}  {:<18}  {:>10}\n",
                o.node,
                o.op,
                format!("{:?}", o.shape),
                o.rows
            );
        }
        s += &format!(
            "{:<w$}  {:<10}  {:<18}  {:>10}\n",
            "total", "", "", self.total_rows
        );
        s
    }
}

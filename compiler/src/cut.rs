//! The cut of a plan into shards and the compile table's rows, both from
//! the circuits' exact sizing (`zkinf_circuits::shard`): every node's rows
//! are its share of its shard's circuit, each shard adds the rows no single
//! node does (commitments, tables, blinding), and so the table's total is
//! the sum of the shards' rows.

use serde::{Deserialize, Serialize};
use zkinf_circuits::shard::{node_rows, partition, partition_into, ShardError, SizedShard};
use zkinf_circuits::CheckedPlan;

/// The default largest shard: `2^18` rows (about 4 GB to prove).
pub const DEFAULT_MAX_LOG_ROWS: u32 = 18;
/// The largest shard any key may describe (`zkinf_verifier::MAX_K`).
pub const MAX_LOG_ROWS: u32 = 26;

/// One shard of the cut: nodes `start..end`, its circuit's rows and `k`,
/// and the rows no single node of it accounts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRow {
    pub start: usize,
    pub end: usize,
    pub rows: usize,
    pub k: u32,
    #[serde(default)]
    pub overhead: usize,
}

impl ShardRow {
    pub fn sized(&self) -> SizedShard {
        SizedShard {
            start: self.start,
            end: self.end,
            rows: self.rows,
            k: self.k,
        }
    }
}

/// The cut (`shards.json`, and `report.json`'s `shards`): the shards, or
/// why the model cannot be proven yet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Partition {
    pub max_log_rows: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<ShardRow>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Per node: its rows and its shard (None where the model has no circuit).
type NodeShares = Vec<Option<(usize, usize)>>;

/// The cut, and the shards the rows were measured on with each node's
/// share of them: the cut itself, or, when one node needs more than
/// `2^max_log_rows` rows, a cut at [`MAX_LOG_ROWS`] (so the rows are known
/// and `--max-rows` holds even for a model that cannot be proven yet).
pub(crate) struct Cut {
    pub(crate) partition: Partition,
    pub(crate) sized: Vec<ShardRow>,
    pub(crate) rows: NodeShares,
}

fn rows_of(
    plan: &CheckedPlan,
    shards: &[SizedShard],
) -> Result<(Vec<ShardRow>, NodeShares), ShardError> {
    let nr = node_rows(plan, shards)?;
    let mut rows = vec![None; plan.nodes.len()];
    for (s, sh) in shards.iter().enumerate() {
        for (i, r) in rows.iter_mut().enumerate().take(sh.end).skip(sh.start) {
            *r = Some((nr.nodes[i], s));
        }
    }
    let table = shards
        .iter()
        .zip(&nr.overhead)
        .map(|(s, &overhead)| ShardRow {
            start: s.start,
            end: s.end,
            rows: s.rows,
            k: s.k,
            overhead,
        })
        .collect();
    Ok((table, rows))
}

/// Cuts `plan` into shards of at most `2^max_log_rows` rows (at least
/// `shards` of them; `found`: the greedy cut at `max_log_rows` when already
/// known). A model whose single node needs more still gets its rows (sized
/// at [`MAX_LOG_ROWS`]) with the error that says so.
pub(crate) fn cut(
    plan: &CheckedPlan,
    max_log_rows: u32,
    shards: u32,
    found: Option<Vec<SizedShard>>,
) -> Cut {
    let cut_at = |k: u32| match &found {
        Some(f) if k == max_log_rows && f.len() >= shards as usize => Ok(f.clone()),
        _ if shards > 1 => partition_into(plan, k, shards as usize),
        _ => partition(plan, k),
    };
    let none = || vec![None; plan.nodes.len()];
    match cut_at(max_log_rows).and_then(|p| rows_of(plan, &p)) {
        Ok((table, rows)) => Cut {
            partition: Partition {
                max_log_rows,
                shards: Some(table.clone()),
                error: None,
            },
            sized: table,
            rows,
        },
        Err(e) => {
            let (sized, rows) = match &e {
                ShardError::TooLarge { .. } => partition(plan, MAX_LOG_ROWS)
                    .and_then(|p| rows_of(plan, &p))
                    .unwrap_or_else(|_| (Vec::new(), none())),
                _ => (Vec::new(), none()),
            };
            Cut {
                partition: Partition {
                    max_log_rows,
                    shards: None,
                    error: Some(e.to_string()),
                },
                sized,
                rows,
            }
        }
    }
}

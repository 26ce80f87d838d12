//! Why a plan (or a cut of it) has no shard circuit.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ShardError {
    #[error("node {node} ({name}): {op} is not supported by the shard circuit yet")]
    Unsupported {
        node: usize,
        name: String,
        op: String,
    },
    #[error("node {node} ({name}): {reason}")]
    Shape {
        node: usize,
        name: String,
        reason: String,
    },
    #[error("the plan has {0} inputs and outputs; shard circuits take one of each")]
    Arity(usize),
    #[error("partition: {0}")]
    Partition(String),
    #[error("nodes {start}..{end} ({names}) need 2^{k} rows in one shard, more than --max-log-rows {max_k} allows; raise it to at least {k}")]
    TooLarge {
        start: usize,
        end: usize,
        names: String,
        k: u32,
        max_k: u32,
    },
}

//! Why a plan (or a cut of it) has no shard circuit.

use crate::PlanError;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum ShardError {
    #[error("node {node} ({name}): {op} is not supported by the shard circuit yet")]
    Unsupported {
        node: usize,
        name: String,
        op: String,
    },
    #[error("node {node} ({name}): its division does not fit the divide chip (divisor below 1 or operands too wide)")]
    DivisionTooWide { node: usize, name: String },
    #[error(
        "the plan has {inputs} input(s) and {outputs} output(s); shard circuits take one of each"
    )]
    Arity { inputs: usize, outputs: usize },
    #[error("partition: shard nodes {start}..{end} are outside the plan's {nodes} nodes")]
    OutsidePlan {
        start: usize,
        end: usize,
        nodes: usize,
    },
    #[error("partition: node {node} ({name}) reads tensor {tensor}, which does not cross the cut before node {start}")]
    NotCrossing {
        node: usize,
        name: String,
        tensor: u32,
        start: usize,
    },
    #[error("partition: the last shard does not compute the output tensor {0}")]
    NoOutput(u32),
    #[error("partition: the shard's own plan is invalid: {0}")]
    SubPlan(PlanError),
    #[error("partition: shard {shard} covers nodes {start}..{end}; expected it to start at node {expected}")]
    Gap {
        shard: usize,
        start: usize,
        end: usize,
        expected: usize,
    },
    #[error("partition: a cut carries {tensors} tensors of {values} values in all, more than a bundle may (16 tensors, 2^20 values)")]
    BundleTooLarge { tensors: usize, values: usize },
    #[error("partition: shard {shard} ends after node {node}, which is no cut point (one tensor, or a bundle of at most 16 tensors and 2^20 values, must cross)")]
    NotACutPoint { shard: usize, node: usize },
    #[error("partition: the shards cover nodes 0..{covered} of {nodes}")]
    Uncovered { covered: usize, nodes: usize },
    #[error("partition: the plan can be cut into at most {most} shards ({} cut points where one tensor crosses), not {asked}", most - 1)]
    TooManyShards { most: usize, asked: usize },
    #[error("partition: no cut into {0} shards exists")]
    NoCut(usize),
    #[error("partition: no cut point after node {0}")]
    NoCutAfter(usize),
    #[error("nodes {start}..{end} ({names}) need 2^{k} rows in one shard, more than --max-log-rows {max_k} allows; raise it to at least {k}")]
    TooLarge {
        start: usize,
        end: usize,
        names: String,
        k: u32,
        max_k: u32,
    },
}

use thiserror::Error;

/// A Plan that is malformed, or a plan file that cannot be read.
#[derive(Debug, Error, PartialEq)]
pub enum PlanError {
    #[error("not a zkinf plan file (bad magic bytes)")]
    BadMagic,
    #[error("plan format version {found} is not supported (this zkinf reads version {supported})")]
    Version { found: u32, supported: u32 },
    #[error("plan file is corrupt: {0}")]
    Corrupt(String),
    #[error("plan node {node} ({name}): {reason}")]
    BadNode {
        node: usize,
        name: String,
        reason: String,
    },
    #[error("plan is invalid: {0}")]
    Invalid(String),
}

/// A failure while executing a checked plan on given inputs.
#[derive(Debug, Error, PartialEq)]
pub enum ExecError {
    #[error("expected {expected} inputs, got {found}")]
    InputCount { expected: usize, found: usize },
    #[error("input '{name}' has {found} values, expected {expected} (shape {shape:?})")]
    InputSize {
        name: String,
        expected: usize,
        found: usize,
        shape: Vec<usize>,
    },
    #[error("input '{name}' at flat index {index}: {value} is not a finite float32")]
    NotFinite {
        name: String,
        index: usize,
        value: f64,
    },
    #[error("input '{name}' at flat index {index}: {value} must be an integer in [{lo}, {hi}]")]
    NotInteger {
        name: String,
        index: usize,
        value: f64,
        lo: i64,
        hi: i64,
    },
    #[error("node {node} ({name}): value {value} outside the declared range [{lo}, {hi}]")]
    OutOfRange {
        node: usize,
        name: String,
        value: i64,
        lo: i64,
        hi: i64,
    },
    #[error("node {node} ({name}): lookup input {value} outside the table")]
    LookupMiss {
        node: usize,
        name: String,
        value: i64,
    },
}

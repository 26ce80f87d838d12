use thiserror::Error;
use zkinf_circuits::{ExecError, PlanError};

/// One ONNX node whose op zkinf cannot lower.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsupportedOp {
    pub node: String,
    pub op: String,
}

impl std::fmt::Display for UnsupportedOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (node '{}')", self.op, self.node)
    }
}

fn list(ops: &[UnsupportedOp]) -> String {
    ops.iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Error)]
pub enum CompileError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is empty")]
    Empty { path: String },
    #[error("{path} is not an ONNX model: {reason}")]
    NotOnnx { path: String, reason: String },
    #[error("external data of tensor '{tensor}': {reason}")]
    ExternalData { tensor: String, reason: String },
    #[error("{} unsupported ONNX op(s): {}", .0.len(), list(.0))]
    UnsupportedOps(Vec<UnsupportedOp>),
    #[error("node '{node}' ({op}) is not supported: {reason}")]
    Unsupported {
        node: String,
        op: String,
        reason: String,
    },
    #[error("input '{input}' has symbolic dimension '{param}' at axis {axis}; fix it with --input-shape {input}=D1,D2,...")]
    SymbolicDim {
        input: String,
        axis: usize,
        param: String,
    },
    #[error("--input-shape: {0}")]
    InputShape(String),
    #[error("node '{node}' ({op}): {reason}")]
    Model {
        node: String,
        op: String,
        reason: String,
    },
    #[error("calibration data: {0}")]
    Calibration(String),
    #[error("internal plan error: {0}")]
    Plan(#[from] PlanError),
    #[error("calibration run failed: {0}")]
    Exec(#[from] ExecError),
}

impl CompileError {
    /// True when the model asks for something zkinf does not implement (as
    /// opposed to a malformed model or a bug): the conformance runner skips
    /// these.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            CompileError::UnsupportedOps(_) | CompileError::Unsupported { .. }
        )
    }
}

pub type Result<T> = std::result::Result<T, CompileError>;

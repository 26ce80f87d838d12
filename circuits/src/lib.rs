//! zkinf circuits: the Plan IR (a closed set of integer operations with explicit
//! shapes, ranges and scales), its integer reference executor (the single
//! definition of what every Plan op computes), and the chips that constrain it.
//!
//! This crate must build for `wasm32-unknown-unknown`: no file system, no
//! threads, no native-only dependencies.

pub mod arith;
pub mod chips;
mod error;
mod exec;
pub mod field;
mod mutation;
pub mod ops;
pub mod plan;
pub mod poseidon;
pub mod shard;

pub use error::{ExecError, PlanError};
pub use exec::{argmax, clamped, dequantize_output, execute, input_clamped, quantize_input, Trace};
pub use plan::{
    CheckedPlan, InputQuant, IntRange, Node, Op, OutputDequant, Plan, PlanInput, PlanOutput,
    TensorId, TensorInfo, PLAN_FORMAT_VERSION,
};

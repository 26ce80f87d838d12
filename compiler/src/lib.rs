//! zkinf compiler: loads ONNX models (prost, vendored schema), lowers them to
//! the integer Plan IR of `zkinf-circuits`, quantizes float models from
//! calibration data and reports per-op cost and quantization error.

mod compile;
mod cut;
mod error;
mod fuse;
pub mod inputs;
mod lower;
pub mod model;
pub mod onnx;
pub mod reference;
mod report;
mod shapes;
mod split;
pub mod value;

pub use compile::{compile, compile_file, CompileOptions, Compiled, Samples};
pub use cut::{Partition, ShardRow, DEFAULT_MAX_LOG_ROWS, MAX_LOG_ROWS};
pub use error::{CompileError, UnsupportedOp};
pub use inputs::{parse_inputs, parse_samples, InputError};
pub use lower::qparams_for_range;
pub use report::{OpRow, QuantReport, Report, SatBound, TensorRow};

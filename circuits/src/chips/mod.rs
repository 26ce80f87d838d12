//! Chips: one folder per family. Each chip's `Config` declares its gates
//! over columns handed to it (so a shard circuit can share columns between
//! chips) and assigns rows whose values follow the native semantics.

pub mod matmul;
pub mod maxpool;
pub mod poseidon;
pub mod range;
pub mod rescale;

//! zkinf prover: SRS and key caches, per-shard proving, hybrid sampling and
//! the MSM/NTT backend seam (see DESIGN.md). Proving is not built yet: this
//! crate only reserves its place in the workspace.

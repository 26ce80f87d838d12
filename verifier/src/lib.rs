//! zkinf verifier: proof, key and bundle formats, `verify_shard`,
//! `verify_chain`, `verify_audit` (see DESIGN.md). Not built yet: this crate
//! only reserves its place in the workspace.

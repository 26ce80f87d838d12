#!/usr/bin/env bash
# The project's test command (README): fetches ONNX's conformance data,
# checks formatting and lints (clippy), checks the circuits crate for
# wasm32, runs every test, then the web verifier in Node.js and in headless
# Chromium. Build outputs are wherever cargo puts them (CARGO_TARGET_DIR
# may point outside the tree).
set -euo pipefail
cd "$(dirname "$0")/.."
# a one-shot run gains nothing from incremental caches (GBs of disk)
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
bash scripts/fetch-onnx-conformance.sh
cargo fmt --all -- --check
# lints: every crate and target, warnings are errors
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
cargo clippy --locked --workspace --all-targets -- -D warnings
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown
# type-checks the circuits crate for the browser (the full wasm build is the web verifier's job)
cargo check --locked -p zkinf-circuits -p zkinf-verifier --target wasm32-unknown-unknown
# ONNX's node tests: prints "onnx conformance: N passed, N failed, N skipped"
cargo run --locked -q -p zkinf-tests --bin onnx-conformance
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --locked --workspace 2>&1 | tee "$log"
# the fuzzing and differential totals (the tests ran above; this prints
# their per-target case counts)
cargo test --locked -q -p zkinf-tests --test fuzz --test differential -- --nocapture 2>/dev/null \
  | grep -oE '(fuzz [a-z_]+|differential): .*' || true
# constraint mutation testing: each gate polynomial, lookup and copy
# constraint switched off in turn must let a forged witness through
# (prints "mutation: N constraints, N killed, N survived")
cargo test --locked -p zkinf-circuits --features mutation --lib chips::mutation_tests -- --nocapture 2>&1 | tee -a "$log"
# the criterion benches in smoke mode: each benchmark runs once
cargo test --locked -p zkinf-benches --benches 2>&1 | tee -a "$log"
# the web verifier: wasm build, Node.js and headless Chromium (Debian's)
bash scripts/web-test.sh
awk '/^test result:/ { p += $4; f += $6 } END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"

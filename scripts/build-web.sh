#!/usr/bin/env bash
# Builds the web verifier into web/pkg/: the zkinf-web crate for
# wasm32-unknown-unknown (profile `web`: LTO, one codegen unit), then
# wasm-bindgen's JS glue (tools/wasm-bindgen: wasm-bindgen-cli-support at the
# version of verifier/wasm's wasm-bindgen, dependencies pinned by its own
# Cargo.lock), then moves halo2curves' table of small scalars out of the
# module's data section into a start function that writes it when the module
# is instantiated. Installs the wasm32 target when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# -p only: the prover's native features (threads, assembly) stay out
target="$(bash scripts/target-dir.sh)"
cargo build --locked -q --profile web -p zkinf-web --target wasm32-unknown-unknown
cargo build --locked -q --release --manifest-path tools/wasm-bindgen/Cargo.toml --target-dir "$target/tools"
mkdir -p web/pkg
"$target/tools/release/zkinf-wasm-bindgen" "$target/wasm32-unknown-unknown/web/zkinf_web.wasm" web/pkg \
  2> >(grep -v 'target_features' >&2)
python3 scripts/wasm-strip-fr-table.py web/pkg/zkinf_web_bg.wasm >&2
raw=$(wc -c < web/pkg/zkinf_web_bg.wasm)
gz=$(gzip -9 -c web/pkg/zkinf_web_bg.wasm | wc -c)
echo "[build-web] web/pkg/zkinf_web_bg.wasm: $raw bytes, $gz gzipped"

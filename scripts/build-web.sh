#!/usr/bin/env bash
# Builds the web verifier into web/pkg/: the zkinf-web crate for
# wasm32-unknown-unknown (profile `web`: LTO, one codegen unit), then
# wasm-bindgen's JS glue. Installs the wasm32 target and the wasm-bindgen
# CLI (the version pinned in verifier/wasm/Cargo.toml) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
wb_version="$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' verifier/wasm/Cargo.toml)"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$wb_version" ]; then
  echo "[build-web] installing wasm-bindgen-cli $wb_version (once; a few minutes)" >&2
  cargo install -q wasm-bindgen-cli --version "$wb_version"
fi
# -p only: the prover's native features (threads, assembly) stay out
cargo build --locked -q --profile web -p zkinf-web --target wasm32-unknown-unknown
mkdir -p web/pkg
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
  target/wasm32-unknown-unknown/web/zkinf_web.wasm 2> >(grep -v 'target_features' >&2)
# halo2curves' 2 MiB table of small scalars: rebuilt by the module at start
python3 scripts/wasm-strip-fr-table.py web/pkg/zkinf_web_bg.wasm >&2
raw=$(wc -c < web/pkg/zkinf_web_bg.wasm)
gz=$(gzip -9 -c web/pkg/zkinf_web_bg.wasm | wc -c)
echo "[build-web] web/pkg/zkinf_web_bg.wasm: $raw bytes, $gz gzipped"

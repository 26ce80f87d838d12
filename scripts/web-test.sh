#!/usr/bin/env bash
# The web verifier end to end (part of scripts/test.sh): builds the wasm
# verifier and the page, proves the digits CNN as a chain of 2 shards,
# exports honest, tampered and audit bundles, checks them with the wasm
# module in Node.js, then in Debian's headless Chromium driven by
# playwright-core (page served by `zkinf serve-web`). Screenshots and the
# timings (browser and native) go to ci-artifacts/ in cargo's target folder.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "[web-test] installing Debian's chromium" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
bash scripts/build-web.sh
(cd web && npm ci --no-audit --no-fund --silent)
cargo build --locked -q -p zkinf
target="$(bash scripts/target-dir.sh)"
zkinf="$target/debug/zkinf"
work="$target/web-test"
rm -rf "$work"
mkdir -p "$work"
$zkinf compile models/digits/cnn_int8_qdq.onnx --out "$work/cnn" --shards 2 --quiet
$zkinf setup "$work/cnn" --dev-srs
$zkinf prove "$work/cnn" --input models/digits/cnn_int8_qdq.input.json
$zkinf export-web "$work/cnn" --out "$work/cnn.zkinf"
# an audit: the prover commits, the verifier keeps the record hash and gives
# its randomness, the sampled shard's proof goes into the bundle
record_hash=$($zkinf commit "$work/cnn" --input models/digits/cnn_int8_qdq.input.json \
  --out "$work/cnn.rec" | sed -n 's/^record hash: \([0-9a-f]\{64\}\).*/\1/p')
[ ${#record_hash} -eq 64 ] || { echo "[web-test] zkinf commit printed no record hash" >&2; exit 1; }
$zkinf sample "$work/cnn.rec" --seed web-test-seed --size 1 --out "$work/cnn.sample.json"
$zkinf export-web "$work/cnn" --out "$work/cnn-audit.zkinf" --record "$work/cnn.rec" \
  --sample "$work/cnn.sample.json"
python3 scripts/tamper-bundle.py "$work/cnn.zkinf" 1 "$work/cnn-tampered.zkinf"
node web/test/node.mjs "$work/cnn.zkinf" "$work/cnn-tampered.zkinf" 1
node web/test/browser.mjs --zkinf "$zkinf" --honest "$work/cnn.zkinf" \
  --tampered "$work/cnn-tampered.zkinf" --shard 1 --audit "$work/cnn-audit.zkinf" \
  --audit-record "$record_hash" --audit-randomness web-test-seed \
  --out "$target/ci-artifacts"

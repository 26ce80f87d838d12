#!/usr/bin/env bash
# The main job on a bundled model: compile the int8 digits CNN, set up keys
# (with a locally generated development SRS: NOT for production), prove one
# digit and verify the proof against the input and the claimed output, pinned
# to the model hash and keys digest the setup printed (what an owner
# publishes).
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(bash scripts/target-dir.sh)"
out="${1:-$target/demo}"
mkdir -p "$out"
cargo build --locked --release -p zkinf
zkinf="$target/release/zkinf"
input=models/digits/cnn_int8_qdq.input.json
$zkinf compile models/digits/cnn_int8_qdq.onnx --out "$out/cnn_int8"
$zkinf setup "$out/cnn_int8" --dev-srs | tee "$out/setup.txt"
# what the model owner publishes: verifiers pin both
model=$(awk '/^model hash:/ {print $3}' "$out/setup.txt")
keys=$(awk '/^keys digest:/ {print $3}' "$out/setup.txt")
$zkinf prove "$out/cnn_int8" --input "$input"
$zkinf infer "$out/cnn_int8" --input "$input" --output "$out/prediction.json"
$zkinf verify "$out/cnn_int8" --input "$input" --output "$out/prediction.json" \
  --model "$model" --keys "$keys" --require-pinned
python3 - "$out/prediction.json" <<'PY' || cat "$out/prediction.json"
import json, sys
y = json.load(open(sys.argv[1]))["y"][0]
print("predicted digit:", max(range(len(y)), key=lambda i: y[i]))
PY
# one file with everything a verifier needs (the web page: scripts/build-web.sh,
# then zkinf serve-web "$out/cnn_int8.zkinf")
$zkinf export-web "$out/cnn_int8" --out "$out/cnn_int8.zkinf"
$zkinf verify-bundle "$out/cnn_int8.zkinf" --model "$model" --keys "$keys" --require-pinned

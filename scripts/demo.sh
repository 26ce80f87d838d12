#!/usr/bin/env bash
# The main job on a bundled model: compile the int8 digits CNN and run one
# digit through the exact integer executor. (Proving and verification come
# with the circuits; see the README.)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-target/demo}"
mkdir -p "$out"
cargo build --locked --release -p zkinf
zkinf=target/release/zkinf
$zkinf compile models/digits/cnn_int8_qdq.onnx --out "$out/cnn_int8"
$zkinf infer "$out/cnn_int8" --input models/digits/cnn_int8_qdq.input.json --output "$out/prediction.json"
python3 - "$out/prediction.json" <<'PY' || cat "$out/prediction.json"
import json, sys
y = json.load(open(sys.argv[1]))["y"][0]
print("logits:", [round(v, 3) for v in y])
print("predicted digit:", max(range(len(y)), key=lambda i: y[i]))
PY

#!/usr/bin/env bash
# Exports Qwen2.5-Coder-0.5B-Instruct (GGUF from PyPI) decoder layers to ONNX
# in models/large/ (not committed; ~1.5 GB), in the venv and single-threaded
# setting of generate.sh, plus the pins in requirements-qwen.txt.
#   bash models/qwen.sh                        # qwen_layer0 and qwen_all
#   bash models/qwen.sh --models qwen_layer0   # only the one-layer model
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv at $venv" >&2
    "$python" -m venv "$venv"
fi
# both files at once, so pip resolves gguf's dependencies against the main pins
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
    -r "$here/requirements.txt" -r "$here/requirements-qwen.txt"

ZKINF_MODELS_SCRIPT=qwen.py exec bash "$here/generate.sh" "$@"

#!/usr/bin/env bash
# Regenerates models/ops/* (small per-op fixtures) deterministically, in the
# venv and single-threaded setting of generate.sh.
#   bash models/ops.sh                 # writes models/ops/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ZKINF_MODELS_SCRIPT=ops.py exec bash "$here/generate.sh" "$@"

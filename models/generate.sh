#!/usr/bin/env bash
# Regenerates models/digits/* deterministically (models/ops.sh runs ops.py
# the same way, for models/ops/*).
#   bash models/generate.sh            # writes models/digits/
# Needs python3 (3.11) with venv and network access to PyPI on first run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv at $venv" >&2
    "$python" -m venv "$venv"
fi

"$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
    -r "$here/requirements.txt"

# Single-threaded everything: BLAS reductions and ORT kernels then run in a
# fixed order, which keeps training and calibration bit-reproducible.
export OMP_NUM_THREADS=1
export OPENBLAS_NUM_THREADS=1
export MKL_NUM_THREADS=1
export PYTHONHASHSEED=0

# the script: generate.py, or the one ZKINF_MODELS_SCRIPT names (ops.sh)
exec "$venv/bin/python" "$here/${ZKINF_MODELS_SCRIPT:-generate.py}" "$@"

#!/usr/bin/env bash
# zkinf's float-model precision options (8 and 16 bits) on the bundled
# mlp_float: rows, k, prove time and memory, output error against
# onnxruntime over 200 digits (see benches/compare/README.md).
#
#   bash benches/compare/precision.sh [--repeat 5] [--out DIR]
#                                     [--benchmarks-md PATH | --no-benchmarks-md]
#
# Builds zkinf in release mode, then runs precision.py (standard library only:
# the models venv's Python, else python3): OUT/precision.json (default OUT:
# target/compare) and the precision section of BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/compare
command="bash $here/precision.sh${*:+ $*}"

fail() { echo "precision: $*" >&2; exit 1; }

# --- Python 3.9 or later, standard library only
py=""
for c in "${PYTHON:-}" models/.venv/bin/python python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 \
        && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
        py=$c
        break
    fi
done
[ -n "$py" ] || fail "needs Python 3.9 or later (python3 on PATH, or PYTHON=...)"

# --- zkinf
command -v cargo >/dev/null 2>&1 || fail "cargo not found (install Rust)"
cargo build --locked --release -p zkinf || fail "cargo build --locked --release -p zkinf failed"
zkinf="$(bash scripts/target-dir.sh)/release/zkinf"
[ -x "$zkinf" ] || fail "$zkinf missing after the build"

exec "$py" "$here/precision.py" --zkinf "$zkinf" --command "$command" "$@"

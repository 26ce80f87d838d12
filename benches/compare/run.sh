#!/usr/bin/env bash
# Side-by-side benchmark of zkinf against EZKL (see benches/compare/README.md).
#
#   bash benches/compare/run.sh [--models mlp_int8_qdq,cnn_int8_qdq,...]
#                               [--onnx PATH --input IN.json ...] [--out DIR]
#                               [--sweep 11-17] [--repeat 3]
#
# Makes (or reuses) the pinned venv benches/compare/.venv, builds zkinf in
# release mode, then runs compare.py: OUT/results.json and OUT/results.md
# (default OUT: target/compare).
set -euo pipefail
cd "$(dirname "$0")/../.."
here=benches/compare
venv=$here/.venv
req=$here/requirements.txt
command="bash $here/run.sh${*:+ $*}"

fail() { echo "compare: $*" >&2; exit 1; }

# --- Python 3.11 (the pins in requirements.txt are for it)
py=""
for c in "${PYTHON:-}" python3.11 python3; do
    [ -n "$c" ] || continue
    if command -v "$c" >/dev/null 2>&1 \
        && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        py=$c
        break
    fi
done
[ -n "$py" ] || fail "needs Python 3.11 (python3.11 on PATH, or PYTHON=...)"

# --- the venv: reused when it was made from this requirements.txt and imports
stamp=$venv/.requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
    && "$venv/bin/python" -c 'import ezkl, onnx, onnxruntime, numpy' 2>/dev/null; then
    :
else
    echo "compare: creating $venv from $req" >&2
    rm -rf "$venv"
    "$py" -m venv "$venv" || fail "cannot create a venv with $py (install python3.11-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$req" \
        || fail "pip install -r $req failed (PyPI unreachable?)"
    "$venv/bin/python" -m pip check >/dev/null \
        || fail "installed packages are inconsistent: $("$venv/bin/python" -m pip check | head -1)"
    "$venv/bin/python" -c 'import ezkl, onnx, onnxruntime, numpy' \
        || fail "the venv cannot import ezkl, onnx, onnxruntime and numpy"
    echo "$want" > "$stamp"
fi

# --- zkinf
command -v cargo >/dev/null 2>&1 || fail "cargo not found (install Rust)"
cargo build --locked --release -p zkinf || fail "cargo build --locked --release -p zkinf failed"
zkinf="$(bash scripts/target-dir.sh)/release/zkinf"
[ -x "$zkinf" ] || fail "$zkinf missing after the build"

exec "$venv/bin/python" "$here/compare.py" --zkinf "$zkinf" --command "$command" "$@"

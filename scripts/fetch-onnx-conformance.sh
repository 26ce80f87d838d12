#!/usr/bin/env bash
# Fetches ONNX's node conformance tests (onnx/backend/test/data/node) from the
# onnx==1.22.0 wheel on PyPI into DEST (default .cache/onnx-node-tests).
# Nothing is committed: the data is re-fetched (or reused) on each machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${1:-$root/.cache/onnx-node-tests}"
if [ -f "$dest/.complete" ]; then
  echo "ONNX node tests already in $dest"
  exit 0
fi
venv="$root/.cache/conformance-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
wheel_dir="$root/.cache/wheels"
mkdir -p "$wheel_dir"
"$venv/bin/pip" download -q --no-deps --only-binary=:all: onnx==1.22.0 -d "$wheel_dir"
wheel="$(ls "$wheel_dir"/onnx-1.22.0-*.whl | head -n 1)"
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
"$venv/bin/python" - "$wheel" "$dest.tmp" <<'PY'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "onnx/backend/test/data/node/"
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = os.path.join(dest, name[len(prefix):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, "wb") as f:
                f.write(z.read(name))
            n += 1
print(f"extracted {n} files")
PY
touch "$dest.tmp/.complete"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "ONNX node tests in $dest"

#!/usr/bin/env bash
# Prints the folder cargo builds this workspace into: $CARGO_TARGET_DIR, a
# cargo config's build.target-dir, or target/. The scripts find build
# outputs there (never at a fixed target/), so shared target folders work.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'

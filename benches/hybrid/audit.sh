#!/usr/bin/env bash
# The hybrid mode end to end on a compiled, set-up folder (a verifying-key
# only setup is enough): commit, draw a sample of M shards from a seed,
# prove only those shards, bundle and verify the audit with every pin.
# Each step's wall time and peak memory (GNU time) go to OUT/steps.tsv.
#
#   bash benches/hybrid/audit.sh DIR INPUT.json OUT SEED M [M ...]
#
# Qwen2.5-0.5B's 24 layers (README, "Hybrid mode"):
#   zkinf compile models/large/qwen_all.onnx --out /tmp/qall2 \
#     --calibration models/large/qwen_all.calibration.json --bits 16 --max-log-rows 20
#   zkinf setup /tmp/qall2 --dev-srs --verifying-keys-only
#   bash benches/hybrid/audit.sh /tmp/qall2 models/large/qwen_all.input.json /tmp/qaudit s1 2 4 8
#
# A sample's shards get their proving keys made (and kept) on first proof;
# KEEP_KEYS=0 deletes them after each sample, for disks that cannot hold
# them all (about 4 GB per 2^20 shard).
set -euo pipefail
[ $# -ge 5 ] || { echo "usage: $0 DIR INPUT.json OUT SEED M [M ...]" >&2; exit 2; }
dir=$1 input=$2 out=$3 seed=$4
shift 4
zkinf=${ZKINF:-target/release/zkinf}
mkdir -p "$out"
steps=$out/steps.tsv
[ -f "$steps" ] || printf 'step\twall_s\tpeak_rss_mib\n' > "$steps"

# runs a step under GNU time; appends its wall time and peak RSS
step() {
  local name=$1
  shift
  /usr/bin/time -f '%e %M' -o "$out/$name.time" "$@" > "$out/$name.out" 2> "$out/$name.err" || {
    echo "step $name failed:" >&2
    tail -5 "$out/$name.err" >&2
    exit 1
  }
  read -r wall kib < "$out/$name.time"
  printf '%s\t%s\t%s\n' "$name" "$wall" "$((kib / 1024))" | tee -a "$steps"
}

step commit "$zkinf" commit "$dir" --input "$input" --out "$out/run.rec"
hash=$(sed -n 's/^record hash: \([0-9a-f]\{64\}\).*/\1/p' "$out/commit.out")
model=$(sed -n 's/^model hash: *\([0-9a-f]\{64\}\).*/\1/p' "$out/commit.out")
keys=$(sed -n 's/^keys digest: *\([0-9a-f]\{64\}\).*/\1/p' "$out/commit.out")
echo "record hash $hash"
for m in "$@"; do
  "$zkinf" sample "$out/run.rec" --seed "$seed-$m" --size "$m" --out "$out/sample-$m.json" \
    | tee "$out/sample-$m.out"
  step "prove-$m" "$zkinf" prove "$dir" --input "$input" --record "$out/run.rec" \
    --shards-of "$out/sample-$m.json"
  step "export-$m" "$zkinf" export-web "$dir" --out "$out/audit-$m.zkinf" \
    --record "$out/run.rec" --sample "$out/sample-$m.json"
  step "verify-$m" "$zkinf" verify-bundle "$out/audit-$m.zkinf" --model "$model" --keys "$keys" \
    --record-hash "$hash" --randomness "$seed-$m" --min-sample "$m" --require-pinned
  grep -m1 "audited sample" "$out/verify-$m.out" || true
  if [ "${KEEP_KEYS:-1}" = 0 ]; then
    rm -f "$dir"/keys/*.pk
  fi
done

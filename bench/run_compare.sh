#!/usr/bin/env bash
# Side-by-side speed check of two builds of the engine and server (before/after a refactor):
# flywheel_engine_bench (ingest in both durability modes, ingest with learning models, recovery)
# and flywheel_load_bench mixed (HTTP reads and writes at fixed rates), each run alternating
# A, B, A, B so that drift of the machine hits both. One JSON line per run on stdout, prefixed
# with the build's label. Run it on an otherwise idle machine.
#
# Usage: bench/run_compare.sh A_BIN_DIR B_BIN_DIR [ROUNDS=2] [DIR=/tmp/flywheel-compare]
#   each BIN_DIR holds flywheel, flywheel_engine_bench and flywheel_load_bench
#   (e.g. build/release/bin of two worktrees)
set -euo pipefail
a="$1"
b="$2"
rounds="${3:-2}"
dir="${4:-/tmp/flywheel-compare}"
run() {  # label bin_dir args...
  local label="$1" bin="$2"
  shift 2
  printf '%s ' "$label"
  "$@" 2>/dev/null | tail -n 1
}
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    bin="$a"
    [ "$side" = B ] && bin="$b"
    tag="$side round=$round"
    run "$tag ingest-sync" "$bin" "$bin/flywheel_engine_bench" ingest --durability sync \
      --batch 1000 --events 300000 --dir "$dir"
    run "$tag ingest-interval" "$bin" "$bin/flywheel_engine_bench" ingest \
      --durability interval:100 --batch 1000 --events 1000000 --dir "$dir"
    run "$tag ingest-learning" "$bin" "$bin/flywheel_engine_bench" ingest --durability sync \
      --batch 1000 --events 300000 --models pop,itemknn,bpr --dir "$dir"
    run "$tag recovery" "$bin" "$bin/flywheel_engine_bench" recovery --events 2000000 \
      --snapshot-at 1000000 --dir "$dir"
    run "$tag mixed" "$bin" "$bin/flywheel_load_bench" mixed --server "$bin/flywheel" \
      --data-dir "$dir" --duration 20
    rm -rf "$dir"
  done
done

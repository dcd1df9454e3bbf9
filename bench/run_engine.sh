#!/usr/bin/env bash
# The durable engine's benchmarks (issue 5): acknowledged ingest per durability mode and batch
# size, and recovery time of a snapshot plus a long log. Prints one JSON line per run; the
# numbers in bench/results/engine.md come from this script on an otherwise idle machine.
# Usage: bench/run_engine.sh [DIR]   (DIR on the disk to measure; default /tmp/flywheel-engine-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/bin/flywheel_engine_bench
dir="${1:-/tmp/flywheel-engine-bench}"
for batch in 100 1000 10000; do
  "$bin" ingest --durability sync --batch "$batch" --events $(( batch * 300 < 1000000 ? batch * 300 : 1000000 )) --dir "$dir"
done
for batch in 100 1000; do
  "$bin" ingest --durability interval:100 --batch "$batch" --events 1000000 --dir "$dir"
done
"$bin" ingest --durability sync --batch 1000 --events 300000 --models pop,itemknn,bpr --dir "$dir"
"$bin" recovery --events 10000000 --dir "$dir"
"$bin" recovery --events 10000000 --snapshot-at 5000000 --dir "$dir"
rm -rf "$dir"

#!/usr/bin/env bash
# The issue-17 target "one flipped byte anywhere in a data directory loses at most the records
# in that byte's block, and the recovery report names them": flips one byte at each of N random
# positions of a data directory in turn (RepairTest.OneFlippedByteLosesAtMostItsRecord in
# src/engine/store/repair_test.cc; CI runs 100 positions). Results: bench/results/crash.md.
#   bench/run_flip.sh [POSITIONS]   (default 1000; release build in build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
positions="${1:-1000}"
cmake --build --preset release -j2 --target flywheel_engine_test >/dev/null
FLYWHEEL_FLIP_POSITIONS="$positions" build/release/bin/flywheel_engine_test \
  --gtest_filter='RepairTest.OneFlippedByteLosesAtMostItsRecord'

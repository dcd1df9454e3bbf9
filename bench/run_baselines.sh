#!/usr/bin/env bash
# Runs the three baselines under protocols P, L and T on the shared datasets and writes one JSON
# document per (dataset, protocol) to out/baselines/, then renders bench/results/baselines.md.
# Usage: bench/run_baselines.sh [DATASETS_DIR]   (default ../shared/datasets)
# --raw-model: these tables measure the models alone (doc/evaluation.md, "What is evaluated");
# `flywheel eval` without it measures the serving path.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/datasets}"
bin=build/release/bin/flywheel
out=out/baselines
mkdir -p "$out"
declare -A specs=(
  [ml-100k]="movielens:$data/ml-100k"
  [ml-1m-partial]="movielens:$data/ml-1m-partial"
  [ml-latest-small]="movielens:$data/ml-latest-small"
  [taobao]="taobao:$data/taobao-userbehavior-head"
)
for name in ml-100k ml-1m-partial ml-latest-small taobao; do
  for protocol in prequential loo temporal; do
    echo "== $name $protocol" >&2
    "$bin" eval --raw-model --dataset "${specs[$name]}" --protocol "$protocol" \
      --models pop,recentpop,itemknn --no-progress --json "$out/$name.$protocol.json" >&2
  done
done
# Repeat-consumption view of Taobao: seen items are recommendable and scorable.
echo "== taobao prequential --include-seen" >&2
"$bin" eval --raw-model --dataset "${specs[taobao]}" --protocol prequential --include-seen \
  --models pop,recentpop,itemknn --no-progress --json "$out/taobao-include-seen.prequential.json" >&2
python3 bench/baselines_table.py "$out" > bench/results/baselines.md
echo "wrote bench/results/baselines.md" >&2

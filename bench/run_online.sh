#!/usr/bin/env bash
# The online-learning evaluation of issue 3: the online models (bpr, twotower) beside the
# baselines on the shared datasets, under
#   P  warm-up 0.5, --update online,frozen[,retrain:daily]   (same warm-up for every mode)
#   P  no warm-up, online                                   (learning from the first event)
#   L  leave-last-out, full ranking
#   T  temporal split at the 80 % quantile, frozen and online
# writing one JSON document per run to out/online/ and rendering bench/results/online-learning.md.
# Cold-start splits (users' first 5 events, items with < 5 prior events) come from the P runs.
# Usage: bench/run_online.sh [DATASETS_DIR]      (default ../shared/datasets; release build)
#   RETRAIN_DATASETS="ml-100k ..."  datasets that also run retrain:daily (slow: one Fit per day;
#                                   bpr on ml-100k took about 30 min here)
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/datasets}"
bin=build/release/bin/flywheel
out=out/online
mkdir -p "$out"
models="${MODELS:-pop,itemknn,bpr,twotower}"
retrain="${RETRAIN_DATASETS:-}"
declare -A specs=(
  [ml-100k]="movielens:$data/ml-100k"
  [ml-1m-partial]="movielens:$data/ml-1m-partial"
  [ml-latest-small]="movielens:$data/ml-latest-small"
  [taobao]="taobao:$data/taobao-userbehavior-head"
)
run() {  # name tag args...
  local name=$1 tag=$2
  shift 2
  echo "== $name $tag: $*" >&2
  local start=$(date +%s)
  "$bin" eval --raw-model --dataset "${specs[$name]}" --no-progress --json "$out/$name.$tag.json" "$@" >&2
  echo "   ($(( $(date +%s) - start )) s)" >&2
}
for name in ${DATASETS:-ml-100k ml-1m-partial ml-latest-small taobao}; do
  updates="online,frozen"
  if [[ " $retrain " == *" $name "* ]]; then
    updates="online,frozen,retrain:daily"
  fi
  run "$name" p-warm --protocol prequential --warmup 0.5 --update "$updates" --models "$models"
  run "$name" p-cold --protocol prequential --update online --models "$models"
  run "$name" loo --protocol loo --models "$models"
  run "$name" temporal --protocol temporal --models "$models"
done
python3 bench/online_table.py "$out" > bench/results/online-learning.md
echo "wrote bench/results/online-learning.md" >&2

#!/usr/bin/env bash
# Online vs frozen sasrec under protocol P on one dataset (issue 4): one pre-trained model
# (warm-up Fit, cached with --fit-cache so every variant starts from the same weights), then one
# prequential replay per online-step variant, two at a time. Choose the variant on the
# `first_half` split (scored events of the first half of the replay), report `second_half`.
# Usage: bench/run_sasrec_online.sh [DATASET_SPEC] [WARMUP]
#   default: movielens:../shared/datasets/ml-1m-partial 0.1 (release build)
#   VARIANTS="name:param=value,param=value ..."  (default: the set below)
#   PRETRAIN="loss=softmax,epochs=40"            sasrec pre-training parameters
#   SKIP_FROZEN=1                                keep an existing frozen.json
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:-movielens:../shared/datasets/ml-1m-partial}"
warmup="${2:-0.1}"
bin=build/release/bin/flywheel
tag=$(basename "${dataset#*:}")
out=out/sasrec-online/$tag
mkdir -p "$out"
pretrain="${PRETRAIN:-loss=softmax,epochs=40}"
variants="${VARIANTS:-adam-1e-5:online_lr=1e-5 \
sgd-1e-3:online_optimizer=sgd,online_lr=1e-3 \
sgd-1e-2:online_optimizer=sgd,online_lr=1e-2 \
sgd-items-1e-2:online_optimizer=sgd,online_items_only=1,online_lr=1e-2 \
adam-items-1e-4:online_items_only=1,online_lr=1e-4 \
adam-1e-4-all:online_lr=1e-4,online_all=1,online_dropout=0}"
params() {  # comma list -> --param sasrec.k=v ...
  local IFS=,
  for kv in $1; do printf -- '--param\nsasrec.%s\n' "$kv"; done
}
run() {  # name update params
  local name=$1 update=$2 extra=$3
  mapfile -t args < <(params "$pretrain${extra:+,$extra}")
  local start=$(date +%s)
  "$bin" eval --raw-model --dataset "$dataset" --protocol prequential --warmup "$warmup" --update "$update" \
    --models sasrec "${args[@]}" --fit-cache out/fitcache --no-progress \
    --json "$out/$name.json" > "$out/$name.log" 2>&1
  echo "== $name ($update, $extra): $(( $(date +%s) - start )) s" >&2
}
# The pre-trained model (and frozen) first, so that the variants find it in the cache.
[[ -f "$out/frozen.json" && -n "${SKIP_FROZEN:-}" ]] || run frozen frozen ""
pids=()
for v in $variants; do
  run "${v%%:*}" online "${v#*:}" &
  pids+=($!)
  if (( ${#pids[@]} == 2 )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
python3 - "$out" <<'PY'
import json, pathlib, sys
rows = []
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    r = json.load(open(f))["results"][0]
    s = r["splits"]
    rows.append((f.stem, r["update"], s["first_half"]["hr"], s["second_half"]["hr"],
                 r["metrics"]["hr"], r["metrics"]["ndcg"], r["metrics"]["coverage"],
                 r.get("observe_ms_p50", 0)))
print("| variant | update | first_half HR@10 (select) | second_half HR@10 | HR@10 | NDCG@10 | coverage | observe p50 ms |")
print("|---|---|---|---|---|---|---|---|")
for row in sorted(rows, key=lambda r: -r[2]):
    print("| %s | %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.3f |" % row)
PY

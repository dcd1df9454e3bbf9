#!/usr/bin/env bash
# The loop benchmarks of issue 16 (bench/results/loop.md): each target is one command printing
# its row, all through `flywheel simulate --in-process` (doc/simulate.md) and `flywheel ope`.
#   bench/loop/run.sh [--quick] ROW...     ROW: ope impressions exploration reward overhead
#                                                overhead_http all
# --quick: small settings for CI (a few seeds, small worlds, a few days); the full settings are
# the issue's (>= 100k impressions, 50 seeds, 30 days). Output: out/loop/<row>/*.json and one
# table row per target on stdout. Release build: build/release/bin/flywheel (BIN=... to change).
# Knobs (environment): MODEL (bpr), SEEDS, USERS, ITEMS, RPD (requests per day), DAYS.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${BIN:-build/release/bin/flywheel}"
quick=0
rows=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    all) rows+=(ope impressions exploration reward overhead overhead_http) ;;
    ope|impressions|exploration|reward|overhead|overhead_http) rows+=("$arg") ;;
    *) echo "usage: $0 [--quick] ope|impressions|exploration|reward|overhead|overhead_http|all ..." >&2; exit 2 ;;
  esac
done
[[ ${#rows[@]} -gt 0 ]] || rows=(ope impressions exploration reward overhead)
out=out/loop
mkdir -p "$out"
model="${MODEL:-bpr}"
if [[ $quick == 1 ]]; then
  seeds="${SEEDS:-3}"; users="${USERS:-300}"; items="${ITEMS:-300}"; rpd="${RPD:-2000}"
  days="${DAYS:-5}"; ope_rpd="${OPE_RPD:-2000}"; ope_days="${OPE_DAYS:-5}"
else
  seeds="${SEEDS:-50}"; users="${USERS:-2000}"; items="${ITEMS:-2000}"; rpd="${RPD:-5000}"
  days="${DAYS:-30}"; ope_rpd="${OPE_RPD:-10000}"; ope_days="${OPE_DAYS:-10}"  # 100k lists
fi
py=bench/loop/rows.py

sim() {  # json args...: one in-process simulation, its report in json
  local json=$1
  shift
  echo "   simulate $*" >&2
  "$bin" simulate --in-process --models "${sim_models:-$model}" ${PARAMS:-} --users "$users" \
    --items "$items" --json "$json" "$@" > /dev/null
}

row_ope() {
  # Logging: epsilon 0.1 over ope_rpd x ope_days lists, served by $model from an engine that also
  # trains $other. Targets: greedy on $other, and boltzmann on $model. Truth: at every logged
  # request the simulator also fetches each target's list from the same engine state (not
  # shown) and adds its expected reward under the true model (--counterfactual,
  # doc/simulate.md). ONPOLICY=1 also runs each target on-policy (same seed and traffic).
  # The logging policy explores over every item (textbook epsilon-greedy: every candidate is
  # retrieved and the pool is the rest of them), so that every target's list has support.
  local dir=$out/ope other="${OPE_OTHER_MODEL:-itemknn}" temp="${OPE_TEMPERATURE:-0.5}"
  local log_policy="${OPE_LOG_POLICY:-epsilon:0.1/pool=$items}"
  mkdir -p "$dir"
  printf '{"pipeline": {"candidates": %d}, "loop": {"weight_cap": %s}}\n' "$items" \
    "${OPE_WEIGHT_CAP:-1000000}" > "$dir/config.json"
  for seed in $(seq 1 "$seeds"); do
    rm -rf "$dir/data-$seed"
    sim_models="$model,$other" sim "$dir/log-$seed.json" --seed "$seed" --days "$ope_days" \
      --requests-per-day "$ope_rpd" --policy "$log_policy" --data-dir "$dir/data-$seed" \
      --config "$dir/config.json" \
      --counterfactual "$other:greedy" --counterfactual "$model:boltzmann:$temp"
    "$bin" ope --data-dir "$dir/data-$seed" --models "$model,$other" --config "$dir/config.json" \
      --policy "$other:greedy" --policy "$model:boltzmann:$temp" --json "$dir/ope-$seed.json" \
      > /dev/null
    if [[ ${ONPOLICY:-0} == 1 ]]; then
      model=$other sim "$dir/truth-greedy-$seed.json" --seed "$seed" --days "$ope_days" \
        --requests-per-day "$ope_rpd" --policy greedy
      sim "$dir/truth-boltzmann-$seed.json" --seed "$seed" --days "$ope_days" \
        --requests-per-day "$ope_rpd" --policy "boltzmann:$temp"
    fi
    rm -rf "$dir/data-$seed"
  done
  python3 "$py" ope "$dir" "$seeds" "$other:greedy" "$model:boltzmann:$temp"
}

row_impressions() {
  local dir=$out/impressions
  mkdir -p "$dir"
  for seed in $(seq 1 "$seeds"); do
    sim "$dir/on-$seed.json" --seed "$seed" --days "$days" --requests-per-day "$rpd" \
      --loop learn_from_impressions=true
    sim "$dir/off-$seed.json" --seed "$seed" --days "$days" --requests-per-day "$rpd" \
      --loop learn_from_impressions=false
  done
  python3 "$py" impressions "$dir" "$seeds"
}

row_exploration() {
  # Three arms, same seed and traffic: pure greedy (no exploration at all: the new-item slots of
  # pipeline.exploration off), the default greedy (new-item slots on, 10 % of k), and the
  # exploring policy on top of the default. The speed-up and the reward loss are against pure
  # greedy; the default greedy is printed too.
  local dir=$out/exploration policy="${EXPLORE_POLICY:-epsilon:0.1}"
  mkdir -p "$dir"
  echo '{"pipeline": {"exploration": 0}}' > "$dir/pure.json"
  for seed in $(seq 1 "$seeds"); do
    sim "$dir/pure_greedy-$seed.json" --seed "$seed" --days "$days" --requests-per-day "$rpd" \
      --new-items-per-day 10% --policy greedy --config "$dir/pure.json"
    for p in greedy "$policy"; do
      sim "$dir/${p//:/_}-$seed.json" --seed "$seed" --days "$days" --requests-per-day "$rpd" \
        --new-items-per-day 10% --policy "$p"
    done
  done
  python3 "$py" exploration "$dir" "$seeds" pure_greedy "${policy//:/_}"
  python3 "$py" exploration "$dir" "$seeds" pure_greedy greedy
}

row_reward() {
  local dir=$out/reward
  mkdir -p "$dir"
  for seed in $(seq 1 "$seeds"); do
    for p in greedy reward; do
      model=${REWARD_MODEL:-sasrec} sim "$dir/$p-$seed.json" --seed "$seed" --days "$days" \
        --requests-per-day "$rpd" --policy "$p"
    done
  done
  python3 "$py" reward "$dir" "$seeds"
}

row_overhead_http() {
  # Recommend latency as a client sees it (HTTP round trip of GET recommendations), three arms
  # per seed, each against its own fresh `flywheel serve`: impressions posted to
  # /v1/impressions when shown (with), recorded in the list request (incall), none (without).
  local dir=$out/overhead_http
  mkdir -p "$dir"
  for seed in $(seq 1 "$seeds"); do
    for arm in with incall without; do
      local tmp port pid extra=()
      tmp=$(mktemp -d)
      "$bin" serve --data-dir "$tmp/data" --port 0 --models "$model" --durability interval:1000 \
        --rate-limit-ip 0 > "$tmp/ready" 2> "$tmp/log" &
      pid=$!
      for _ in $(seq 1 100); do grep -q address "$tmp/ready" 2> /dev/null && break; sleep 0.1; done
      port=$(sed -E 's/.*"address":"[^:]*:([0-9]+)".*/\1/' "$tmp/ready")
      [[ $arm == without ]] && extra=(--no-impressions)
      [[ $arm == incall ]] && extra=(--record-in-call)
      echo "   simulate --url (port $port) --seed $seed ${extra[*]}" >&2
      "$bin" simulate --url "http://127.0.0.1:$port" --users "$users" --items "$items" \
        --days "${HTTP_DAYS:-2}" --requests-per-day "$rpd" --seed "$seed" \
        --json "$dir/$arm-$seed.json" "${extra[@]}" > /dev/null
      kill "$pid"
      wait "$pid" || true
      rm -rf "$tmp"
    done
  done
  python3 "$py" overhead_http "$dir" "$seeds"
}

row_overhead() {
  local dir=$out/overhead
  mkdir -p "$dir"
  for seed in $(seq 1 "$seeds"); do
    sim "$dir/with-$seed.json" --seed "$seed" --days "$days" --requests-per-day "$rpd"
    sim "$dir/without-$seed.json" --seed "$seed" --days "$days" --requests-per-day "$rpd" \
      --no-impressions
  done
  python3 "$py" overhead "$dir" "$seeds"
}

for row in "${rows[@]}"; do
  echo "== $row (quick=$quick seeds=$seeds users=$users items=$items model=$model)" >&2
  start=$(date +%s)
  "row_$row"
  echo "   ($(( $(date +%s) - start )) s)" >&2
done

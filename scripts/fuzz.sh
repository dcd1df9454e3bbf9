#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (doc/fuzzing.md), each for FUZZ_SECONDS on a copy of its
# seed corpus, so that fuzz/corpus/ is never written by a run.
#
#   scripts/fuzz.sh [--no-build] [TARGET...]   run (default: every target; names without fuzz_)
#   scripts/fuzz.sh --merge [TARGET...]        minimise the inputs a run found into fuzz/corpus/
#   scripts/fuzz.sh --list                     the targets
#   scripts/fuzz.sh --summary                  per target, totals over runs.tsv (markdown)
#
# Environment: FUZZ_SECONDS (60) per target; FUZZ_JOBS (1) targets run at the same time;
# FUZZ_NICE (10) niceness; FUZZ_BUILD_DIR (build/clang-fuzz, the clang-fuzz preset's build);
# FUZZ_TMPDIR (/dev/shm when writable) the targets' scratch files.
# Output under $FUZZ_BUILD_DIR/fuzz/: corpus/<t>/ (the working corpus, kept between runs),
# crashes/<t>/ (reproducers: crash-*, leak-*, timeout-*, oom-*), logs/<t>.log, and one line per
# run appended to runs.tsv (date, target, wall s, CPU s, executions, corpus files, result).
# Exit status 1 when any target found a crash; its reproducer path is printed.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
JOBS="${FUZZ_JOBS:-1}"
NICE="${FUZZ_NICE:-10}"
BUILD="${FUZZ_BUILD_DIR:-build/clang-fuzz}"
OUT="$BUILD/fuzz"
# The targets that read files write them to a scratch directory: memory when /dev/shm exists
# (the log reader's TruncateTail fsyncs).
SCRATCH="${FUZZ_TMPDIR:-/dev/shm}"
if [ ! -d "$SCRATCH" ] || [ ! -w "$SCRATCH" ]; then
  SCRATCH="${TMPDIR:-/tmp}"
fi

all_targets() {
  sed -n 's/^flywheel_fuzz_target(NAME \([a-z0-9_]*\) .*/\1/p' fuzz/CMakeLists.txt
}

build=1
mode=run
targets=()
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --merge) mode=merge; build=0 ;;
    --list) all_targets; exit 0 ;;
    --summary) mode=summary; build=0 ;;
    -*) echo "fuzz.sh: unknown option '$arg' (known: --no-build, --merge, --list)" >&2; exit 2 ;;
    *) targets+=("${arg#fuzz_}") ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(all_targets)
fi
known=" $(all_targets | tr '\n' ' ') "
for t in "${targets[@]}"; do
  if [[ "$known" != *" $t "* ]]; then
    echo "fuzz.sh: unknown target '$t' (known:$known)" >&2
    exit 2
  fi
done

if [ "$build" = 1 ]; then
  cmake --preset clang-fuzz > /dev/null
  cmake --build --preset clang-fuzz -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}")
fi

if [ "$mode" = summary ]; then
  echo "| target | runs | wall s | CPU s | executions | corpus files (last run) | failed runs |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for t in "${targets[@]}"; do
    awk -F'\t' -v t="$t" '$2 == t { n++; wall += $3; cpu += $4; ex += $5; files = $6;
        if ($7 != "ok") bad++ }
      END { printf "| %s | %d | %d | %d | %d | %d | %d |\n", t, n, wall, cpu, ex, files, bad }' \
      "$OUT/runs.tsv"
  done
  exit 0
fi

if [ "$mode" = merge ]; then
  for t in "${targets[@]}"; do
    if [ -d "$OUT/corpus/$t" ]; then
      echo "== merge $t"
      "$BUILD/bin/fuzz_$t" -merge=1 "fuzz/corpus/$t" "$OUT/corpus/$t" 2>&1 | tail -1
    fi
  done
  exit 0
fi

mkdir -p "$OUT/logs"
run_one() {
  local t="$1" bin="$BUILD/bin/fuzz_$1"
  local corpus="$OUT/corpus/$t" crashes="$OUT/crashes/$t" log="$OUT/logs/$t.log"
  mkdir -p "$corpus" "$crashes"
  cp -n fuzz/corpus/"$t"/* "$corpus"/ 2> /dev/null || true
  local start rc=0
  start=$(date +%s)
  local TIMEFORMAT='%U %S'
  { time TMPDIR="$SCRATCH" nice -n "$NICE" "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" \
      > "$log" 2>&1 || rc=$?; } 2> "$log.time"
  local execs files cpu result=ok
  cpu=$(awk '{ printf "%.0f", $1 + $2 }' "$log.time")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  if [ "$rc" != 0 ]; then
    result="FAILED(rc=$rc)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$(( $(date +%s) - start ))" \
    "$cpu" "${execs:-0}" "$files" "$result" >> "$OUT/runs.tsv"
  printf '%-20s %4ss wall %4ss cpu %10s execs %6s corpus files  %s\n' "$t" \
    "$(( $(date +%s) - start ))" "$cpu" "${execs:-0}" "$files" "$result"
  if [ "$rc" != 0 ]; then
    grep -E 'ERROR|FUZZ_CHECK|SUMMARY|Test unit written' "$log" | head -8 | sed 's/^/    /'
    return 1
  fi
}

echo "== fuzz: ${#targets[@]} targets, ${SECONDS_PER_TARGET}s each, $JOBS at a time (logs: $OUT/logs)"
failed=0
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
if [ "$failed" != 0 ]; then
  echo "fuzz: crashes found; reproducers under $OUT/crashes/ (see doc/fuzzing.md to replay one)"
  exit 1
fi
echo "fuzz: no crash"

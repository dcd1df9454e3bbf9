#!/usr/bin/env bash
# The main job (`make demo`): starts `flywheel serve` on a fresh data directory, replays a
# dataset through the HTTP API at accelerated real time with live HR@10, events/s, recommend
# latency and freshness lines (`flywheel replay`), shows example curl calls against the running
# server with their output, and stops the server cleanly (SIGTERM: it writes a snapshot).
#
# Settings (environment or `make demo VAR=...`):
#   DATASET   kind:path of any dataset `flywheel eval` reads (default: the synthetic stream)
#   MODELS    served models, the first answers by default (default: bpr,pop; doc/replay.md)
#   SPEED     stream time / wall time (synthetic default 60000: its mean gap of 30 s becomes
#             0.5 ms, about 2,000 events/s; any other DATASET: 0, as fast as possible)
#   DURATION  seconds of replay (synthetic default 45 s, a slice of its 400,000 events; any
#             other DATASET: 0, the whole dataset)
#   BATCH     at most this many due events per POST (default 1: exact test-then-train order;
#             larger batches predict an event without the earlier events of its batch)
#   OUT       output directory (default out/demo): data/, serve.log, replay.json
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-build/release/bin/flywheel}
OUT=${OUT:-out/demo}
SYNTHETIC=synthetic:users=3000,items=4000,events=400000,seed=42,drift=0.5
DATASET=${DATASET:-$SYNTHETIC}
MODELS=${MODELS:-bpr,pop}
if [ "$DATASET" = "$SYNTHETIC" ]; then
  SPEED=${SPEED:-60000}
  DURATION=${DURATION:-45}
else
  # A real dataset spans months: replay all of it, as fast as the server takes it.
  SPEED=${SPEED:-0}
  DURATION=${DURATION:-0}
fi
BATCH=${BATCH:-1}

if [ ! -x "$BIN" ]; then
  echo "demo: $BIN is missing: run 'make build' first" >&2
  exit 1
fi
command -v curl > /dev/null || { echo "demo: curl is missing (scripts/install_deps.sh)" >&2; exit 1; }

rm -rf "$OUT/data"
mkdir -p "$OUT"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2> /dev/null; then
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
  fi
  SERVER_PID=""
}
trap stop_server EXIT

# A loopback-only demo: no API keys (keys in the caller's environment are not passed on).
env -u FLYWHEEL_READ_KEY -u FLYWHEEL_WRITE_KEY -u FLYWHEEL_ADMIN_KEY \
  "$BIN" serve --data-dir "$OUT/data" --host 127.0.0.1 --port 0 --models "$MODELS" \
  --durability interval:100 \
  > "$OUT/serve.out" 2> "$OUT/serve.log" &
SERVER_PID=$!

ADDRESS=""
for _ in $(seq 1 600); do
  ADDRESS=$(sed -n 's/.*"msg":"listening".*"address":"\([^"]*\)".*/\1/p; s/.*"address":"\([^"]*\)".*"msg":"listening".*/\1/p' \
    "$OUT/serve.out" | head -n 1)
  [ -n "$ADDRESS" ] && break
  if ! kill -0 "$SERVER_PID" 2> /dev/null; then
    echo "demo: the server exited:" >&2
    cat "$OUT/serve.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$ADDRESS" ]; then
  echo "demo: the server did not report its address within 60 s" >&2
  exit 1
fi
URL="http://$ADDRESS"
echo "== flywheel serve --models $MODELS listening on $URL (data: $OUT/data, log: $OUT/serve.log)"
echo
if [ "$SPEED" = "0" ]; then PACE="as fast as possible"; else PACE="at ${SPEED}x real time"; fi
if [ "$DURATION" = "0" ]; then SPAN="the whole dataset"; else SPAN="for at most ${DURATION} s"; fi
echo "== live replay of $DATASET $PACE, $SPAN, $BATCH event(s) per POST"
echo "   (each scorable event asks for its user's top 10 before it is posted: live prequential HR@10)"
"$BIN" replay --url "$URL" --dataset "$DATASET" --speed "$SPEED" --duration "$DURATION" \
  --batch "$BATCH" --k 10 --json "$OUT/replay.json" > "$OUT/replay.out"
# Live lines and the summary; the JSON summary (last line) is in $OUT/replay.json.
grep -v '^{' "$OUT/replay.out" || true

# Each example is printed as a command one can paste, then run.
run() {
  echo
  echo "\$ $1"
  eval "$1" || true
  echo
}
# Example ids from the data actually sent: the user and item of the last replayed event.
USER_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["example"]["user"])' "$OUT/replay.json")
ITEM_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["example"]["item"])' "$OUT/replay.json")
# The example event happens one second after the last replayed one: the server learns in stream
# time, and an event at today's date would age every replayed event (trending counts) at once.
NOW=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["example"]["ts"] + 1000)' "$OUT/replay.json")
echo
echo "== example calls against the running server (user $USER_ID and item $ITEM_ID: the last replayed event)"
run "curl -s -X POST $URL/v1/events -H 'Content-Type: application/json' -d '{\"events\": [{\"user\": \"$USER_ID\", \"item\": \"$ITEM_ID\", \"type\": \"click\", \"ts\": $NOW, \"id\": \"demo-$NOW\"}]}'"
run "curl -s -X PUT $URL/v1/items/new-jazz-1 -H 'Content-Type: application/json' -d '{\"title\": \"Blue in Green\", \"categories\": [\"jazz\"], \"created\": $NOW}'"
run "curl -s '$URL/v1/users/$USER_ID/recommendations?k=5&explain=true'"
run "curl -s '$URL/v1/users/someone-new/recommendations?k=3&categories=jazz'"
run "curl -s '$URL/v1/items/$ITEM_ID/similar?k=3'"
run "curl -s '$URL/v1/users/$USER_ID/recommendations?k=5&model=pop'"
run "curl -s '$URL/v1/users/someone-new/recommendations?k=3'"
run "curl -s $URL/v1/stats"
run "curl -s $URL/metrics | grep -E '^flywheel_(last_seq|applied_seq|users|items|freshness_seconds_count) '"
echo
echo "== stopping the server (SIGTERM: snapshot, then exit)"
stop_server
tail -n 2 "$OUT/serve.log"
echo "demo: done. Offline evaluation report: make demo-offline (out/demo/report.html)"

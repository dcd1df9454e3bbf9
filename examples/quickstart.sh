#!/usr/bin/env bash
# The README's quick-start, step by step, against a fresh data directory: start the server,
# import the example shop's catalogue, send its events (Python client) and one more (curl), ask
# for recommendations with reasons, and point at the dashboard. Used by tests/e2e
# (examples_test.cc); doc/quickstart.md is a transcript of it.
#
#   examples/quickstart.sh                 builds with `make build` unless FLYWHEEL is set
#   FLYWHEEL=build/release/bin/flywheel PORT=0 examples/quickstart.sh
#
# Environment: FLYWHEEL (the binary), PORT (default 8080; 0: any free port), DATA_DIR (default:
# a new temporary directory), KEEP_RUNNING=1 to leave the server running at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

if [ -z "${FLYWHEEL:-}" ]; then
  step "1. build (make build: installs the Debian packages, builds build/release/bin/flywheel)"
  make build
  FLYWHEEL=build/release/bin/flywheel
fi
PORT="${PORT:-8080}"
DATA_DIR="${DATA_DIR:-$(mktemp -d /tmp/flywheel-shop.XXXXXX)}"
LOG="$DATA_DIR.log"

step "2. start the server on a fresh data directory ($DATA_DIR)"
# itemknn learns "people who used X also used Y" from every event at once; pop is the fallback
# for visitors without history.
"$FLYWHEEL" serve --data-dir "$DATA_DIR" --port "$PORT" --models itemknn,pop \
  > "$LOG.out" 2> "$LOG" &
SERVER=$!
stop() { kill -TERM "$SERVER" 2>/dev/null && wait "$SERVER" || true; }
if [ "${KEEP_RUNNING:-0}" != "1" ]; then
  trap stop EXIT
fi
for _ in $(seq 100); do
  grep -q '"listening"' "$LOG.out" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
ADDRESS=$(sed -n 's/.*"address":"\([^"]*\)".*/\1/p' "$LOG.out" | head -1)
[ -n "$ADDRESS" ] || { echo "quickstart: the server did not start" >&2; cat "$LOG" >&2; exit 1; }
URL="http://$ADDRESS"
echo "listening on $URL"

step "3. import the catalogue (examples/shop/items.csv)"
"$FLYWHEEL" import-items --url "$URL" examples/shop/items.csv

step "4. send the shop's events with the Python client (examples/shop/events.csv)"
python3 examples/python/flywheel_client.py --url "$URL" send-events examples/shop/events.csv

step "5. one more event with curl: a new visitor views the 2-person tent"
curl -sS -X POST "$URL/v1/events" -H 'Content-Type: application/json' \
  -d '{"events": [{"user": "visitor-1", "item": "tent-2p", "type": "view",
                   "ts": "2026-11-24T18:00:00Z", "id": "quickstart-1"}]}'
echo

step "6. recommendations with reasons"
sleep 0.5  # the learner applies events within milliseconds; leave it a moment
echo "-- backpacker-1 (Python client):"
python3 examples/python/flywheel_client.py --url "$URL" recommend backpacker-1 --k 5
echo "-- visitor-1 (curl):"
curl -sS "$URL/v1/users/visitor-1/recommendations?k=5"
echo

step "7. the dashboard"
echo "open $URL/ in a browser"

#!/usr/bin/env bash
# Operations measurements (doc/operations.md): catalogue import through the HTTP API and a live
# backup, on a fresh data directory.
#   bench/run_ops.sh [ITEMS=100000] [EVENTS=200000]
# Prints the wall time of: import-items (CSV, batches of 1,000 over HTTP, sync durability),
# posting EVENTS events, flywheel backup while the server runs, and the restored copy's check.
# Results: bench/results/ops.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS="${1:-100000}"
EVENTS="${2:-200000}"
BIN=build/release/bin/flywheel
WORK=$(mktemp -d /tmp/flywheel-ops-bench.XXXXXX)
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT

python3 - "$WORK" "$ITEMS" "$EVENTS" <<'PY'
import json, random, sys
work, n_items, n_events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
with open(f"{work}/items.csv", "w") as f:
    f.write("id,title,categories,tags,created,price\n")
    for i in range(n_items):
        f.write(f"i{i},Item number {i},c{i % 50};d{i % 7},t{i % 100},2026-01-01,{rng.randint(1, 500)}.00\n")
with open(f"{work}/events.jsonl", "w") as f:
    for j in range(n_events):
        f.write(json.dumps({"user": f"u{rng.randrange(20000)}", "item": f"i{rng.randrange(n_items)}",
                            "type": "view", "ts": 1790000000000 + j, "id": f"e{j}"}) + "\n")
PY

# An admin key: backup --url asks for a snapshot (admin routes need a key).
export FLYWHEEL_ADMIN_KEY=bench-admin-key
"$BIN" serve --data-dir "$WORK/data" --port 0 --models pop > "$WORK/serve.out" 2> "$WORK/serve.log" &
SERVER=$!
for _ in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL="http://$(sed -n 's/.*"address":"\([^"]*\)".*/\1/p' "$WORK/serve.out")"

t0=$(date +%s.%N)
"$BIN" import-items --url "$URL" --key "$FLYWHEEL_ADMIN_KEY" "$WORK/items.csv" > /dev/null
t1=$(date +%s.%N)
echo "import-items: $ITEMS items acknowledged in $(echo "$t1 - $t0" | bc) s"
# The learner applies them after the acknowledgement: wait until all are applied.
python3 - "$URL" "$ITEMS" <<'PY'
import json, sys, time, urllib.request
url, n = sys.argv[1], int(sys.argv[2])
t = time.time()
while True:
    req = urllib.request.Request(url + "/v1/stats", headers={"Authorization": "Bearer bench-admin-key"})
    s = json.load(urllib.request.urlopen(req))
    if s["applied_seq"] >= n:
        break
    time.sleep(0.05)
print(f"  applied {n} item records {time.time() - t:.2f} s after the last acknowledgement")
PY

python3 - "$URL" "$WORK/events.jsonl" <<'PY'
import json, sys, time, urllib.request
url, path = sys.argv[1], sys.argv[2]
events = [json.loads(l) for l in open(path)]
t = time.time()
for s in range(0, len(events), 5000):
    body = json.dumps({"events": events[s:s + 5000]}).encode()
    req = urllib.request.Request(url + "/v1/events", data=body, headers={
        "Content-Type": "application/json", "Authorization": "Bearer bench-admin-key"})
    urllib.request.urlopen(req).read()
print(f"events: {len(events)} posted in {time.time() - t:.2f} s")
PY

t0=$(date +%s.%N)
"$BIN" backup --data-dir "$WORK/data" --to "$WORK/backup" --url "$URL" --key "$FLYWHEEL_ADMIN_KEY" \
  > "$WORK/backup.json"
t1=$(date +%s.%N)
echo "backup (live, with a fresh snapshot): $(echo "$t1 - $t0" | bc) s: $(cat "$WORK/backup.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["bytes"], "bytes,", len(d["files"]), "files, last_seq", d["last_seq"])')"
du -sh "$WORK/data" "$WORK/backup"

#!/usr/bin/env python3
"""Benchmarks of Redis Streams ingestion and replicas (doc/stream.md; issue 19 targets).

  ingest    a stream prefilled with N events (entries of --per-entry events) is consumed by a
            fresh trainer (`flywheel serve --role trainer`, durability sync): events/s from the
            first to the last event applied, and the trainer's CPU seconds per event.
  lag       a producer appends at --rate events/s (one event per entry, as single-event POSTs
            would) for --seconds; a trainer and a replica consume it: each node's lag from XADD
            to visible (p50/p99, doc/stream.md "Versions"), and their CPU per event. With
            --replication delta the replica applies the trainer's deltas (doc/stream.md, "Delta
            mode"): also its model lag (XADD to the delta that holds the event applied) and the
            delta bytes per event. Both modes end with the divergence of the replica from the
            trainer once both hold every event (and, with deltas, the last dense delta):
            the largest score difference and the overlap@10 of --compare-users lists.
  replicas  a trainer and two replicas over a stream of --events events; flywheel_load_bench
            reads recommendations from one replica, then from both at once: server CPU per
            recommendation of each replica and requests/s per core (constant = reads scale).

Every run prints one table row per measure and, with --json, writes them.
  python3 bench/stream/stream_bench.py ingest --binary build/release/bin/flywheel
  python3 bench/stream/stream_bench.py lag --binary build/release/bin/flywheel --rate 5000
  python3 bench/stream/stream_bench.py replicas --binary build/release/bin/flywheel \
      --load-bench build/release/bin/flywheel_load_bench
Results: bench/results/scale.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import Http, RedisProc, Node, entry_key, wait_deltas, STREAM  # noqa: E402
from resp import Redis  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def event(k, users=5000, items=2000):
    return {"user": "u%d" % (k * 2654435761 % users), "item": "i%d" % (k * 40503 % items),
            "type": "purchase" if k % 7 == 0 else "view", "ts": 1_700_000_000_000 + k,
            "id": "b%d" % k}


def prefill(port, n, per_entry):
    r = Redis(port)
    k = 0
    while k < n:
        commands = []
        for _ in range(200):
            if k >= n:
                break
            m = min(per_entry, n - k)
            evs = [event(k + i) for i in range(m)]
            commands.append(["XADD", STREAM, "*", "event", json.dumps(evs[0])] if m == 1 else
                            ["XADD", STREAM, "*", "events", json.dumps(evs)])
            k += m
        r.pipeline(commands)
    return r.call("XREVRANGE", STREAM, "+", "-", "COUNT", "1")[0][0]


STARTED = []  # every process started, killed at exit if still running (a failed run)


def track(proc):
    STARTED.append(proc)
    return proc


def start_redis(work):
    os.makedirs(os.path.join(work, "redis"))
    return track(RedisProc(os.path.join(work, "redis"), "everysec"))


def bench_ingest(args, work, log):
    redis = start_redis(work)
    last = prefill(redis.port, args.events, args.per_entry)
    source = "redis://127.0.0.1:%d/%s" % (redis.port, STREAM)
    node = track(Node(args.binary, os.path.join(work, "trainer"), "trainer", source, "flywheel", log,
                models=args.models, extra={"batch": args.batch}))
    samples = []
    cpu0 = cpu_seconds(node.proc.pid)
    while True:
        doc = node.replication()
        samples.append((time.monotonic(), doc["stream"]["events"]))
        if entry_key(doc["version"]) >= entry_key(last):
            break
        time.sleep(0.02)
    cpu = cpu_seconds(node.proc.pid) - cpu0
    first = next(t for t, n in samples if n > 0)
    seconds = samples[-1][0] - first
    node.stop()
    redis.kill()
    return {"bench": "ingest", "events": args.events, "per_entry": args.per_entry,
            "batch": args.batch, "models": args.models, "seconds": round(seconds, 3),
            "events_per_s": round(args.events / seconds), "cpu_s": round(cpu, 2),
            "cpu_us_per_event": round(cpu / args.events * 1e6, 2)}


def bench_lag(args, work, log):
    redis = start_redis(work)
    source = "redis://127.0.0.1:%d/%s" % (redis.port, STREAM)
    delta = args.replication == "delta"
    trainer = track(Node(args.binary, os.path.join(work, "trainer"), "trainer", source, "flywheel",
                   log, models=args.models,
                   extra={"delta_rows_ms": args.delta_rows_ms,
                          "delta_dense_ms": args.delta_dense_ms} if delta else None))
    replica = track(Node(args.binary, os.path.join(work, "replica"), "replica", source, "replica-1",
                   log, models=args.models, extra={"replication": "delta"} if delta else None))
    cpu0 = [cpu_seconds(n.proc.pid) for n in (trainer, replica)]
    r = Redis(redis.port)
    start, k = time.monotonic(), 0
    tick = 0.01  # 100 pipelines a second, each with rate/100 single-event entries
    while time.monotonic() - start < args.seconds:
        due = int((time.monotonic() - start) * args.rate)
        if due > k:
            r.pipeline([["XADD", STREAM, "*", "event", json.dumps(event(i))]
                        for i in range(k, due)])
            k = due
        time.sleep(tick)
    last = r.call("XREVRANGE", STREAM, "+", "-", "COUNT", "1")[0][0]
    rows = []
    docs = {}
    for name, node, c0 in (("trainer", trainer, cpu0[0]), ("replica", replica, cpu0[1])):
        doc = node.wait_version(last)["stream"]
        if delta and name == "replica":
            wait_deltas(node, last)
            doc = node.replication()["stream"]
        cpu = cpu_seconds(node.proc.pid) - c0
        docs[name] = doc
        row = {"bench": "lag", "node": name, "replication": args.replication,
               "rate": args.rate, "events": k, "seconds": args.seconds, "models": args.models,
               "lag_p50_ms": round(doc["lag_ms"]["p50"], 2),
               "lag_p99_ms": round(doc["lag_ms"]["p99"], 2),
               "cpu_us_per_event": round(cpu / k * 1e6, 2)}
        if delta and name == "replica":
            d = doc["deltas"]
            row.update({"model_lag_p50_ms": round(d["model_lag_ms"]["p50"], 2),
                        "model_lag_p99_ms": round(d["model_lag_ms"]["p99"], 2),
                        "oldest_event_lag_p99_ms": round(d["oldest_lag_ms"]["p99"], 2),
                        "delta_entries": d["entries"], "delta_refused": d["refused"],
                        "delta_bytes_per_event": round(d["bytes"] / k, 1),
                        "apply_p99_ms": round(d["apply_ms"]["p99"], 3)})
        rows.append(row)
    if delta:
        time.sleep(args.delta_dense_ms / 1000 + 0.5)  # the last dense delta, then compare
        wait_deltas(replica, last)
    rows[-1].update(divergence(trainer, replica, args))
    trainer.stop()
    replica.stop()
    redis.kill()
    return rows


def divergence(trainer, replica, args):
    """Largest |score difference| over the items both lists hold, and mean overlap@10, of the
    first model's lists for --compare-users users, trainer against replica."""
    a, b = Http(trainer.address), Http(replica.address)
    model = args.models.split(",")[0]
    worst, overlap, same, n = 0.0, 0.0, 0, 0
    for u in range(args.compare_users):
        path = "/v1/users/u%d/recommendations?k=10&model=%s&policy=greedy" % (
            u * 2654435761 % 5000, model)
        sa, ja = a.get(path)
        sb, jb = b.get(path)
        if sa != 200 or sb != 200:
            raise AssertionError("recommendations: %s %s" % (sa, sb))
        x = {i["id"]: i["score"] for i in ja["items"]}
        y = {i["id"]: i["score"] for i in jb["items"]}
        for item in set(x) & set(y):
            worst = max(worst, abs(x[item] - y[item]))
        overlap += len(set(x) & set(y)) / max(len(x), 1)
        same += [(i["id"], i["score"]) for i in ja["items"]] == \
            [(i["id"], i["score"]) for i in jb["items"]]
        n += 1
    return {"compared_users": n, "max_abs_score_diff": worst,
            "overlap_at_10": round(overlap / max(n, 1), 4), "identical_lists": same}


def load(args, urls, seconds):
    procs = [subprocess.Popen(
        [args.load_bench, "mixed", "--url", url, "--read-rate", str(args.read_rate),
         "--write-rate", "0", "--duration", str(seconds), "--read-connections", "4",
         "--users", "5000", "--json", os.path.join(args.tmp, "load%d.json" % i)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i, url in enumerate(urls)]
    for p in procs:
        p.wait()
    out = []
    for i in range(len(urls)):
        with open(os.path.join(args.tmp, "load%d.json" % i)) as f:
            out.append(json.load(f))
    return out


def reads_done(report):
    """Successful reads in a flywheel_load_bench report, and their latency p99."""
    read = report["mixed"]["read"]
    return read["sent"] - read["errors"], read["latency_ms"]["p99"]


def bench_replicas(args, work, log):
    redis = start_redis(work)
    last = prefill(redis.port, args.events, 50)
    source = "redis://127.0.0.1:%d/%s" % (redis.port, STREAM)
    trainer = track(Node(args.binary, os.path.join(work, "trainer"), "trainer", source, "flywheel",
                   log, models=args.models))
    replicas = [track(Node(args.binary, os.path.join(work, "r%d" % i), "replica", source,
                     "replica-%d" % i, log, models=args.models)) for i in (1, 2)]
    for n in [trainer] + replicas:
        n.wait_version(last)
    args.tmp = work
    rows = []
    for count in (1, 2):
        nodes = replicas[:count]
        c0 = [cpu_seconds(n.proc.pid) for n in nodes]
        t0 = time.monotonic()
        reports = load(args, ["http://" + n.address for n in nodes], args.seconds)
        wall = time.monotonic() - t0
        for n, c, rep in zip(nodes, c0, reports):
            cpu = cpu_seconds(n.proc.pid) - c
            done, p99 = reads_done(rep)
            rows.append({"bench": "replicas", "replicas_loaded": count, "node": n.name,
                         "models": args.models, "reads": done, "seconds": round(wall, 1),
                         "cpu_s": round(cpu, 2),
                         "cpu_us_per_read": round(cpu / max(done, 1) * 1e6, 1),
                         "reads_per_cpu_s": round(done / max(cpu, 1e-9)),
                         "read_p99_ms": round(p99, 2)})
    for n in [trainer] + replicas:
        n.stop()
    redis.kill()
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bench", choices=["ingest", "lag", "replicas"])
    p.add_argument("--binary", required=True)
    p.add_argument("--load-bench")
    p.add_argument("--models", default="pop")
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--per-entry", type=int, default=1)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--rate", type=float, default=5000)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--read-rate", type=float, default=1000,
                   help="recommendation requests/s sent to each loaded replica (open loop)")
    p.add_argument("--replication", choices=["replay", "delta"], default="replay",
                   help="lag: how the replica keeps its models current")
    p.add_argument("--delta-rows-ms", type=int, default=100)
    p.add_argument("--delta-dense-ms", type=int, default=1000)
    p.add_argument("--compare-users", type=int, default=200)
    p.add_argument("--json")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="fw-stream-bench-")
    try:
        with open(os.path.join(work, "serve.log"), "w") as log:
            rows = {"ingest": bench_ingest, "lag": bench_lag,
                    "replicas": bench_replicas}[args.bench](args, work, log)
    finally:
        for proc in STARTED:
            try:
                proc.kill()  # stopped ones: a no-op
            except (OSError, ProcessLookupError):
                pass
        shutil.rmtree(work, ignore_errors=True)
    rows = rows if isinstance(rows, list) else [rows]
    for row in rows:
        print(json.dumps(row))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

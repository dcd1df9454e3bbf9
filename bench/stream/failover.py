#!/usr/bin/env python3
"""Failure behaviour of a replicated deployment on one Redis Stream (doc/stream.md; issue 19,
item 3), scripted on this machine: a redis-server with AOF, a trainer and a replica
(`flywheel serve --role trainer|replica --source redis://...`), a producer appending events to
the stream and readers asking both nodes for recommendations. Then, under that load:

- trainer kill -9 cycles: the replica keeps serving (its reader sees no failure) and the trainer
  resumes from the stream's pending entries;
- replica kill -9 cycles: the trainer is unaffected (its reader sees no failure), the replica
  rejoins and catches up;
- Redis kill -9 cycles, once with `appendfsync always` and once with `everysec`: the producer
  retries what got no reply (same event ids), the nodes reconnect.

At the end every event the producer sent (each with a unique id and time stamp) must be in each
node's history exactly once (`GET /v1/users/{id}?limit=500`), nothing else; both groups have no
pending entry and nothing was dead-lettered; and at the same version the two nodes answer the
same recommendations with the same scores (replay is deterministic).

What a Redis kill -9 (a process crash, not a power loss) may lose: nothing, in both modes: Redis
write()s the AOF before it answers. A power loss may lose up to a second of acknowledged
entries with everysec; that cannot be produced on this machine and is not tested.

With --replication delta the replica applies the trainer's deltas (doc/stream.md, "Delta mode")
and the nodes run sasrec (small) and pop: the trainer's kills start new publisher runs (a full
delta each), the replica's restart from the newest full delta; at the end, once the replica's
deltas reached the last event and one dense period passed, the lists must be the same too.

Short CI mode (ctest `stream_failover`, and `stream_failover_delta` with --replication delta
--modes everysec): --quick. Long bench mode (the issue's 200 trainer
cycles): python3 bench/stream/failover.py --binary build/release/bin/flywheel \
    --trainer-kills 200 --replica-kills 20 --redis-kills 5 --json /tmp/failover.json
Results: bench/results/scale.md.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp import Redis, RedisError  # noqa: E402

BASE_TS = 1_700_000_000_000
STREAM = "events"


def user_of(k):
    """Events k in [1000b, 1000b+1000) go to users 10b..10b+9: 100 each, all in the history."""
    return "u%d" % ((k // 1000) * 10 + k % 10)


def event_of(k):
    return {"user": user_of(k), "item": "i%d" % (k * 7919 % 300),
            "type": "purchase" if k % 5 == 0 else "view", "ts": BASE_TS + k, "id": "e%d" % k}


def entry_key(entry_id):
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisProc:
    def __init__(self, directory, appendfsync):
        self.dir, self.appendfsync, self.port = directory, appendfsync, free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", self.appendfsync,
             "--logfile", "redis.log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis(self.port, timeout=1).call("PING") == "PONG":
                    return
            except (OSError, ConnectionError, RedisError):
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Http:
    def __init__(self, address, timeout=5.0):
        host, port = address.rsplit(":", 1)
        self.host, self.port, self.timeout, self.conn = host, int(port), timeout, None

    def get(self, path):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request("GET", path)
            resp = self.conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        except Exception:
            self.conn.close()
            self.conn = None
            raise


class Node:
    def __init__(self, binary, directory, role, source, group, log, models="bpr,pop",
                 extra=None, flags=()):
        self.args = [binary, "serve", "--data-dir", directory, "--port", "0", "--role", role,
                     "--source", source, "--models", models] + list(flags)
        config = directory + ".json"
        with open(config, "w") as f:
            json.dump({"stream": dict({"group": group, "block_ms": 20}, **(extra or {}))}, f)
        self.args += ["--config", config]
        self.log, self.address, self.proc = log, None, None
        self.name = os.path.basename(directory)
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        for line in self.proc.stdout:
            doc = json.loads(line) if line.startswith("{") else {}
            if doc.get("msg") == "listening":
                self.address = doc["address"]
                break
        else:
            raise RuntimeError("serve did not start (exit %s)" % self.proc.wait())
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()

    def replication(self):
        return Http(self.address).get("/v1/replication")[1]

    def wait_version(self, last_id, timeout=120.0, deltas=False):
        """The replication document once the node's version (with deltas: the version of its
        delta replica's parameters, stream.deltas.version) reached `last_id`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                doc = self.replication()
                version = doc["stream"]["deltas"]["version"] if deltas else doc["version"]
                if entry_key(version) >= entry_key(last_id):
                    return doc
            except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.02)
        raise AssertionError("%s did not reach %s%s" % (self.name, last_id,
                                                        " (deltas)" if deltas else ""))


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.next_k = 0
        self.acked, self.in_doubt = set(), set()
        self.last_id = "0-0"
        self.failed_xadds = 0


def producer(redis_port, ledger, stop, rng, rate):
    """Appends entries of 1..20 events at about `rate` events/s; an XADD without a reply leaves
    its events in doubt, sent again (same ids) until one is answered."""
    r = Redis(redis_port, timeout=2.0)
    start, sent = time.monotonic(), 0
    while not stop.is_set():
        with ledger.lock:
            if ledger.in_doubt:
                ks = sorted(ledger.in_doubt)[:20]
            else:
                ks = list(range(ledger.next_k, ledger.next_k + rng.randint(1, 20)))
                ledger.next_k += len(ks)
        try:
            entry = r.call("XADD", STREAM, "*", "events",
                           json.dumps([event_of(k) for k in ks]))
            with ledger.lock:
                ledger.acked.update(ks)
                ledger.in_doubt.difference_update(ks)
                ledger.last_id = entry
        except (OSError, ConnectionError, RedisError):
            with ledger.lock:
                ledger.in_doubt.update(ks)
                ledger.failed_xadds += 1
            r.close()
            time.sleep(0.05)
        sent += len(ks)
        ahead = sent / rate - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)


def reader(get_node, stop, counts, rng):
    """Recommendations from one node, continuously; counts answers and failures."""
    client, address = None, None
    while not stop.is_set():
        node = get_node()
        if client is None or node.address != address:
            client, address = Http(node.address, timeout=5.0), node.address
        try:
            status, _ = client.get("/v1/users/u%d/recommendations?k=10" % rng.randrange(50))
            counts["ok" if status == 200 else "bad"] += 1
        except (OSError, http.client.HTTPException, ValueError):
            counts["failed"] += 1
            time.sleep(0.01)
        time.sleep(0.002)


def histories(node, users):
    """user -> list of event indices in that node's history."""
    client, out = Http(node.address, timeout=30.0), {}
    for u in users:
        status, doc = client.get("/v1/users/%s?limit=500" % u)
        out[u] = [] if status == 404 else [h["ts"] - BASE_TS for h in doc["history"]]
    return out


# Delta mode (--replication delta): a small sasrec on both nodes, deltas every 50 ms, the
# transformer every 200 ms.
DELTA_MODELS = "sasrec,pop"
DELTA_FLAGS = ["--param", "sasrec.dim=16", "--param", "sasrec.blocks=1", "--param",
               "sasrec.max_len=10"]
DELTA_TRAINER = {"delta_rows_ms": 50, "delta_dense_ms": 200, "delta_full_s": 5}


def wait_deltas(node, last_id):
    """Until a delta replica's parameters hold `last_id`; its stream.deltas document."""
    return node.wait_version(last_id, deltas=True)["stream"]["deltas"]


def check(trainer, replica, redis_port, ledger):
    """Exactly once on both nodes, nothing pending or dead, the same answers."""
    expected = {}
    for k in ledger.acked:
        expected.setdefault(user_of(k), []).append(k)
    problems = []
    per_node = {}
    for name, node in (("trainer", trainer), ("replica", replica)):
        hist = histories(node, sorted(expected))
        per_node[name] = hist
        lost = dup = extra = 0
        for u, ks in expected.items():
            got = hist.get(u, [])
            lost += len(set(ks) - set(got))
            dup += len(got) - len(set(got))
            extra += len(set(got) - set(ks))
        if lost or dup or extra:
            problems.append("%s: lost %d, duplicated %d, unknown %d" % (name, lost, dup, extra))
    r = Redis(redis_port)
    for group in ("flywheel", "replica-1"):
        pending = r.call("XPENDING", STREAM, group)[0]
        if pending != 0:
            problems.append("group %s has %d pending entries" % (group, pending))
    dead = r.call("XLEN", STREAM + ":dead")
    if dead:
        problems.append("%d dead-lettered entries" % dead)
    t, p = Http(trainer.address), Http(replica.address)
    differ = 0
    for u in sorted(expected)[:40]:
        a = t.get("/v1/users/%s/recommendations?k=10" % u)[1]["items"]
        b = p.get("/v1/users/%s/recommendations?k=10" % u)[1]["items"]
        if [(x["id"], x["score"]) for x in a] != [(x["id"], x["score"]) for x in b]:
            differ += 1
    if differ:
        problems.append("%d of 40 users get different lists from trainer and replica" % differ)
    return problems


def run_mode(args, appendfsync, rng, log):
    work = tempfile.mkdtemp(prefix="fw-failover-")
    try:
        os.makedirs(os.path.join(work, "redis"))
        redis = RedisProc(os.path.join(work, "redis"), appendfsync)
        source = "redis://127.0.0.1:%d/%s" % (redis.port, STREAM)
        delta = args.replication == "delta"
        node_args = {"models": DELTA_MODELS, "flags": DELTA_FLAGS} if delta else {}
        trainer = Node(args.binary, os.path.join(work, "trainer"), "trainer", source, "flywheel",
                       log, extra=DELTA_TRAINER if delta else None, **node_args)
        replica = Node(args.binary, os.path.join(work, "replica"), "replica", source, "replica-1",
                       log, extra={"replication": "delta"} if delta else None, **node_args)
        ledger, stop = Ledger(), threading.Event()
        reads = {"trainer": {"ok": 0, "bad": 0, "failed": 0},
                 "replica": {"ok": 0, "bad": 0, "failed": 0}}
        threads = [threading.Thread(target=producer,
                                    args=(redis.port, ledger, stop, random.Random(rng.random()),
                                          args.rate))]
        for name, node in (("trainer", trainer), ("replica", replica)):
            threads.append(threading.Thread(target=reader, args=(
                lambda n=node: n, stop, reads[name], random.Random(rng.random()))))
        for t in threads:
            t.start()
        result = {"appendfsync": appendfsync, "replication": args.replication,
                  "trainer_kills": 0, "replica_kills": 0,
                  "redis_kills": 0, "catch_up_s": []}

        def cycles(kind, n, victim):
            for _ in range(n):
                time.sleep(rng.uniform(0.2, 0.8))
                before = {k: dict(v) for k, v in reads.items()}
                victim.kill()
                time.sleep(rng.uniform(0.0, 0.3))
                start = time.monotonic()
                victim.start()
                if kind != "redis":
                    with ledger.lock:
                        last = ledger.last_id
                    if last != "0-0":
                        (trainer if kind == "trainer" else replica).wait_version(last)
                    result["catch_up_s"].append(time.monotonic() - start)
                result[kind + "_kills"] += 1
                # The nodes that were not killed served every read meanwhile (reads need no
                # Redis).
                others = {"trainer": ["replica"], "replica": ["trainer"],
                          "redis": ["trainer", "replica"]}[kind]
                for other in others:
                    if reads[other]["failed"] != before[other]["failed"]:
                        raise AssertionError("%s failed reads while the %s was down"
                                             % (other, kind))

        cycles("trainer", args.trainer_kills, trainer)
        cycles("replica", args.replica_kills, replica)
        cycles("redis", args.redis_kills, redis)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        r = Redis(redis.port)
        while ledger.in_doubt:  # what got no reply is sent again, as a client would
            ks = sorted(ledger.in_doubt)[:20]
            ledger.last_id = r.call("XADD", STREAM, "*", "events",
                                    json.dumps([event_of(k) for k in ks]))
            ledger.acked.update(ks)
            ledger.in_doubt.difference_update(ks)
        last = r.call("XADD", STREAM, "*", "event", json.dumps(event_of(ledger.next_k)))
        ledger.acked.add(ledger.next_k)
        ledger.next_k += 1
        trainer.wait_version(last)
        replica.wait_version(last)
        if delta:
            wait_deltas(replica, last)
            time.sleep(DELTA_TRAINER["delta_dense_ms"] / 1000 + 0.5)  # the last dense delta
        problems = check(trainer, replica, redis.port, ledger)
        if delta:
            d = replica.replication()["stream"]["deltas"]
            if d["refused"]:
                problems.append("the replica refused %d deltas: %s" % (d["refused"],
                                                                      d["last_error"]))
            result["replica_deltas"] = d
        result.update({"events": len(ledger.acked), "failed_xadds": ledger.failed_xadds,
                       "reads": reads, "problems": problems,
                       "trainer_stream": trainer.replication()["stream"],
                       "replica_stream": replica.replication()["stream"]})
        trainer.stop()
        replica.stop()
        redis.kill()
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--trainer-kills", type=int, default=20)
    p.add_argument("--replica-kills", type=int, default=5)
    p.add_argument("--redis-kills", type=int, default=2)
    p.add_argument("--modes", default="always,everysec")
    p.add_argument("--rate", type=float, default=2000, help="events/s the producer sends")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--replication", choices=["replay", "delta"], default="replay")
    p.add_argument("--quick", action="store_true",
                   help="CI: 3 trainer, 2 replica, 1 Redis kill per mode")
    p.add_argument("--json")
    args = p.parse_args()
    if args.quick:
        args.trainer_kills, args.replica_kills, args.redis_kills = 3, 2, 1
    rng = random.Random(args.seed)
    results = []
    with tempfile.TemporaryFile("w+") as log:
        try:
            for mode in args.modes.split(","):
                results.append(run_mode(args, mode, rng, log))
                r = results[-1]
                cu = sorted(r["catch_up_s"])
                print("%s, appendfsync %-8s trainer kills %d, replica kills %d, redis kills %d: "
                      "%d events, lost/duplicated: %s; reads failed trainer %d replica %d; "
                      "catch-up after restart p50 %.2f s max %.2f s"
                      % (args.replication, mode, r["trainer_kills"], r["replica_kills"], r["redis_kills"],
                         r["events"], "; ".join(r["problems"]) or "0/0",
                         r["reads"]["trainer"]["failed"], r["reads"]["replica"]["failed"],
                         cu[len(cu) // 2] if cu else 0, cu[-1] if cu else 0), flush=True)
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:])
            raise
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if any(r["problems"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()

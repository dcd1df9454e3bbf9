#!/usr/bin/env python3
"""kill -9 bench of `flywheel serve` under mixed HTTP load (reliability guide D1, D7).

Each cycle starts `flywheel serve` on one data directory, drives it with writer threads (single
event posts, batches of 2..50, item puts, now and then a user forgotten) and reader threads
(recommendations, stats), SIGKILLs it at a random moment, restarts it and checks, through the API,
that every acknowledged write is there exactly once:

- events: every event has a unique id and a unique `ts`, and no user ever gets more events than
  the engine's per-user history keeps (100 < 200), so `GET /v1/users/{id}?limit=500` lists every
  applied event of the user; each acknowledged event (202) must appear exactly once, no event may
  appear twice, nothing may appear that was never sent, and `events` must equal the history's
  length. Events whose request got no answer (in flight at the kill) are "in doubt": they may or
  may not be there, and the next cycle retries them with their ids, as a client would (the retry
  must not apply them twice).
- item puts: an acknowledged `PUT /v1/items/{id}` has its title after the restart;
- forgets: a user whose `DELETE` was answered 200 is 404 after the restart.

Both durability modes: `sync`, and `interval:<ms>` where doc/engine.md promises that a process
crash (kill -9) loses nothing that was written (only a power loss may lose the last interval), so
the check is the same: zero loss, zero duplicates.

Short CI mode: `--cycles 3` per mode (ctest `crash_serve_kill`). Long bench mode:
  nice -n 10 python3 bench/crash/kill_bench.py --binary build/release/bin/flywheel \
      --cycles 500 --modes sync,interval:50 --json /tmp/kill.json
Results: bench/results/crash.md.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BASE_TS = 1_700_000_000_000
EVENTS_PER_USER_BLOCK = 1000  # events k in [1000b, 1000b+1000) go to users 10b .. 10b+9


def user_of(k):
    return "u%d" % ((k // EVENTS_PER_USER_BLOCK) * 10 + k % 10)


def event_of(k):
    return {"user": user_of(k), "item": "i%d" % (k * 7919 % 300),
            "type": "purchase" if k % 5 == 0 else "view", "ts": BASE_TS + k, "id": "e%d" % k}


class Client:
    """One keep-alive connection; any failure closes it (the next request reconnects)."""

    def __init__(self, address, timeout=10.0):
        host, port = address.rsplit(":", 1)
        self.host, self.port, self.timeout = host, int(port), timeout
        self.conn = None

    def request(self, method, path, body=None):
        """Returns (status, parsed json or None); raises OSError/HTTPException on failure."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except Exception:
            self.close()
            raise
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return resp.status, doc

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Server:
    live = []  # every server started (killed at exit if still running)

    def __init__(self, binary, data_dir, mode, config, log):
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", data_dir, "--port", "0", "--durability", mode,
             "--models", "pop,itemknn", "--config", config],
            stdout=subprocess.PIPE, stderr=log, text=True)
        Server.live.append(self)
        self.address = None
        for line in self.proc.stdout:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and doc.get("msg") == "listening":
                self.address = doc["address"]
                break
        self.listening_s = time.monotonic() - self.start
        if self.address is None:
            raise RuntimeError("serve did not start (exit %s)" % self.proc.wait())
        # Drain stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def wait_ready(self, timeout=120.0):
        """Until /readyz is 200 and the learner applied everything logged; returns seconds since
        the process was started."""
        client = Client(self.address)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _ = client.request("GET", "/readyz")
                if status == 200:
                    status, stats = client.request("GET", "/v1/stats")
                    if status == 200 and stats["applied_seq"] == stats["last_seq"]:
                        client.close()
                        return time.monotonic() - self.start
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.005)
        raise RuntimeError("serve not ready after %.0f s" % timeout)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        Server.live.remove(self)


class Ledger:
    """What the client was told: acknowledged events, in-doubt events, item puts, forgets."""

    def __init__(self):
        self.lock = threading.Lock()
        self.next_k = 0
        self.acked = set()      # event indices answered 202
        self.in_doubt = set()   # sent, no answer (retried next cycle)
        self.sent = set()       # every event index ever sent
        self.touched = set()    # users with events sent this cycle
        self.by_user = {}       # user -> event indices sent to them
        self.items = {}         # item id -> acknowledged title
        self.forgotten = set()  # users whose DELETE was answered 200
        self.forget_pool = []   # forget-users with acknowledged events, not yet forgotten
        self.next_forget = 0
        self.counters = {"event_posts": 0, "batch_posts": 0, "item_puts": 0, "forgets": 0,
                         "reads": 0, "failed_requests": 0, "retried": 0}

    def take(self, n):
        with self.lock:
            ks = list(range(self.next_k, self.next_k + n))
            self.next_k += n
            self.sent.update(ks)
            for k in ks:
                self.touched.add(user_of(k))
                self.by_user.setdefault(user_of(k), []).append(k)
            return ks


def post_events(client, ledger, ks):
    """Posts events ks; records them acknowledged or in doubt. Returns False on a failure."""
    try:
        status, doc = client.request("POST", "/v1/events", {"events": [event_of(k) for k in ks]})
    except (OSError, http.client.HTTPException):
        status, doc = None, None
    with ledger.lock:
        if status == 202:
            if doc["accepted"] + doc["duplicates"] != len(ks):
                raise AssertionError("202 for %d events answered %s" % (len(ks), doc))
            ledger.acked.update(ks)
            ledger.in_doubt.difference_update(ks)
            return True
        if status is not None and status < 500:
            raise AssertionError("events answered %s %s" % (status, doc))
        ledger.in_doubt.update(k for k in ks if k not in ledger.acked)
        ledger.counters["failed_requests"] += 1
        return False


def writer(address, ledger, stop, rng):
    client = Client(address)
    while not stop.is_set():
        r = rng.random()
        try:
            if r < 0.60:
                ok = post_events(client, ledger, ledger.take(1))
                ledger.counters["event_posts"] += 1
            elif r < 0.93:
                ok = post_events(client, ledger, ledger.take(rng.randint(2, 50)))
                ledger.counters["batch_posts"] += 1
            elif r < 0.99:
                item = "i%d" % rng.randrange(300)
                title = "t%d" % rng.randrange(1 << 30)
                status, _ = client.request("PUT", "/v1/items/" + item, {"title": title})
                ok = status == 202
                if ok:
                    with ledger.lock:
                        ledger.items[item] = title
                ledger.counters["item_puts"] += 1
            else:
                ok = forget_step(client, ledger)
        except (OSError, http.client.HTTPException):
            ok = False
            ledger.counters["failed_requests"] += 1
        if not ok:
            time.sleep(0.01)  # the server is gone (killed); the cycle is ending
    client.close()


def forget_step(client, ledger):
    """Either gives a new forget-user a few events, or forgets one that has some."""
    with ledger.lock:
        victim = ledger.forget_pool.pop() if ledger.forget_pool else None
        if victim is None:
            user = "f%d" % ledger.next_forget
            ledger.next_forget += 1
    if victim is None:
        events = [{"user": user, "item": "i1", "type": "view", "ts": BASE_TS + i,
                   "id": "%s-%d" % (user, i)} for i in range(3)]
        status, _ = client.request("POST", "/v1/events", {"events": events})
        if status == 202:
            with ledger.lock:
                ledger.forget_pool.append(user)
        return status == 202
    status, _ = client.request("DELETE", "/v1/users/" + victim)
    if status == 200:
        with ledger.lock:
            ledger.forgotten.add(victim)
            ledger.counters["forgets"] += 1
    elif status is not None and status < 500:
        raise AssertionError("forget %s answered %s" % (victim, status))
    return status == 200


def reader(address, ledger, stop, rng):
    client = Client(address)
    while not stop.is_set():
        try:
            if rng.random() < 0.9:
                path = "/v1/users/%s/recommendations?k=10" % user_of(rng.randrange(
                    max(1, ledger.next_k)))
            else:
                path = "/v1/stats"
            client.request("GET", path)
            ledger.counters["reads"] += 1
        except (OSError, http.client.HTTPException):
            time.sleep(0.01)
    client.close()


def verify(address, ledger, users, failures, cycle):
    """Checks every acknowledged write of `users` (and all forgotten users and items)."""
    client = Client(address, timeout=30.0)
    by_user = ledger.by_user
    lost, duplicated, unknown = set(), set(), set()
    for user in sorted(users):
        status, doc = client.request("GET", "/v1/users/%s?limit=500" % user)
        ks = by_user.get(user, [])
        acked = [k for k in ks if k in ledger.acked]
        if status == 404:
            doc = {"events": 0, "history": []}
        elif status != 200:
            failures.append("cycle %d: GET user %s answered %s" % (cycle, user, status))
            continue
        seen = {}
        for h in doc["history"]:
            seen[h["ts"] - BASE_TS] = seen.get(h["ts"] - BASE_TS, 0) + 1
        for k in acked:
            if seen.get(k, 0) == 0:
                lost.add(k)
                failures.append("cycle %d: acknowledged event e%d of %s lost" % (cycle, k, user))
        for k, n in seen.items():
            if n > 1:
                duplicated.add(k)
                failures.append("cycle %d: event e%d of %s applied %d times" % (cycle, k, user, n))
            if k not in ledger.sent:
                unknown.add((user, k))
                failures.append("cycle %d: %s has an event never sent (ts %d)" % (cycle, user, k))
        if doc["events"] != len(doc["history"]):
            failures.append("cycle %d: %s counts %d events, history lists %d" %
                            (cycle, user, doc["events"], len(doc["history"])))
    for user in sorted(ledger.forgotten):
        status, _ = client.request("GET", "/v1/users/" + user)
        if status != 404:
            failures.append("cycle %d: forgotten user %s answered %s" % (cycle, user, status))
    for item, title in sorted(ledger.items.items()):
        status, doc = client.request("GET", "/v1/items/" + item)
        if status != 200 or doc.get("title") != title:
            # A later put of the same item may have been in doubt and applied: accept that only
            # if the title is one this client sent (titles are random, so check it was ours).
            if status != 200 or not str(doc.get("title", "")).startswith("t"):
                failures.append("cycle %d: item %s lost its title (%s %s)" %
                                (cycle, item, status, doc))
    client.close()
    return lost, duplicated, unknown


def run_mode(args, mode, cycles, rng, work, publish):
    """Runs `cycles` kill -9 cycles in one durability mode; `publish(summary)` is called every
    10 cycles and at the end with the results so far."""
    data_dir = os.path.join(work, "data-" + mode.replace(":", "-"))
    config = os.path.join(work, "config.json")
    with open(config, "w") as f:
        json.dump({"snapshot_every": args.snapshot_every, "keep_snapshots": 2}, f)
    log = open(os.path.join(work, "serve-%s.log" % mode.replace(":", "-")), "ab")
    ledger = Ledger()
    failures = []
    listening, ready, kill_after = [], [], []
    lost, duplicated, unknown = set(), set(), set()  # distinct events, over all cycles
    for cycle in range(cycles + 1):
        server = Server(args.binary, data_dir, mode, config, log)
        ready_s = server.wait_ready()
        if cycle > 0:
            listening.append(server.listening_s)
            ready.append(ready_s)
            users = set(ledger.touched)
            everyone = sorted(ledger.by_user)
            if cycle == cycles or cycle % 100 == 0:
                users = set(everyone)
            users.update(rng.sample(everyone, min(20, len(everyone))))
            before = len(failures)
            l, d, u = verify(server.address, ledger, users, failures, cycle)
            lost, duplicated, unknown = lost | l, duplicated | d, unknown | u
            for failure in failures[before:]:
                print("FAIL " + failure, file=sys.stderr, flush=True)
            if failures and args.stop_on_failure:
                server.kill()
                break
        if cycle % 10 == 0 or cycle == cycles:
            publish(summarize(mode, ledger, failures, lost, duplicated, unknown, listening, ready,
                              kill_after))
        if cycle == cycles:
            server.kill()
            break
        ledger.touched = set()
        if args.check_the_checker and cycle == 1:
            # An acknowledgement that never happened: the check must report it lost.
            ledger.acked.update(ledger.take(1))
        # Retry what is in doubt, as a client would: already-logged ones must be duplicates.
        doubt = sorted(ledger.in_doubt)
        client = Client(server.address)
        for i in range(0, len(doubt), 50):
            chunk = doubt[i:i + 50]
            ledger.touched.update(user_of(k) for k in chunk)
            ledger.counters["retried"] += len(chunk)
            if not post_events(client, ledger, chunk):
                failures.append("cycle %d: retry failed" % cycle)
        client.close()
        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(server.address, ledger, stop,
                                                         random.Random(rng.random())))
                   for _ in range(args.writers)]
        threads += [threading.Thread(target=reader, args=(server.address, ledger, stop,
                                                          random.Random(rng.random())))
                    for _ in range(args.readers)]
        for t in threads:
            t.start()
        delay = rng.uniform(args.min_load_s, args.max_load_s)
        kill_after.append(delay)
        time.sleep(delay)
        server.kill()  # SIGKILL while requests are in flight
        stop.set()
        for t in threads:
            t.join()
        if args.verbose:
            print("%s cycle %d: %d sent, %d acknowledged, %d in doubt, recovery %.3f s" %
                  (mode, cycle, len(ledger.sent), len(ledger.acked), len(ledger.in_doubt),
                   ready[-1] if ready else 0), flush=True)
    log.close()
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    return summarize(mode, ledger, failures, lost, duplicated, unknown, listening, ready,
                     kill_after)


def summarize(mode, ledger, failures, lost, duplicated, unknown, listening, ready, kill_after):
    return {"mode": mode, "cycles": len(ready), "events_sent": len(ledger.sent),
            "events_acknowledged": len(ledger.acked), "in_doubt_at_end": len(ledger.in_doubt),
            "lost": len(lost), "duplicated": len(duplicated), "never_sent": len(unknown),
            "item_puts_acknowledged": len(ledger.items), "users_forgotten": len(ledger.forgotten),
            "counters": ledger.counters, "failures": failures[:50],
            "failure_count": len(failures),
            "listening_s": summary(listening), "ready_s": summary(ready),
            "load_before_kill_s": summary(kill_after)}


def summary(xs):
    if not xs:
        return {}
    xs = sorted(xs)
    pick = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return {"n": len(xs), "p50": round(pick(0.5), 4), "p90": round(pick(0.9), 4),
            "p99": round(pick(0.99), 4), "max": round(xs[-1], 4),
            "mean": round(statistics.mean(xs), 4)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--cycles", type=int, default=3, help="kill -9 cycles per mode")
    p.add_argument("--modes", default="sync,interval:50")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--writers", type=int, default=3)
    p.add_argument("--readers", type=int, default=2)
    p.add_argument("--min-load-s", type=float, default=0.2)
    p.add_argument("--max-load-s", type=float, default=1.5)
    p.add_argument("--snapshot-every", type=int, default=5000)
    p.add_argument("--json", help="write the results here")
    p.add_argument("--work-dir", help="default: a temporary directory")
    p.add_argument("--keep", action="store_true", help="keep the data directories")
    p.add_argument("--stop-on-failure", action="store_true")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--check-the-checker", action="store_true",
                   help="record one event as acknowledged that was never sent: must fail")
    args = p.parse_args()
    work = args.work_dir or tempfile.mkdtemp(prefix="flywheel-kill-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(args.seed)
    started = time.time()
    results = []

    def publish(partial):
        if args.json:
            doc = {"partial": True, "seconds": round(time.time() - started, 1),
                   "seed": args.seed, "modes": results + [partial]}
            with open(args.json + ".tmp", "w") as f:
                json.dump(doc, f, indent=1)
            os.replace(args.json + ".tmp", args.json)

    try:
        for mode in args.modes.split(","):
            results.append(run_mode(args, mode, args.cycles, rng, work, publish))
    finally:
        for server in list(Server.live):  # after an error: no server outlives the bench
            if server.proc.poll() is None:
                server.kill()
    out = {"seconds": round(time.time() - started, 1), "seed": args.seed, "modes": results}
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    if not args.work_dir and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    bad = sum(r["failure_count"] for r in results)
    if any(r["events_acknowledged"] == 0 for r in results):
        print("no event was acknowledged: the load did not run", file=sys.stderr)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

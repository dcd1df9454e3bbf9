#!/usr/bin/env python3
"""Dashboard measurements (bench/results/dashboard.md, doc/dashboard.md).

1. Time to a rendered overview on loopback with a catalogue of --items items: headless Chromium
   (fresh profile each run: no cache) opens http://<server>/#/overview; the page marks
   `flywheel:ready:overview` once its numbers and charts are drawn from /v1/stats and
   /v1/stats/history; read through the DevTools protocol with the first contentful paint.
   Real time (no virtual-time budget), --runs runs, median and max.
   Before that, the wall time of the overview's two API requests and of two static files (50
   sequential requests each, from Python on loopback).
2. Server CPU added by one open dashboard: utime+stime of the server (/proc/PID/stat) over
   --seconds seconds with no page open, then with the overview open and polling, then again
   with no page; added = open - mean(before, after).

The data directory is filled with `flywheel ingest` (JSON Lines: --items distinct items, two
events each, from --users users), then --titled items get a title with PUT /v1/items.

  bench/dashboard_bench.py --binary build/release/bin/flywheel [--items 100000] [--seconds 60]
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from cdp import Chromium  # noqa: E402  (tests/e2e/cdp.py: DevTools protocol, stdlib only)


TIMINGS = """JSON.stringify({
  state: document.body.dataset.state, page: document.body.dataset.page,
  fcp: (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime ?? null,
  ready: (performance.getEntriesByName("flywheel:ready:overview")[0] || {}).startTime ?? null,
  errors: document.querySelectorAll("#fw-errors li").length})"""


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def call(url, method, path, body=None):
    req = urllib.request.Request(url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.loads(res.read() or b"null")


def fill(binary, data_dir, items, users, tmp):
    path = os.path.join(tmp, "events.jsonl")
    rng = random.Random(7)
    t0 = 1_700_000_000_000
    with open(path, "w") as f:
        for n in range(2 * items):
            item = n % items
            f.write(json.dumps({"user": f"u{rng.randrange(users)}", "item": f"i{item}",
                                "type": "view" if n % 3 else "click", "ts": t0 + n}) + "\n")
    start = time.time()
    subprocess.run([binary, "ingest", "--data-dir", data_dir, "--models", "pop", "--batch", "5000",
                    "--durability", "interval:100", path], check=True, stdout=subprocess.DEVNULL)
    return time.time() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="build/release/bin/flywheel")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--titled", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="flywheel-dashboard-bench-") as tmp:
        data_dir = os.path.join(tmp, "data")
        ingest_s = fill(args.binary, data_dir, args.items, args.users, tmp)
        server = subprocess.Popen([args.binary, "serve", "--data-dir", data_dir, "--port", "0"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            url = None
            for line in server.stdout:
                doc = json.loads(line) if line.startswith("{") else {}
                if doc.get("msg") == "listening":
                    url = "http://" + doc["address"]
                    break
            for i in range(args.titled):
                call(url, "PUT", f"/v1/items/i{i}", {"title": f"Item number {i}", "categories": ["c"]})
            stats = call(url, "GET", "/v1/stats")
            print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min)")
            print(f"catalogue: {stats['items']} items, {stats['users']} users, {stats['events']} "
                  f"events (ingest {ingest_s:.1f} s)", flush=True)
            time.sleep(5)  # a few history samples
            for path in ("/v1/stats", "/v1/stats/history", "/", "/ui/app.js"):
                times, size = [], 0
                for _ in range(50):
                    t = time.perf_counter()
                    with urllib.request.urlopen(url + path, timeout=60) as res:
                        size = len(res.read())
                    times.append((time.perf_counter() - t) * 1000)
                times.sort()
                print(f"GET {path}: {size} bytes, client-side median {statistics.median(times):.2f} ms, "
                      f"p90 {times[44]:.2f} ms (50 sequential requests)", flush=True)
            fcps, readies = [], []
            for run in range(args.runs):
                browser = Chromium(args.chromium, url + "/#/overview", os.path.join(tmp, f"p{run}"))
                try:
                    deadline = time.time() + 30
                    timings = {}
                    while time.time() < deadline:
                        timings = json.loads(browser.evaluate(TIMINGS) or "{}")
                        if timings.get("ready") is not None and timings.get("fcp") is not None:
                            break
                        time.sleep(0.05)
                    if timings.get("errors"):
                        raise RuntimeError(f"the page listed {timings['errors']} errors")
                    fcps.append(timings["fcp"])
                    readies.append(timings["ready"])
                    print(f"run {run + 1}: first contentful paint {timings['fcp']:.0f} ms, "
                          f"overview rendered {timings['ready']:.0f} ms", flush=True)
                finally:
                    browser.close()
            print(f"first contentful paint: median {statistics.median(fcps):.0f} ms, "
                  f"max {max(fcps):.0f} ms; overview rendered: median "
                  f"{statistics.median(readies):.0f} ms, max {max(readies):.0f} ms ({args.runs} runs)")

            def cpu_over(seconds):
                a, t = cpu_ticks(server.pid), time.time()
                time.sleep(seconds)
                return (cpu_ticks(server.pid) - a) / hz / (time.time() - t) * 100

            time.sleep(10)  # settle after the page loads above
            idle_before = cpu_over(args.seconds)
            browser = Chromium(args.chromium, url + "/#/overview", os.path.join(tmp, "poll"))
            try:
                time.sleep(3)
                polled = cpu_over(args.seconds)
                requests = json.loads(browser.evaluate(
                    'JSON.stringify(performance.getEntriesByType("resource")'
                    '.filter(e => e.name.includes("/v1/")).length)'))
            finally:
                browser.close()
            time.sleep(3)
            idle_after = cpu_over(args.seconds)
            idle = (idle_before + idle_after) / 2
            print(f"server CPU, % of one core over {args.seconds:.0f} s each: no page "
                  f"{idle_before:.3f} (before) and {idle_after:.3f} (after); overview open "
                  f"{polled:.3f} ({requests} API requests by the page, in "
                  f"{args.seconds + 3:.0f} s); added {polled - idle:.3f}")
        finally:
            server.terminate()
            server.wait(timeout=120)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

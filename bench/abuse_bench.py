#!/usr/bin/env python3
"""Issue 17's abuse target against `flywheel serve` on 127.0.0.1.

N unauthenticated connections (default 1,024) each send POST /v1/events announcing and
sending an 8 MiB body, over and over for the run; meanwhile one client makes authorised reads
(GET /v1/users/{id}/recommendations, read key) at a fixed rate, timed from their intended send
time (no coordinated omission). The server's RSS (VmRSS) is sampled every 20 ms.

Modes:
  auth    keys configured: the attackers have none (401 from the header, body never read).
  budget  no keys (loopback-only mode: every route open): the bodies are admitted up to the
          server-wide body budget (max_body_bytes_in_flight), the rest get 503 unread.

Prints one JSON line per mode: peak and after-run RSS, attacker responses by status, read
latency percentiles. --ci: 64 connections for 3 s (a smoke run, no targets asserted);
otherwise exits 1 when a target is missed (peak RSS > 256 MB or read p99 > 50 ms).

  python3 bench/abuse_bench.py --binary build/release/bin/flywheel [--ci] [--mode auth|budget|both]
"""
import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BODY_BYTES = 8 << 20
CHUNK = b" " * (256 << 10)
READ_KEY, WRITE_KEY = "bench-read-key", "bench-write-key"


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def start_server(binary, data_dir, keys):
    env = dict(os.environ)
    for name in ("FLYWHEEL_READ_KEY", "FLYWHEEL_WRITE_KEY", "FLYWHEEL_ADMIN_KEY"):
        env.pop(name, None)
    if keys:
        env["FLYWHEEL_READ_KEY"] = READ_KEY
        env["FLYWHEEL_WRITE_KEY"] = WRITE_KEY
    proc = subprocess.Popen(
        [binary, "serve", "--data-dir", data_dir, "--port", "0", "--models", "pop,itemknn",
         "--durability", "interval:100", "--log-level", "warn"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    line = proc.stdout.readline()
    address = json.loads(line)["address"]
    return proc, int(address.rsplit(":", 1)[1])


def request(port, method, path, body=None, key=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    conn.request(method, path, body=body, headers=headers)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, data


def seed(port, keys):
    events = [{"user": f"u{i % 50}", "item": f"i{(i * 7) % 200}", "type": "view",
               "ts": 1700000000000 + i} for i in range(2000)]
    status, data = request(port, "POST", "/v1/events", json.dumps({"events": events}),
                           WRITE_KEY if keys else None)
    assert status == 202, (status, data)


async def attacker(port, deadline, counts):
    header = (f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              f"Content-Length: {BODY_BYTES}\r\n\r\n").encode()
    while time.monotonic() < deadline:
        status = "error"
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            counts["connect_error"] = counts.get("connect_error", 0) + 1
            await asyncio.sleep(0.05)
            continue
        try:
            writer.write(header)
            sent = 0
            while sent < BODY_BYTES and not reader.at_eof():
                writer.write(CHUNK)
                await writer.drain()
                sent += len(CHUNK)
            line = await asyncio.wait_for(reader.readline(), 10)
            status = line.split(b" ")[1].decode() if line.count(b" ") >= 2 else "closed"
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
            status = "reset"
        finally:
            writer.close()
        counts[status] = counts.get(status, 0) + 1


def reader_process(port, keys, rate, deadline, out):
    # Its own process: in the attackers' process the reader would wait for the GIL behind the
    # asyncio loop, and that wait would be measured as server latency.
    latencies, statuses = [], {}
    reader_loop(port, keys, rate, deadline, latencies, statuses)
    out.send((latencies, statuses))
    out.close()


def reader_loop(port, keys, rate, deadline, latencies, statuses):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": "Bearer " + READ_KEY} if keys else {}
    interval = 1.0 / rate
    next_at = time.monotonic()
    i = 0
    while next_at < deadline:
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
        try:
            conn.request("GET", f"/v1/users/u{i % 50}/recommendations?k=10", headers=headers)
            res = conn.getresponse()
            res.read()
            statuses[res.status] = statuses.get(res.status, 0) + 1
        except (OSError, http.client.HTTPException):
            statuses["error"] = statuses.get("error", 0) + 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies.append((time.monotonic() - next_at) * 1000.0)  # from the intended send time
        next_at += interval
        i += 1


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))] if values else None


def run(args, mode):
    keys = mode == "auth"
    data_dir = tempfile.mkdtemp(prefix="abuse-bench-")
    proc, port = start_server(args.binary, data_dir, keys)
    try:
        seed(port, keys)
        time.sleep(0.5)
        rss_idle = rss_mb(proc.pid)
        samples = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                samples.append(rss_mb(proc.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        deadline = time.monotonic() + args.seconds
        counts = {}
        receive, send = multiprocessing.Pipe(duplex=False)
        # time.monotonic is system-wide on Linux: the child's deadline is the parent's.
        reader = multiprocessing.Process(target=reader_process,
                                         args=(port, keys, args.read_rate, deadline, send))
        reader.start()

        async def attack():
            await asyncio.gather(*(attacker(port, deadline, counts)
                                   for _ in range(args.connections)))

        asyncio.run(attack())
        latencies, statuses = receive.recv()
        reader.join()
        time.sleep(2.0)  # connections closed: what stays resident
        stop.set()
        sampler.join()
        result = {
            "mode": mode, "connections": args.connections, "seconds": args.seconds,
            "rss_idle_mb": round(rss_idle, 1), "rss_peak_mb": round(max(samples), 1),
            "rss_after_mb": round(rss_mb(proc.pid), 1),
            "attacker_responses": counts,
            "reads": len(latencies), "read_statuses": {str(k): v for k, v in statuses.items()},
            "read_p50_ms": round(percentile(latencies, 50), 2),
            "read_p99_ms": round(percentile(latencies, 99), 2),
            "read_max_ms": round(max(latencies), 2),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="build/release/bin/flywheel")
    parser.add_argument("--mode", choices=["auth", "budget", "both"], default="both")
    parser.add_argument("--connections", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--read-rate", type=float, default=200, help="authorised reads per s")
    parser.add_argument("--ci", action="store_true", help="64 connections for 3 s, no targets")
    args = parser.parse_args()
    if args.ci:
        args.connections, args.seconds = 64, 3
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))  # the server inherits it
    ok = True
    for mode in (["auth", "budget"] if args.mode == "both" else [args.mode]):
        result = run(args, mode)
        print(json.dumps(result), flush=True)
        ok = ok and result["rss_peak_mb"] <= 256 and result["read_p99_ms"] <= 50
    return 0 if ok or args.ci else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Webhook delivery speed: a release `latchkey` on SQLite (or DATABASE_URL) with a loopback
receiver allowlisted.

1. Change-to-first-attempt latency: N changes one after the other (`POST /v1/bots`), each
   timed from just before the request is sent to the delivery's arrival at the receiver
   (so it includes the request itself; the job is woken by the commit, not by a poll).
2. Deliveries per second: the team gets 16 endpoints (the limit) on the receiver, M changes are
   made as fast as one client can, and the receiver counts 16 × M deliveries; the rate is
   deliveries / (last arrival − first arrival).

  python3 bench/webhook_deliveries.py [--latency 300] [--changes 400] [--binary PATH]
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "contract"))

ARRIVALS = {}  # webhook-id -> first arrival (perf_counter)
COUNT = [0]
TIMES = []  # every arrival
LOCK = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_POST(self):  # noqa: N802 (http.server's naming)
        now = time.perf_counter()
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with LOCK:
            COUNT[0] += 1
            TIMES.append(now)
            ARRIVALS.setdefault(self.headers["webhook-id"], now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def percentiles(samples):
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return statistics.median(s), pick(0.95), pick(0.99)


def wait_for(predicate, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if predicate():
            return True
        time.sleep(0.002)
    return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--latency", type=int, default=300)
    p.add_argument("--changes", type=int, default=400)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    p.add_argument("--binary", default=os.path.join(target, "release", "latchkey"))
    args = p.parse_args()
    os.environ["LATCHKEY_BIN"] = args.binary
    os.environ["LATCHKEY_OUTBOUND_ALLOW_CIDRS"] = "127.0.0.1/32"
    from harness import BASE, Latchkey, create_key  # noqa: E402 (reads the environment above)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver = f"http://127.0.0.1:{server.server_address[1]}"

    with Latchkey() as lk:
        key = create_key(lk.session, lk.teams[0], "bench", ["admin"])
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {key}"

        def endpoint(path, events=None):
            body = {"url": f"{receiver}/{path}"}
            if events:
                body["event_types"] = events
            r = api.post(f"{BASE}/v1/webhook-endpoints", json=body)
            r.raise_for_status()

        def bot(name):
            r = api.post(f"{BASE}/v1/bots", json={"name": name})
            if r.status_code != 201:
                raise SystemExit(f"{r.status_code} {r.text[:300]}")

        # 1. Latency, one endpoint.
        endpoint("latency", ["bot.created"])
        for i in range(30):  # warm-up
            bot(f"warm {i}")
        wait_for(lambda: COUNT[0] >= 30, 10)
        latencies = []
        for i in range(args.latency):
            with LOCK:
                before = set(ARRIVALS)
            t = time.perf_counter()
            bot(f"latency {i}")
            if not wait_for(lambda: len(ARRIVALS) > len(before), 10):
                raise SystemExit("a delivery did not arrive within 10 s")
            with LOCK:
                new = [v for k, v in ARRIVALS.items() if k not in before]
            latencies.append((min(new) - t) * 1000)

        # 2. Throughput, 16 endpoints (the one above and 15 more).
        for n in range(15):
            endpoint(f"fan/{n}", ["bot.created"])
        with LOCK:
            start_count = COUNT[0]
            TIMES.clear()
        t0 = time.perf_counter()
        for i in range(args.changes):
            bot(f"burst {i}")
        made = time.perf_counter() - t0
        expected = 16 * args.changes
        if not wait_for(lambda: COUNT[0] - start_count >= expected, 120):
            raise SystemExit(f"only {COUNT[0] - start_count} of {expected} deliveries arrived")
        span = max(TIMES) - min(TIMES)
    server.shutdown()
    lp = percentiles(latencies)
    print(f"release build {args.binary}")
    print(f"change-to-first-attempt ({args.latency} changes): p50 {lp[0]:.2f} ms  p95 {lp[1]:.2f} ms  p99 {lp[2]:.2f} ms")
    print(f"throughput: {args.changes} changes in {made:.2f} s → {expected} deliveries in {span:.2f} s "
          f"= {expected / span:.0f} deliveries/s")


if __name__ == "__main__":
    main()

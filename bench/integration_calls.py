#!/usr/bin/env python3
"""Latency that `POST /v1/integrations/{id}/requests` adds over calling the same loopback
receiver directly. A release `latchkey` on SQLite with the receiver's address allowlisted; a
custom integration (bearer credential) pointing at the receiver; then, one after the other on
keep-alive connections, N direct GETs to the receiver and N calls through Latchkey (each
unsealing the credential, injecting it, sending through the guarded client, scrubbing the
answer). Prints p50 / p95 / p99 of both and the difference of the medians.

  python3 bench/integration_calls.py [--requests 2000] [--binary PATH]
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

BODY = json.dumps({"order": {"id": "1001", "financial_status": "paid", "fulfillment_status": None}}).encode()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer, sent at once: headers and body in separate small writes would
    # meet the client's delayed ACK (a 40 ms stall per request that measures nothing of ours).
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


def percentiles(samples):
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return statistics.median(s), pick(0.95), pick(0.99)


def timed(n, call):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000)
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    p.add_argument("--binary", default=os.path.join(target, "release", "latchkey"))
    args = p.parse_args()
    os.environ["LATCHKEY_BIN"] = args.binary
    os.environ["LATCHKEY_OUTBOUND_ALLOW_CIDRS"] = "127.0.0.1/32"
    from harness import BASE, Latchkey, create_key  # noqa: E402 (reads the environment above)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver = f"http://127.0.0.1:{server.server_address[1]}"

    with Latchkey() as lk:
        key = create_key(lk.session, lk.teams[0], "bench", ["integrations:write"])
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {key}"
        r = api.post(f"{BASE}/v1/integrations", json={
            "provider": "custom", "name": "Orders", "base_url": receiver,
            "credential": {"token": "bench-token-0123456789"}})
        r.raise_for_status()
        url = f"{BASE}/v1/integrations/{r.json()['id']}/requests"
        body = {"method": "GET", "path": "/orders/1001.json"}
        direct = requests.Session()

        def through():
            res = api.post(url, json=body)
            if res.status_code != 200 or res.json()["status"] != 200:
                raise SystemExit(f"{res.status_code} {res.text[:300]}")

        def straight():
            res = direct.get(f"{receiver}/orders/1001.json", headers={"Authorization": "Bearer x"})
            if res.status_code != 200:
                raise SystemExit(f"direct: {res.status_code}")

        for _ in range(200):  # warm-up: connections, caches, allocator
            straight()
            through()
        a = timed(args.requests, straight)
        b = timed(args.requests, through)
    server.shutdown()
    da, db = percentiles(a), percentiles(b)
    print(f"requests: {args.requests} each, sequential, keep-alive, release build {args.binary}")
    print(f"direct to the receiver       p50 {da[0]:.3f} ms  p95 {da[1]:.3f} ms  p99 {da[2]:.3f} ms")
    print(f"through /v1/.../requests     p50 {db[0]:.3f} ms  p95 {db[1]:.3f} ms  p99 {db[2]:.3f} ms")
    print(f"added by Latchkey            p50 {db[0] - da[0]:.3f} ms  p95 {db[1] - da[1]:.3f} ms")


if __name__ == "__main__":
    main()

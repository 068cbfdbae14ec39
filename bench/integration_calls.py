#!/usr/bin/env python3
"""Latency that `POST /v1/integrations/{id}/requests` adds over calling the same loopback
receiver directly. A release `latchkey` on SQLite with the receiver's address allowlisted; a
custom integration (bearer credential) pointing at the receiver; then, one after the other on
keep-alive connections, N direct GETs to the receiver and N calls through Latchkey (each
unsealing the credential, injecting it, sending through the guarded client, scrubbing the
answer). Prints p50 / p95 / p99 of both and the difference of the medians.

Then the same through two OAuth 2.0 (client credentials) integrations whose token endpoint is
the receiver's own `POST /token`: one whose tokens last an hour (a call uses the current token;
the script counts the token requests the N calls made), and one whose tokens are due for
renewal at once (`expires_in` 60 s, Latchkey renews 60 s before expiry), so that every call
pays one renewal: the cost of a refresh.

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


TOKEN_REQUESTS = {}


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer, sent at once: headers and body in separate small writes would
    # meet the client's delayed ACK (a 40 ms stall per request that measures nothing of ours).
    wbufsize = -1
    disable_nagle_algorithm = True

    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.answer(BODY)

    def do_POST(self):  # noqa: N802 — the token endpoint: /token/<seconds a token lasts>
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        lasts = int(self.path.rsplit("/", 1)[-1])
        TOKEN_REQUESTS[lasts] = TOKEN_REQUESTS.get(lasts, 0) + 1
        token = f"at-{lasts}-{TOKEN_REQUESTS[lasts]}"
        self.answer(json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": lasts}).encode())

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

        def oauth(lasts):
            r = api.post(f"{BASE}/v1/integrations", json={
                "provider": "custom", "name": f"OAuth {lasts}", "base_url": receiver,
                "oauth": {"grant_type": "client_credentials", "token_url": f"{receiver}/token/{lasts}",
                          "client_id": "bench", "client_secret": "bench-secret"}})
            r.raise_for_status()
            oauth_url = f"{BASE}/v1/integrations/{r.json()['id']}/requests"

            def call():
                res = api.post(oauth_url, json=body)
                if res.status_code != 200 or res.json()["status"] != 200:
                    raise SystemExit(f"{res.status_code} {res.text[:300]}")
            return call

        current, renewing = oauth(3600), oauth(60)
        for _ in range(200):  # warm-up: connections, caches, allocator
            straight()
            through()
            current()
        warm = dict(TOKEN_REQUESTS)
        a = timed(args.requests, straight)
        b = timed(args.requests, through)
        c = timed(args.requests, current)
        d = timed(args.requests, renewing)
    server.shutdown()
    da, db, dc, dd = percentiles(a), percentiles(b), percentiles(c), percentiles(d)
    print(f"requests: {args.requests} each, sequential, keep-alive, release build {args.binary}")
    print(f"direct to the receiver         p50 {da[0]:.3f} ms  p95 {da[1]:.3f} ms  p99 {da[2]:.3f} ms")
    print(f"static credential via Latchkey p50 {db[0]:.3f} ms  p95 {db[1]:.3f} ms  p99 {db[2]:.3f} ms")
    print(f"OAuth, current token           p50 {dc[0]:.3f} ms  p95 {dc[1]:.3f} ms  p99 {dc[2]:.3f} ms")
    print(f"OAuth, renewed on every call   p50 {dd[0]:.3f} ms  p95 {dd[1]:.3f} ms  p99 {dd[2]:.3f} ms")
    print(f"added by Latchkey (static)     p50 {db[0] - da[0]:.3f} ms  p95 {db[1] - da[1]:.3f} ms")
    print(f"added by Latchkey (OAuth)      p50 {dc[0] - da[0]:.3f} ms  p95 {dc[1] - da[1]:.3f} ms")
    print(f"a renewal costs                p50 {dd[0] - dc[0]:.3f} ms  p95 {dd[1] - dc[1]:.3f} ms")
    print(f"token requests: current-token integration {TOKEN_REQUESTS.get(3600, 0)} "
          f"(during the measured calls: {TOKEN_REQUESTS.get(3600, 0) - warm.get(3600, 0)}); "
          f"renewing integration {TOKEN_REQUESTS.get(60, 0)}")


if __name__ == "__main__":
    main()

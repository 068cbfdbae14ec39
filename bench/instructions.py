#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: /healthz and the cached
/v1/me on one SQLite server. Unlike wall-clock throughput on a shared machine, the count is
repeatable, so it shows what a change to the hot path saved. It counts user-space work of the
server only (no kernel, no load generator), and SHA-256 runs in software under valgrind (the
real CPU uses its SHA instructions), so it complements bench/run.py rather than replacing it.

  python3 bench/instructions.py [--requests 3000] [--binary path/to/latchkey]
"""

import argparse
import glob
import http.client
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402

PORT = 18092


def drive(path, keys, count):
    conn = http.client.HTTPConnection("127.0.0.1", PORT)
    for i in range(count):
        conn.request("GET", path, headers={"Authorization": "Bearer " + keys[i % len(keys)]})
        res = conn.getresponse()
        body = res.read()
        if res.status != 200:
            raise SystemExit(f"{path}: {res.status} {body[:200]!r}")
    conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--binary", default=run.binary(), help="another build, e.g. of an earlier commit")
    args = p.parse_args()
    run.binary = lambda: args.binary
    workdir = tempfile.mkdtemp(prefix="latchkey-instr-")
    db = f"sqlite://{workdir}/bench.db"
    keys_file = os.path.join(workdir, "keys.txt")
    run.PINNED = False
    first = run.Server(db, workdir, PORT, "on", first=True)
    try:
        run.bootstrap(first)
        subprocess.run([sys.executable, os.path.join(HERE, "seed_keys.py"), "--db", db, "--team", "bench",
                        "--real", "10000", "--out", keys_file], check=True)
    finally:
        first.stop()
    keys = [line.strip() for line in open(keys_file)]
    env = dict(os.environ, DATABASE_URL=db, LATCHKEY_DATA_DIR=workdir, LATCHKEY_BIND=f"127.0.0.1:{PORT}",
               LATCHKEY_PUBLIC_URL=f"http://127.0.0.1:{PORT}", LATCHKEY_COOKIE_SECURE="false",
               LATCHKEY_KEY_CACHE="on", LATCHKEY_WORKERS="1", LATCHKEY_USAGE_FLUSH_SECONDS="3600",
               RUST_LOG="error", **run.SHARED_KEYS)
    out = os.path.join(workdir, "callgrind.out")
    server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", run.binary()],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            try:
                drive("/healthz", keys, 1)
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("latchkey did not start under valgrind")
                time.sleep(0.5)
        # Warm-up: every key once (fills the cache), then the measured runs.
        drive("/healthz", keys, 300)
        drive("/v1/me", keys, len(keys))
        counts = {}
        for path in ["/healthz", "/v1/me"]:
            subprocess.run(["callgrind_control", "--zero", str(server.pid)], check=True, capture_output=True)
            drive(path, keys, args.requests)
            subprocess.run(["callgrind_control", "--dump=" + path, str(server.pid)], check=True, capture_output=True)
            dumps = sorted(glob.glob(out + ".*"), key=os.path.getmtime)
            with open(dumps[-1]) as f:
                total = next(int(line.split()[1]) for line in f if line.startswith("summary:"))
            counts[path] = total / args.requests
    finally:
        server.terminate()
        server.wait(timeout=30)
    h, m = counts["/healthz"], counts["/v1/me"]
    print(f"/healthz          {h:>9,.0f} instructions per request")
    print(f"/v1/me (cached)   {m:>9,.0f} instructions per request")
    print(f"added by the key check and /v1/me: {m - h:,.0f}")


if __name__ == "__main__":
    main()

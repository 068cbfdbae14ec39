#!/usr/bin/env python3
"""Does a storm of sign-ins slow the API? `GET /v1/me` latency (wrk, p50/p99) alone, then while
200 clients sign in over and over (each sign-in is one argon2id verification with the
production parameters). Run against SQLite (key cache on) and PostgreSQL (cache off, so every
key check is a database read on the same thread pool the hashing used to share).

  python3 bench/signin_storm.py [--duration 10] [--signers 200] [--backends sqlite,postgres]
                                [--binary target/release/latchkey]

Needs wrk and a release build. Prints one row per backend and phase.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "contract"))
from harness import csrf  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery staple"


def start(binary, db, workdir, port, cache):
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DATABASE_URL=db, LATCHKEY_DATA_DIR=workdir, LATCHKEY_BIND=f"127.0.0.1:{port}",
               LATCHKEY_PUBLIC_URL=base, LATCHKEY_COOKIE_SECURE="false", LATCHKEY_KEY_CACHE=cache,
               RUST_LOG="error", LATCHKEY_NOT_FOUND_LIMIT="0", LATCHKEY_FAILED_KEY_LIMIT="0")
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    link = None
    while link is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("latchkey exited before printing its set-up link")
        m = re.search(r"(http://\S+/setup\?token=[A-Za-z0-9]+)", line)
        link = m.group(1) if m else None
    s = requests.Session()
    page = s.get(link)
    s.post(base + "/setup", allow_redirects=False, headers={"Origin": base},
           data={"csrf_token": csrf(page.text), "token": link.split("token=")[1], "name": "Bench",
                 "email": "bench@example.com", "password": PASSWORD, "team": "Bench"})
    settings = s.get(base + "/teams/bench/settings")
    s.post(base + "/teams/bench/settings", headers={"Origin": base},
           data={"csrf_token": csrf(settings.text), "name": "Bench", "rate_limit": "1000000"})
    page = s.get(base + "/teams/bench/settings/api-keys/new")
    r = s.post(base + "/teams/bench/settings/api-keys", headers={"Origin": base},
               data=[("csrf_token", csrf(page.text)), ("name", "bench"), ("mode", "live"), ("expiry", "never"),
                     ("scopes", "admin")])
    key = re.search(r'value="(sk_[^"]+)"[^>]*data-testid="revealed-key"', r.text).group(1)
    return proc, base, key


def wrk(base, key, duration):
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{duration}s", "--latency", "-H", f"Authorization: Bearer {key}",
                          base + "/v1/me"], capture_output=True, text=True, check=True).stdout

    def pct(p):
        m = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)", out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": pct(50), "p99": pct(99)}


def storm(base, signers, stop, counts, lock):
    def one():
        s = requests.Session()
        while not stop.is_set():
            try:
                page = s.get(base + "/login", timeout=30)
                r = s.post(base + "/login", allow_redirects=False, headers={"Origin": base}, timeout=30,
                           data={"csrf_token": csrf(page.text), "email": "bench@example.com",
                                 "password": PASSWORD, "next": "/"})
                status = r.status_code
            except Exception:  # noqa: BLE001 - a refused connection counts as a failure
                status = 0
            with lock:
                counts[status] = counts.get(status, 0) + 1
            s.cookies.clear()

    threads = [threading.Thread(target=one, daemon=True) for _ in range(signers)]
    for t in threads:
        t.start()
    return threads


def run(backend, args):
    workdir = tempfile.mkdtemp(prefix=f"latchkey-storm-{backend}-")
    if backend == "sqlite":
        db, cache = f"sqlite://{workdir}/storm.db", "on"
    else:
        name = f"latchkey_storm_{int(time.time())}"
        subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        db, cache = PG_ADMIN.rsplit("/", 1)[0] + "/" + name, "off"
    proc, base, key = start(args.binary, db, workdir, 18090, cache)
    try:
        quiet = wrk(base, key, args.duration)
        stop, counts, lock = threading.Event(), {}, threading.Lock()
        threads = storm(base, args.signers, stop, counts, lock)
        time.sleep(2)  # let the storm build up
        with lock:
            counts.clear()
        t0 = time.time()
        loud = wrk(base, key, args.duration)
        with lock:
            signins = dict(counts)
        elapsed = time.time() - t0
        stop.set()
        for t in threads:
            t.join(timeout=35)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if backend == "postgres":
            subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
    done = signins.get(303, 0)
    print(f"| {backend} | quiet | {quiet['rps']:.0f} | {quiet['p50']:.2f} | {quiet['p99']:.2f} | – |")
    print(f"| {backend} | {args.signers} signing in | {loud['rps']:.0f} | {loud['p50']:.2f} | {loud['p99']:.2f} | "
          f"{done / elapsed:.0f}/s signed in, other statuses {{{', '.join(f'{k}: {v}' for k, v in sorted(signins.items()) if k != 303)}}} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--signers", type=int, default=200)
    p.add_argument("--backends", default="sqlite,postgres")
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    p.add_argument("--binary", default=os.path.join(target, "release", "latchkey"))
    args = p.parse_args()
    print("| backend | phase | /v1/me req/s | p50 ms | p99 ms | sign-ins |")
    print("|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Throughput of the key check, as ratios against an unauthenticated endpoint on the same server.

For each backend: two release `latchkey` servers share one fresh database — A with the default
settings (key cache on; on PostgreSQL that is a node holding a lease, as in a multi-node
deployment), B with the cache off (forced database lookup) — 10,000 real keys are seeded, and
each round runs, back to back, wrk against A /healthz, A /v1/me, B /healthz, B /v1/me (every
/v1/me request with the next of the 10,000 keys). With `--redis`, a third server C (defaults plus
LATCHKEY_REDIS_URL, the machine's Redis) is measured too: its added CPU per request over A's is
what the shared limiter costs the node, and Redis's own CPU per request is reported beside it. Rounds repeat, then 990,000 filler keys are added and the rounds
run again. Reported per round: authenticated ÷ /healthz throughput, p99 latency, and server CPU
per request (from /proc, so machine noise cancels within a round). The machine is shared: read
ratios, not absolute numbers.

The load generator runs on the same 2-core machine, so by default the server is pinned to CPU 0
(one worker) and wrk to CPU 1 (`taskset`): each gets a core of its own, instead of three busy
threads taking turns on two cores, whose context switches were charged to whichever endpoint
did more work per request. `--unpinned` runs the old way (two workers, no pinning).

  python3 bench/run.py [--rounds 3] [--duration 5] [--backends sqlite,postgres] [--filler 990000]
                       [--unpinned] [--redis]
"""

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "contract"))
from harness import csrf  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
TICKS = os.sysconf("SC_CLK_TCK")


def binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "release", "latchkey")


PINNED = True


def pin(cpu):
    return ["taskset", "-c", str(cpu)] if PINNED else []


REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# Several nodes on PostgreSQL share these (a node refuses to start without them); every
# benchmark server uses them, so a restarted one opens what an earlier one sealed.
SHARED_KEYS = {"LATCHKEY_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
               "LATCHKEY_MASTER_KEY": "0707070707070707070707070707070707070707070707070707070707070707"}


class Server:
    def __init__(self, db, workdir, port, cache, first=False, redis=False, extra_env=None):
        self.base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, DATABASE_URL=db, LATCHKEY_DATA_DIR=workdir, LATCHKEY_BIND=f"127.0.0.1:{port}",
                   LATCHKEY_PUBLIC_URL=self.base, LATCHKEY_COOKIE_SECURE="false", LATCHKEY_KEY_CACHE=cache,
                   LATCHKEY_WORKERS="1" if PINNED else "2", RUST_LOG="error",
                   LATCHKEY_USAGE_FLUSH_SECONDS=os.environ.get("BENCH_FLUSH_SECONDS", "5"),
                   # wrk's 32 connections come from one address.
                   LATCHKEY_CONNECTIONS_PER_ADDRESS="0", **SHARED_KEYS)
        if redis:
            env["LATCHKEY_REDIS_URL"] = REDIS_URL
        env.update(extra_env or {})
        try:
            requests.get(self.base + "/healthz", timeout=1)
            raise SystemExit(f"port {port} is already in use; stop the old latchkey first")
        except requests.ConnectionError:
            pass
        # Only a server on an empty database prints the one-time set-up link; read until it.
        self.proc = subprocess.Popen(pin(0) + [binary()], env=env, stdout=subprocess.PIPE if first else subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, text=True)
        self.link = None
        while first and self.link is None:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("latchkey exited before printing its set-up link")
            m = re.search(r"(http://\S+/setup\?token=[A-Za-z0-9]+)", line)
            self.link = m.group(1) if m else None
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def bootstrap(server):
    s = requests.Session()
    page = s.get(server.link)
    s.post(server.base + "/setup", allow_redirects=False, headers={"Origin": server.base},
           data={"csrf_token": csrf(page.text), "token": server.link.split("token=")[1], "name": "Bench",
                 "email": "bench@example.com", "password": "correct horse battery staple", "team": "Bench"})
    settings = s.get(server.base + "/teams/bench/settings")
    s.post(server.base + "/teams/bench/settings", headers={"Origin": server.base},
           data={"csrf_token": csrf(settings.text), "name": "Bench", "rate_limit": "100000"})


def redis_cpu_seconds():
    """CPU seconds of the Redis server so far (its pid from INFO), or 0 when not readable."""
    try:
        info = subprocess.run(["redis-cli", "-u", REDIS_URL, "info", "server"], capture_output=True, text=True).stdout
        pid = re.search(r"process_id:(\d+)", info).group(1)
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (AttributeError, OSError):
        return 0.0


def wrk(server, path, keys_file, duration, connections):
    # Both endpoints get the same Lua script and headers: wrk's own per-request work shares the
    # two cores with the server, so only then does the ratio compare server work alone.
    cmd = pin(1) + ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", os.path.join(HERE, "keys.lua")]
    cpu0, redis0 = server.cpu_seconds(), redis_cpu_seconds()
    out = subprocess.run(cmd + [server.base + path], env=dict(os.environ, KEYS_FILE=keys_file, BENCH_PATH=path),
                         capture_output=True, text=True, check=True).stdout
    cpu = server.cpu_seconds() - cpu0
    redis_cpu = redis_cpu_seconds() - redis0
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{path} got {non2xx.group(1)} error responses:\n{out}")
    return {"rps": rps, "p99_ms": p99_ms, "cpu_us_per_req": cpu / total * 1e6,
            "redis_cpu_us_per_req": redis_cpu / total * 1e6}


def run_backend(backend, args):
    workdir = tempfile.mkdtemp(prefix=f"latchkey-bench-{backend}-")
    if backend == "sqlite":
        db = f"sqlite://{workdir}/bench.db"
    else:
        name = "latchkey_bench_" + secrets.token_hex(4)
        subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        db = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    keys_file = os.path.join(workdir, "keys.txt")
    a = Server(db, workdir, 18090, "on", first=True)
    servers = []
    try:
        servers.append(a)
        bootstrap(a)
        subprocess.run([sys.executable, os.path.join(HERE, "seed_keys.py"), "--db", db, "--team", "bench",
                        "--real", "10000", "--out", keys_file], check=True)
        b = Server(db, workdir, 18091, "off")
        servers.append(b)
        c = None
        if args.redis:
            c = Server(db, workdir, 18092, "auto", redis=True)
            servers.append(c)
        results = []
        for size, filler in [("10k", 0), ("1M", args.filler)]:
            if filler:
                subprocess.run([sys.executable, os.path.join(HERE, "seed_keys.py"), "--db", db, "--team", "bench",
                                "--filler", str(filler)], check=True)
                if backend == "sqlite":
                    subprocess.run([sys.executable, "-c", f"import sqlite3; sqlite3.connect('{workdir}/bench.db').execute('ANALYZE')"], check=True)
                else:
                    # A bulk-loaded table is vacuumed now, not by autovacuum in the middle of a round.
                    subprocess.run(["psql", db, "-qc", "VACUUM ANALYZE api_keys"], check=True)
            for srv in [s for s in (a, b, c) if s]:  # warm-up: caches, pools, page cache
                wrk(srv, "/v1/me", keys_file, 2, args.connections)
            for r in range(1, args.rounds + 1):
                row = {"backend": backend, "keys": size, "round": r}
                for label, srv, path in [("healthz_a", a, "/healthz"), ("me_cache", a, "/v1/me"),
                                         ("healthz_b", b, "/healthz"), ("me_nocache", b, "/v1/me")]:
                    row[label] = wrk(srv, path, keys_file, args.duration, args.connections)
                row["ratio_cache"] = row["me_cache"]["rps"] / row["healthz_a"]["rps"]
                row["ratio_nocache"] = row["me_nocache"]["rps"] / row["healthz_b"]["rps"]
                row["added_cpu_us_cache"] = row["me_cache"]["cpu_us_per_req"] - row["healthz_a"]["cpu_us_per_req"]
                row["added_cpu_us_nocache"] = row["me_nocache"]["cpu_us_per_req"] - row["healthz_b"]["cpu_us_per_req"]
                if c:
                    row["me_redis"] = wrk(c, "/v1/me", keys_file, args.duration, args.connections)
                    row["ratio_redis"] = row["me_redis"]["rps"] / row["healthz_a"]["rps"]
                    row["redis_added_cpu_us"] = row["me_redis"]["cpu_us_per_req"] - row["me_cache"]["cpu_us_per_req"]
                print(json.dumps(row), flush=True)
                results.append(row)
        return results
    finally:
        for srv in servers:
            srv.stop()
        if backend != "sqlite":
            subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def table(results):
    lines = ["| backend | keys | round | /healthz req/s | /v1/me cached req/s | ratio cached | /v1/me uncached req/s | ratio uncached | p99 cached / uncached (ms) | added CPU µs/req cached / uncached |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['backend']} | {r['keys']} | {r['round']} | {r['healthz_a']['rps']:.0f} | {r['me_cache']['rps']:.0f} | "
                     f"**{r['ratio_cache']:.2f}** | {r['me_nocache']['rps']:.0f} | **{r['ratio_nocache']:.2f}** | "
                     f"{r['me_cache']['p99_ms']:.2f} / {r['me_nocache']['p99_ms']:.2f} | "
                     f"{r['added_cpu_us_cache']:.1f} / {r['added_cpu_us_nocache']:.1f} |")
    # The machine is shared: one round can be disturbed, so the medians are what to compare.
    lines += ["", "| backend | keys | rounds | median ratio cached | median added CPU µs/req cached | median ratio uncached |",
              "|---|---|---|---|---|---|"]
    groups = {}
    for r in results:
        groups.setdefault((r["backend"], r["keys"]), []).append(r)
    for (backend, keys), rows in groups.items():
        lines.append(f"| {backend} | {keys} | {len(rows)} | **{statistics.median(r['ratio_cache'] for r in rows):.2f}** | "
                     f"{statistics.median(r['added_cpu_us_cache'] for r in rows):.1f} | "
                     f"{statistics.median(r['ratio_nocache'] for r in rows):.2f} |")
    if any("me_redis" in r for r in results):
        lines += ["", "| backend | keys | round | /v1/me with Redis req/s | ratio | node CPU µs/req added by the Redis limiter | Redis's own CPU µs/req | p99 (ms) |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in results:
            if "me_redis" in r:
                lines.append(f"| {r['backend']} | {r['keys']} | {r['round']} | {r['me_redis']['rps']:.0f} | **{r['ratio_redis']:.2f}** | "
                             f"{r['redis_added_cpu_us']:.1f} | {r['me_redis']['redis_cpu_us_per_req']:.1f} | {r['me_redis']['p99_ms']:.2f} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--filler", type=int, default=990_000)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--unpinned", action="store_true", help="two workers, no CPU pinning (the method before 2026-11-27)")
    p.add_argument("--redis", action="store_true", help="also measure a server with LATCHKEY_REDIS_URL (BENCH_REDIS_URL)")
    args = p.parse_args()
    global PINNED
    PINNED = not args.unpinned
    results = []
    for backend in args.backends.split(","):
        results += run_backend(backend, args)
    print()
    print(table(results))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Two builds side by side in one run: `/v1/me` ÷ `/healthz` and the CPU the key check adds, for
a build before a change and one after it, on one fresh database with 10,000 real keys.

Both servers run the defaults (key cache on; on PostgreSQL a node with a lease and its
listener), pinned like `bench/run.py` (server on CPU 0, wrk on CPU 1), and use its `Server` and
`wrk`. Each round measures `/healthz` then `/v1/me` on one build, then on the other, the order
alternating, so the machine's drift hits both alike; the medians and quartiles over the rounds
are what to read.

  cargo build --release && cp "$CARGO_TARGET_DIR/release/latchkey" /tmp/latchkey-after
  git stash && cargo build --release && cp "$CARGO_TARGET_DIR/release/latchkey" /tmp/latchkey-before
  python3 bench/ab.py --before /tmp/latchkey-before --after /tmp/latchkey-after [--backend postgres]
                      [--rounds 16] [--duration 3]
"""

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return q[0], statistics.median(values), q[2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--before", required=True, help="the build before the change")
    p.add_argument("--after", required=True, help="the build after it")
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    p.add_argument("--rounds", type=int, default=16)
    p.add_argument("--duration", type=int, default=3)
    args = p.parse_args()
    run.PINNED = True
    workdir = tempfile.mkdtemp(prefix="latchkey-ab-")
    name = None
    if args.backend == "sqlite":
        db = f"sqlite://{workdir}/bench.db"
    else:
        name = "latchkey_ab_" + secrets.token_hex(4)
        subprocess.run(["psql", run.PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        db = run.PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    keys = os.path.join(workdir, "keys.txt")
    servers = {}
    try:
        run.binary = lambda: args.before
        servers["before"] = run.Server(db, workdir, 18090, "on", first=True)
        run.bootstrap(servers["before"])
        subprocess.run([sys.executable, os.path.join(HERE, "seed_keys.py"), "--db", db, "--team", "bench",
                        "--real", "10000", "--out", keys], check=True)
        run.binary = lambda: args.after
        servers["after"] = run.Server(db, workdir, 18091, "on")
        for srv in servers.values():  # warm-up: caches, pools
            run.wrk(srv, "/v1/me", keys, 2, 32)
        rows = {"before": [], "after": []}
        for r in range(args.rounds):
            order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
            for label in order:
                srv = servers[label]
                h = run.wrk(srv, "/healthz", keys, args.duration, 32)
                m = run.wrk(srv, "/v1/me", keys, args.duration, 32)
                ratio, added = m["rps"] / h["rps"], m["cpu_us_per_req"] - h["cpu_us_per_req"]
                rows[label].append((ratio, added))
                print(f"round {r + 1:>2} {label:<6} ratio {ratio:.2f}  added CPU {added:.1f} µs/req  "
                      f"(/healthz {h['rps']:.0f} req/s, /v1/me {m['rps']:.0f})", flush=True)
        print()
        print("| backend | build | median `/v1/me` ÷ `/healthz` | quartiles | median added CPU µs/req (quartiles) |")
        print("|---|---|---|---|---|")
        for label, binary in [("before", args.before), ("after", args.after)]:
            q1, med, q3 = quartiles([x[0] for x in rows[label]])
            a1, amed, a3 = quartiles([x[1] for x in rows[label]])
            print(f"| {args.backend} | {label} ({os.path.basename(binary)}) | **{med:.2f}** | {q1:.2f}–{q3:.2f} | "
                  f"**{amed:.1f}** ({a1:.1f}–{a3:.1f}) |")
    finally:
        for srv in servers.values():
            srv.stop()
        if name:
            subprocess.run(["psql", run.PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


if __name__ == "__main__":
    main()

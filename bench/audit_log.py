#!/usr/bin/env python3
"""The audit log at scale: a team with 1,000,000 audit events (ten actions, 100,000 each, spread
over a year), on SQLite and on PostgreSQL, served by a release `latchkey`.

Measured per backend:
- the audit page's first page (50 events, newest first), unfiltered and filtered by one action,
  by one key, and by a date range; and `GET /v1/audit-events` — server time as seen from the
  client over loopback: median and p95 of 30 sequential requests after 5 warm-ups;
- a 100,000-event NDJSON and CSV export (one action's events): time, bytes, and the server's
  resident memory growth while it streams (VmRSS sampled every 20 ms, peak minus before).

  python3 bench/audit_log.py [--events 1000000] [--backends sqlite,postgres] [--binary PATH]
"""

import argparse
import os
import re
import sqlite3
import statistics
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
ACTIONS = ["api_key.created", "api_key.updated", "api_key.rotated", "api_key.deleted", "bot.created",
           "bot.updated", "bot.deleted", "member.invited", "member.role_changed", "team.updated"]
PORT = 18093


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "release", "latchkey")


def start(binary, db, workdir):
    base = f"http://127.0.0.1:{PORT}"
    env = dict(os.environ, DATABASE_URL=db, LATCHKEY_DATA_DIR=workdir, LATCHKEY_BIND=f"127.0.0.1:{PORT}",
               LATCHKEY_PUBLIC_URL=base, LATCHKEY_COOKIE_SECURE="false", RUST_LOG="error",
               LATCHKEY_NOT_FOUND_LIMIT="0", LATCHKEY_FAILED_KEY_LIMIT="0")
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    link = None
    while link is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("latchkey exited before printing its set-up link")
        m = re.search(r"(http://\S+/setup\?token=[A-Za-z0-9]+)", line)
        link = m.group(1) if m else None
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    s = requests.Session()
    page = s.get(link)
    s.post(base + "/setup", allow_redirects=False, headers={"Origin": base},
           data={"csrf_token": csrf(page.text), "token": link.split("token=")[1], "name": "Bench",
                 "email": "bench@example.com", "password": PASSWORD, "team": "Bench"})
    settings = s.get(base + "/teams/bench/settings")
    s.post(base + "/teams/bench/settings", headers={"Origin": base},
           data={"csrf_token": csrf(settings.text), "name": "Bench", "rate_limit": "100000"})
    page = s.get(base + "/teams/bench/settings/api-keys/new")
    r = s.post(base + "/teams/bench/settings/api-keys", headers={"Origin": base},
               data=[("csrf_token", csrf(page.text)), ("name", "bench"), ("mode", "live"), ("expiry", "never"),
                     ("scopes", "admin")])
    key = re.search(r'value="(sk_[^"]+)"[^>]*data-testid="revealed-key"', r.text).group(1)
    return proc, base, s, key


# One row per event: ids sort like the server's (time-ordered), a tenth of them about one key.
SEED_SELECT = """
SELECT 'aud_' || {pad}, '{team}', NULL, {action}, 'user', NULL, NULL, NULL, 'Bench',
       'api_key', CASE WHEN n % 10 = 0 THEN 'key_benchbenchbenchbench' ELSE 'key_' || {pad20} END,
       'Key ' || n, '{{}}', '203.0.113.7', {now} - ({events} - n) * 31
"""


def seed_sqlite(path, team, events, now):
    con = sqlite3.connect(path)
    actions = "CASE n % 10 " + " ".join(f"WHEN {i} THEN '{a}'" for i, a in enumerate(ACTIONS)) + " END"
    select = SEED_SELECT.format(pad="printf('%020d', n)", pad20="printf('%020d', n)", team=team, action=actions,
                                now=now, events=events)
    con.execute("BEGIN")
    con.execute(f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {events}) "
                f"INSERT INTO audit_events {select} FROM s")
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


def seed_postgres(url, team, events, now):
    actions = "(ARRAY[" + ",".join(f"'{a}'" for a in ACTIONS) + "])[n % 10 + 1]"
    select = SEED_SELECT.format(pad="lpad(n::text, 20, '0')", pad20="lpad(n::text, 20, '0')", team=team,
                                action=actions, now=now, events=events)
    sql = f"INSERT INTO audit_events {select} FROM generate_series(1, {events}) AS n; ANALYZE audit_events;"
    subprocess.run(["psql", url, "-qc", sql], check=True)


def timed(session, url, headers=None, n=30):
    for _ in range(5):
        session.get(url, headers=headers).raise_for_status()
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        r = session.get(url, headers=headers)
        samples.append((time.perf_counter() - t) * 1000)
        r.raise_for_status()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def export(session, url, pid):
    before = rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    t = threading.Thread(target=sample)
    t.start()
    t0 = time.perf_counter()
    size, lines = 0, 0
    with session.get(url, stream=True) as r:
        r.raise_for_status()
        for chunk in r.iter_content(64 * 1024):
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - t0
    done.set()
    t.join()
    return elapsed, size, lines, (peak[0] - before) / 1024


def run(backend, args):
    workdir = tempfile.mkdtemp(prefix=f"latchkey-audit-{backend}-")
    name = None
    if backend == "sqlite":
        path = f"{workdir}/audit.db"
        db = f"sqlite://{path}"
    else:
        name = f"latchkey_audit_{int(time.time())}"
        subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        db = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    proc, base, s, key = start(args.binary, db, workdir)
    try:
        team = re.search(r'"team":\{"id":"([^"]+)"', s.get(base + "/v1/me", headers={"Authorization": f"Bearer {key}"}).text).group(1)
        now = int(time.time())
        t0 = time.time()
        if backend == "sqlite":
            seed_sqlite(path, team, args.events, now)
        else:
            seed_postgres(db, team, args.events, now)
        print(f"[{backend}] seeded {args.events} events in {time.time() - t0:.0f} s", file=sys.stderr)
        log = base + "/teams/bench/settings/audit-log"
        day = time.strftime("%Y-%m-%d", time.gmtime(now - 40 * 86400))
        auth = {"Authorization": f"Bearer {key}"}
        cases = [
            ("page, no filter", log, None),
            ("page, one action", log + "?action=api_key.rotated", None),
            ("page, one key", log + "?key=key_benchbenchbenchbench", None),
            ("page, one day 40 days ago", log + f"?from={day}&to={day}", None),
            ("GET /v1/audit-events", base + "/v1/audit-events?limit=50", auth),
            ("GET /v1/audit-events, one action", base + "/v1/audit-events?limit=50&action=bot.deleted", auth),
        ]
        for label, url, headers in cases:
            med, p95 = timed(s, url, headers)
            print(f"| {backend} | {label} | {med:.1f} | {p95:.1f} |")
        for fmt in ["ndjson", "csv"]:
            url = f"{log}/export.{fmt}?action=bot.created"
            elapsed, size, lines, growth = export(s, url, proc.pid)
            print(f"| {backend} | export {fmt}, {lines:,} lines | {elapsed:.1f} s | {size / 1e6:.1f} MB | "
                  f"RSS +{growth:.1f} MB |")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if name:
            subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--binary", default=default_binary())
    args = p.parse_args()
    print("| backend | request | median ms | p95 ms |\n|---|---|---|---|")
    for backend in args.backends.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

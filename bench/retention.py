#!/usr/bin/env python3
"""Retention at a million rows, and what it does to writers.

For each backend: a release `latchkey` on a fresh database with 1,000,000 hourly usage rows and
1,000,000 webhook rows (250,000 events, each with a delivery and two attempts), all recent.
A writer creates bots through the API for a few seconds (the baseline); the server is stopped,
every seeded row is made old enough to go (usage 401 days, events 31 days), and the server is
started again: its retention job prunes at start, in batches. The writer runs meanwhile.
Reported: how long the pruning took, rows per second, and the writer's latency (p50, p99, max)
before and during.

  python3 bench/retention.py [--backends sqlite,postgres] [--rows 1000000]
"""

import argparse
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "contract"))
sys.path.insert(0, HERE)
from run import Server, bootstrap  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DAY = 86_400


def sql(db, statement):
    if db.startswith("sqlite://"):
        con = sqlite3.connect(db[len("sqlite://"):], timeout=60)
        con.executescript(statement)
        con.commit()
        con.close()
    else:
        done = subprocess.run(["psql", db, "-qv", "ON_ERROR_STOP=1", "-c", statement], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"psql failed: {done.stderr}\n{statement}")


def count(db, table, where="TRUE"):
    if db.startswith("sqlite://"):
        con = sqlite3.connect(db[len("sqlite://"):], timeout=60)
        n = con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]
        con.close()
        return n
    out = subprocess.run(["psql", db, "-Atc", f"SELECT count(*) FROM {table} WHERE {where}"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def seeded_left(db):
    """Seeded rows not pruned yet (the writer's own rows are recent and stay)."""
    old_hour = int(time.time()) - 400 * DAY
    return (count(db, "api_key_usage", f"hour < {old_hour}") + count(db, "outbox_events", "id LIKE 'evt_b%'")
            + count(db, "webhook_deliveries", "id LIKE 'whd_b%'") + count(db, "webhook_attempts", "id LIKE 'wha_b%'"))


def seed(db, rows, key_id, endpoint_id, team_id):
    """`rows` usage rows and `rows` webhook rows (events, deliveries, two attempts each), recent."""
    now = int(time.time())
    events = rows // 4
    sqlite = db.startswith("sqlite://")
    series = ("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s"
              if sqlite else "SELECT generate_series(1, {n}) AS i")
    cat = "||"
    statements = [
        # Distinct hours for the one key: the usage table's key is (api_key_id, hour).
        f"INSERT INTO api_key_usage (api_key_id, hour, requests) "
        f"SELECT '{key_id}', {now} - CAST(i AS BIGINT) * 3600, 1 FROM ({series.format(n=rows)}) q",
        f"INSERT INTO audit_events (id, team_id, action, actor_kind, actor_label, created_at) "
        f"SELECT 'aud_b' {cat} i, '{team_id}', 'bot.created', 'system', 'Latchkey', {now} FROM ({series.format(n=events)}) q",
        f"INSERT INTO outbox_events (id, team_id, event_type, payload, audit_event_id, created_at, fanned_out_at) "
        f"SELECT 'evt_b' {cat} i, '{team_id}', 'bot.created', '{{}}', 'aud_b' {cat} i, {now}, {now} FROM ({series.format(n=events)}) q",
        f"INSERT INTO webhook_deliveries (id, endpoint_id, outbox_event_id, event_type, status, attempts, created_at) "
        f"SELECT 'whd_b' {cat} i, '{endpoint_id}', 'evt_b' {cat} i, 'bot.created', 'succeeded', 2, {now} FROM ({series.format(n=events)}) q",
        f"INSERT INTO webhook_attempts (id, delivery_id, attempt, at, latency_ms) "
        f"SELECT 'wha_b' {cat} i {cat} '_' {cat} a, 'whd_b' {cat} i, a, {now}, 5 FROM ({series.format(n=events)}) q, "
        f"(SELECT 1 AS a UNION ALL SELECT 2) t",
    ]
    for s in statements:
        sql(db, s)


def age(db, rows):
    """Makes every seeded row old enough to go."""
    sql(db, f"UPDATE api_key_usage SET hour = hour - {401 * DAY + rows * 3600};\n"
            f"UPDATE outbox_events SET created_at = created_at - 31 * {DAY}, fanned_out_at = fanned_out_at - 31 * {DAY} "
            f"WHERE id LIKE 'evt_b%';")


def writer(base, key, stop, out):
    s = requests.Session()
    while not stop.is_set():
        t0 = time.perf_counter()
        r = s.post(base + "/v1/bots", headers={"Authorization": f"Bearer {key}"}, json={"name": "w"})
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 201:
            raise SystemExit(f"writer got {r.status_code}: {r.text}")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))] if values else 0.0


def latencies(values):
    return {"n": len(values), "p50_ms": round(pct(values, 0.5), 2), "p99_ms": round(pct(values, 0.99), 2),
            "max_ms": round(max(values), 2) if values else 0.0}


def run_backend(backend, rows):
    workdir = tempfile.mkdtemp(prefix=f"latchkey-retention-{backend}-")
    if backend == "sqlite":
        db, name = f"sqlite://{workdir}/bench.db", None
    else:
        name = "latchkey_ret_" + secrets.token_hex(4)
        subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        db = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    server = Server(db, workdir, 18290, "auto", first=True)
    try:
        bootstrap(server)
        keys_file = os.path.join(workdir, "keys.txt")
        subprocess.run([sys.executable, os.path.join(HERE, "seed_keys.py"), "--db", db, "--team", "bench",
                        "--real", "1", "--out", keys_file], check=True)
        key = open(keys_file).read().strip()
        r = requests.post(server.base + "/v1/webhook-endpoints", headers={"Authorization": f"Bearer {key}"},
                          json={"url": "https://hooks.example.com/latchkey", "event_types": ["webhook.test"]})
        r.raise_for_status()
        endpoint = r.json()["id"]
        me = requests.get(server.base + "/v1/me", headers={"Authorization": f"Bearer {key}"}).json()
        key_id, team_id = me["api_key"]["id"], me["team"]["id"]
        t0 = time.time()
        seed(db, rows, key_id, endpoint, team_id)
        seeded = time.time() - t0
        stop, before = threading.Event(), []
        w = threading.Thread(target=writer, args=(server.base, key, stop, before))
        w.start()
        time.sleep(5)
        stop.set()
        w.join()
        server.stop()
        age(db, rows)
        total = seeded_left(db)
        server = Server(db, workdir, 18290, "auto")
        started = time.time()
        stop, during = threading.Event(), []
        w = threading.Thread(target=writer, args=(server.base, key, stop, during))
        w.start()
        while seeded_left(db) > 0:
            time.sleep(0.5)
            if time.time() - started > 900:
                raise SystemExit("retention did not finish in 15 minutes")
        took = time.time() - started
        stop.set()
        w.join()
        return {"backend": backend, "seeded_rows": total, "seed_s": round(seeded, 1), "prune_s": round(took, 1),
                "rows_per_s": round(total / took), "writer_before": latencies(before), "writer_during": latencies(during)}
    finally:
        server.stop()
        if name:
            subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    for backend in args.backends.split(","):
        print(json.dumps(run_backend(backend, args.rows)), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The key pages at scale: a team with 10,000 keys in a database of 1,000,000 keys, and an agency
with 500 clients, on SQLite and on PostgreSQL, served by a release `latchkey`.

Seeded straight into the database after a normal set-up: the bench team's 10,000 keys (ages up
to a year, a third never used, a fifth `admin`, some expiring, environment labels), 990,000
keys of 990 other teams, 48 hourly usage rows for each of the team's keys (480,000 rows) and
30 days of hourly rows for the key whose page is measured, its addresses, and the team's
hourly rollup; then an agency with 500 clients of 10 keys each.

Measured: server time as seen from the client over loopback, median and p95 of 30 sequential
requests after 5 warm-ups, for the keys list's first page, a search by name, a search by the
last four characters, the "needs attention" filter, expiring-soonest order, a second page,
a key's page with its charts, `GET /v1/api-keys` with a search, and the agency dashboard.

  python3 bench/key_pages.py [--keys 10000] [--total 1000000] [--backends sqlite,postgres]
"""

import argparse
import base64
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
PORT = 18094
HOT_KEY = "key_hotkeyhotkeyhotkeyho"


def default_binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
    return os.path.join(target, "release", "latchkey")


def start(binary, db, workdir):
    base = f"http://127.0.0.1:{PORT}"
    env = dict(os.environ, DATABASE_URL=db, LATCHKEY_DATA_DIR=workdir, LATCHKEY_BIND=f"127.0.0.1:{PORT}",
               LATCHKEY_PUBLIC_URL=base, LATCHKEY_COOKIE_SECURE="false", RUST_LOG="error",
               LATCHKEY_NOT_FOUND_LIMIT="0", LATCHKEY_FAILED_KEY_LIMIT="0",
               # PostgreSQL asks for the cluster's keys explicitly (every node needs the same).
               LATCHKEY_SECRET_KEY=base64.b64encode(os.urandom(48)).decode(),
               LATCHKEY_MASTER_KEY=base64.b64encode(os.urandom(32)).decode())
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
    page = s.get(base + "/teams/bench/settings/api-keys/new")
    r = s.post(base + "/teams/bench/settings/api-keys", headers={"Origin": base},
               data=[("csrf_token", csrf(page.text)), ("name", "bench"), ("mode", "live"), ("expiry", "never"),
                     ("scopes", "admin")])
    key = re.search(r'value="(sk_[^"]+)"[^>]*data-testid="revealed-key"', r.text).group(1)
    page = s.get(base + "/agencies/new")
    r = s.post(base + "/agencies/new", headers={"Origin": base}, allow_redirects=False,
               data={"csrf_token": csrf(page.text), "name": "Bench Agency"})
    agency = r.headers["location"].rsplit("/", 1)[1]
    return proc, base, s, key, agency


# The seed, in SQL both backends run; {series} yields n = 1..N, {pad} pads n to 20 digits.
def seed_statements(team, agency_id, user, keys, total, now, series, pad, mod, right):
    day = 86400
    other_teams = 990
    per_other = (total - keys) // other_teams
    clients = 500
    zeros = "'00000000000000000000'"
    o_team = right(f"{zeros} || (({mod('n', other_teams)}) + 1)", 20)
    digest = right("'" + "0" * 63 + "' || n", 63)
    name5 = right("'00000' || n", 5)
    head4 = right("'AAAA' || n", 4)
    tail4 = right("'zzzz' || n", 4)
    b_key = right(f"{zeros} || (({mod('n', keys)}) + 1)", 19)
    c_team = right(f"{zeros} || (({mod('n', clients)}) + 1)", 19)
    return [
        # The other teams, and their keys (random-looking digests, no usage).
        f"INSERT INTO teams (id, slug, name, created_at, rate_limit_per_minute, agency_id, suspended_at, "
        f"audit_retention_days) SELECT 'team_' || {pad}, 'other-' || n, 'Other ' || n, {now}, 600, NULL, NULL, 365 "
        f"FROM {series.format(n=other_teams)}",
        f"INSERT INTO api_keys (id, team_id, name, mode, environment, secret_digest, prefix, head, tail, scopes, "
        f"created_by, created_at) SELECT 'key_o' || substr({pad}, 2), 'team_' || "
        f"{o_team}, 'filler ' || n, 'live', NULL, "
        f"'f' || {digest}, 'sk_live_', 'fill', "
        f"'fill', 'bots:read', NULL, {now} - {mod('n', 365)} * {day} FROM {series.format(n=per_other * other_teams)}",
        # The bench team's keys: ages up to a year, every third never used, every fifth admin,
        # one in 50 expiring within a week, environment labels.
        f"INSERT INTO api_keys (id, team_id, name, mode, environment, secret_digest, prefix, head, tail, scopes, "
        f"created_by, created_at, expires_at, last_used_at, last_used_ip) SELECT 'key_b' || substr({pad}, 2), "
        f"'{team}', 'service-' || {name5}, CASE WHEN {mod('n', 4)} = 0 THEN 'test' ELSE 'live' END, "
        f"CASE {mod('n', 3)} WHEN 0 THEN 'prod' WHEN 1 THEN 'staging' ELSE NULL END, "
        f"'b' || {digest}, "
        f"'sk_live_', {head4}, {tail4}, "
        f"CASE WHEN {mod('n', 5)} = 0 THEN 'admin' ELSE 'bots:read bots:write' END, "
        f"CASE WHEN {mod('n', 2)} = 0 THEN '{user}' ELSE NULL END, {now} - {mod('n * 7919', 365)} * {day}, "
        f"CASE WHEN {mod('n', 50)} = 0 THEN {now} + {mod('n', 7)} * {day} + 3600 "
        f"WHEN {mod('n', 3)} = 1 THEN {now} + 90 * {day} ELSE NULL END, "
        f"CASE WHEN {mod('n', 3)} = 0 THEN NULL ELSE {now} - {mod('n * 31', 60)} * {day} END, "
        f"CASE WHEN {mod('n', 3)} = 0 THEN NULL ELSE '203.0.113.7' END FROM {series.format(n=keys)}",
        # The measured key, with 30 days of hours, addresses, and its creation event.
        f"INSERT INTO api_keys (id, team_id, name, mode, environment, secret_digest, prefix, head, tail, scopes, "
        f"created_by, created_at, last_used_at, last_used_ip) VALUES ('{HOT_KEY}', '{team}', 'hot key', 'live', "
        f"'prod', '{'e' * 64}', 'sk_live_prod_', 'HotK', 'eyyy', 'admin', '{user}', {now} - 200 * {day}, {now}, "
        f"'203.0.113.7')",
        f"INSERT INTO api_key_usage (api_key_id, hour, requests, refused_scope, refused_address, refused_rate, "
        f"refused_expired) SELECT '{HOT_KEY}', {now} - {mod(str(now), 3600)} - (n - 1) * 3600, 1000 + n, "
        f"{mod('n', 7)}, 0, {mod('n', 11)}, 0 FROM {series.format(n=30 * 24)}",
        # 48 hours of usage for every key of the bench team.
        f"INSERT INTO api_key_usage (api_key_id, hour, requests) SELECT 'key_b' || "
        f"{b_key}, "
        f"{now} - {mod(str(now), 3600)} - (1 + (n - 1) / {keys}) * 3600, 10 FROM {series.format(n=keys * 48)}",
        f"INSERT INTO api_key_addresses (api_key_id, ip, first_seen, last_seen, requests) SELECT '{HOT_KEY}', "
        f"'198.51.100.' || n, {now} - n * {day}, {now} - n * 60, 1000 * n FROM {series.format(n=40)}",
        f"INSERT INTO team_usage (team_id, hour, requests, refused) SELECT '{team}', "
        f"{now} - {mod(str(now), 3600)} - (n - 1) * 3600, 100000, 10 FROM {series.format(n=48)} "
        # (The set-up's own request may have been flushed already.)
        f"WHERE 1 = 1 ON CONFLICT DO NOTHING",
        # The agency's 500 clients, 10 keys each.
        f"INSERT INTO teams (id, slug, name, created_at, rate_limit_per_minute, agency_id, suspended_at, "
        f"audit_retention_days) SELECT 'team_c' || substr({pad}, 2), 'client-' || n, 'Client ' || n, {now}, 600, "
        f"'{agency_id}', NULL, 365 FROM {series.format(n=clients)}",
        f"INSERT INTO api_keys (id, team_id, name, mode, environment, secret_digest, prefix, head, tail, scopes, "
        f"created_by, created_at, last_used_at) SELECT 'key_c' || substr({pad}, 2), 'team_c' || "
        f"{c_team}, 'client key ' || n, 'live', NULL, "
        f"'c' || {digest}, 'sk_live_', "
        f"'clnt', 'clnt', CASE WHEN {mod('n', 5)} = 0 THEN 'admin' ELSE 'bots:read' END, NULL, "
        f"{now} - {mod('n', 200)} * {day}, CASE WHEN {mod('n', 3)} = 0 THEN NULL ELSE {now} - {day} END "
        f"FROM {series.format(n=clients * 10)}",
    ]


def seed_sqlite(path, *args):
    con = sqlite3.connect(path)
    series = "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s)"
    pad = "printf('%020d', n)"
    con.execute("BEGIN")
    for sql in seed_statements(*args, series, pad, lambda a, b: f"(({a}) % {b})",
                               lambda s, k: f"substr({s}, -{k})"):
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.close()


def seed_postgres(url, *args):
    series = "generate_series(1, {n}) AS n"
    pad = "lpad(n::text, 20, '0')"
    sql = ";\n".join(seed_statements(*args, series, pad, lambda a, b: f"(({a})::bigint % {b})",
                                      lambda s, k: f"right({s}, {k})"))
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", f"BEGIN; {sql}; COMMIT; ANALYZE;"], check=True)


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
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], r


def run(backend, args):
    workdir = tempfile.mkdtemp(prefix=f"latchkey-keys-{backend}-")
    name = None
    if backend == "sqlite":
        path = f"{workdir}/keys.db"
        db = f"sqlite://{path}"
    else:
        name = f"latchkey_keys_{int(time.time())}"
        subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
        db = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    proc, base, s, key, agency = start(args.binary, db, workdir)
    auth = {"Authorization": f"Bearer {key}"}
    try:
        me = s.get(base + "/v1/me", headers=auth).text
        team = re.search(r'"team":\{"id":"([^"]+)"', me).group(1)
        if backend == "sqlite":
            con = sqlite3.connect(path)
            user = con.execute("SELECT id FROM users").fetchone()[0]
            agency_id = con.execute("SELECT id FROM agencies").fetchone()[0]
            con.close()
        else:
            q = lambda sql: subprocess.run(["psql", db, "-Atc", sql], check=True, capture_output=True,  # noqa: E731
                                           text=True).stdout.strip()
            user, agency_id = q("SELECT id FROM users"), q("SELECT id FROM agencies")
        now = int(time.time())
        t0 = time.time()
        seed_args = (team, agency_id, user, args.keys, args.total, now)
        if backend == "sqlite":
            seed_sqlite(path, *seed_args)
        else:
            seed_postgres(db, *seed_args)
        print(f"[{backend}] seeded in {time.time() - t0:.0f} s", file=sys.stderr)
        keys = base + "/teams/bench/settings/api-keys"
        first = s.get(keys).text
        after = re.findall(r'data-key-id="(key_[^"]+)"', first)[-1]
        cases = [
            ("keys list, first page", keys, None),
            ("search by name", keys + "?q=service-0042", None),
            ("search by last four", keys + "?q=z123", None),
            ("needs attention", keys + "?hint=attention", None),
            ("expiring soonest", keys + "?sort=expires&status=expiring", None),
            ("second page", keys + f"?after={after}", None),
            ("key page with charts", f"{keys}/{HOT_KEY}", None),
            ("GET /v1/api-keys?q=service-00", base + "/v1/api-keys?q=service-00&limit=50", auth),
            ("agency dashboard, 500 clients", base + f"/agencies/{agency}", None),
        ]
        for label, url, headers in cases:
            med, p95, r = timed(s, url, headers)
            rows = r.text.count('data-testid="key-row"') or r.text.count('data-testid="client-row"') or \
                r.text.count('"object":"api_key"')
            print(f"| {backend} | {label} | {rows} | {med:.1f} | {p95:.1f} |")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        if name and not os.environ.get("BENCH_KEEP"):
            subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--total", type=int, default=1_000_000)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--binary", default=default_binary())
    args = p.parse_args()
    print("| backend | request | rows | median ms | p95 ms |\n|---|---|---|---|---|")
    for backend in args.backends.split(","):
        run(backend, args)


if __name__ == "__main__":
    main()

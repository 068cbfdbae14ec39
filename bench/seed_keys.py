#!/usr/bin/env python3
"""Seeds API keys straight into a Latchkey database for benchmarks: `--real N` working keys in
the exact format the server issues (written one per line to --out), and `--filler M` rows with
random digests that only make the table bigger. SQLite through Python's sqlite3, PostgreSQL
through psql COPY."""

import argparse
import hashlib
import io
import secrets
import sqlite3
import subprocess
import sys
import time
import zlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
COLUMNS = ["id", "team_id", "name", "mode", "secret_digest", "prefix", "head", "tail", "scopes", "created_at"]


def b62(n, width):
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(ALPHABET[r])
    return "".join(reversed(out))


def rand62(n):
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def new_key():
    before = "sk_live_" + rand62(32)
    return before + b62(zlib.crc32(before.encode()), 6)


def rows(team_id, real, filler, now, out):
    for i in range(real + filler):
        if i < real:
            key = new_key()
            out.write(key + "\n")
            digest = hashlib.sha256(key.encode()).hexdigest()
            body = key[len("sk_live_"):]
            head, tail, name = body[:4], body[-4:], f"bench {i}"
        else:
            digest, head, tail, name = secrets.token_hex(32), "fill", "fill", f"filler {i}"
        yield ("key_" + rand62(20), team_id, name, "live", digest, "sk_live_", head, tail, "admin", now)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True, help="sqlite:///path or postgres://…")
    p.add_argument("--team", required=True, help="team slug")
    p.add_argument("--real", type=int, default=0)
    p.add_argument("--filler", type=int, default=0)
    p.add_argument("--out", default="/dev/null")
    a = p.parse_args()
    now = int(time.time())
    with open(a.out, "a") as out:
        if a.db.startswith("sqlite://"):
            con = sqlite3.connect(a.db[len("sqlite://"):], timeout=30)
            team_id = con.execute("SELECT id FROM teams WHERE slug = ?", (a.team,)).fetchone()[0]
            con.executemany(f"INSERT INTO api_keys ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                            rows(team_id, a.real, a.filler, now, out))
            con.commit()
        else:
            q = subprocess.run(["psql", a.db, "-Atc", f"SELECT id FROM teams WHERE slug = '{a.team}'"],
                               capture_output=True, text=True, check=True)
            team_id = q.stdout.strip()
            buf = io.StringIO()
            for r in rows(team_id, a.real, a.filler, now, out):
                buf.write(",".join(str(v) for v in r) + "\n")
            subprocess.run(["psql", a.db, "-c", f"\\copy api_keys ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)"],
                           input=buf.getvalue(), text=True, check=True, capture_output=True)
    print(f"seeded {a.real} keys and {a.filler} filler rows into team {a.team}", file=sys.stderr)


if __name__ == "__main__":
    main()

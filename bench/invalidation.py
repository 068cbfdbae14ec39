#!/usr/bin/env python3
"""The latency a revoking change adds while it waits for the other nodes.

Three release `latchkey` nodes share one fresh PostgreSQL database (key caches on, as
deployed). Each try creates a key through node 1, has every node admit it (so every cache
holds it), then deletes it through node 1 and times the DELETE. The same is then done with
nodes 2 and 3 stopped (gracefully: they give up their leases, so node 1 waits for nobody).
The difference between the two is what waiting for the other nodes costs; node 1's
`latchkey_invalidation_wait_seconds` histogram gives the wait alone.

  python3 bench/invalidation.py [--tries 500]
"""

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "contract"))
sys.path.insert(0, HERE)
import run  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


class Node(run.Server):
    """A node as bench/run.py starts one, with `/metrics` on `metrics_port` and no brake (the
    bench presents deleted keys on purpose)."""

    def __init__(self, db, workdir, port, metrics_port, first=False):
        self.metrics = f"http://127.0.0.1:{metrics_port}/metrics"
        super().__init__(db, workdir, port, "auto", first=first,
                         extra_env={"LATCHKEY_METRICS_BIND": f"127.0.0.1:{metrics_port}",
                                    "LATCHKEY_FAILED_KEY_LIMIT": "0"})


def admin_key(node, db, workdir):
    """The team through the set-up link (default rate limit raised, as bench/run.py does), and
    one admin key seeded straight into the database."""
    run.bootstrap(node)
    keys_file = os.path.join(workdir, "admin.txt")
    subprocess.run([sys.executable, os.path.join(HERE, "seed_keys.py"), "--db", db, "--team", "bench",
                    "--real", "1", "--out", keys_file], check=True)
    with open(keys_file) as f:
        return f.read().strip()


def wait_seconds(node):
    text = requests.get(node.metrics).text
    total = float(re.search(r"^latchkey_invalidation_wait_seconds_sum (\S+)", text, re.M).group(1))
    count = float(re.search(r"^latchkey_invalidation_wait_seconds_count (\S+)", text, re.M).group(1))
    return total, count


def tries(nodes, writer, admin, n):
    took = []
    s = requests.Session()
    for i in range(n):
        r = s.post(writer.base + "/v1/api-keys", headers={"Authorization": f"Bearer {admin}"},
                   json={"name": f"bench {secrets.token_hex(4)}", "scopes": ["bots:read"]})
        r.raise_for_status()
        key, kid = r.json()["secret"], r.json()["id"]
        for node in nodes:
            assert s.get(node.base + "/v1/me", headers={"Authorization": f"Bearer {key}"}).ok
        t0 = time.perf_counter()
        s.delete(writer.base + f"/v1/api-keys/{kid}", headers={"Authorization": f"Bearer {admin}"}).raise_for_status()
        took.append((time.perf_counter() - t0) * 1000)
        for node in nodes:
            code = s.get(node.base + "/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code
            assert code == 401, f"try {i}: {node.base} answered {code} after the delete"
    return took


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round((len(values) - 1) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=500)
    args = ap.parse_args()
    name = "latchkey_inval_" + secrets.token_hex(4)
    subprocess.run(["psql", PG_ADMIN, "-qc", f'CREATE DATABASE "{name}"'], check=True)
    db = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    workdir = tempfile.mkdtemp(prefix="latchkey-inval-")
    nodes = []
    try:
        run.PINNED = False  # three nodes and the client share the two cores
        nodes.append(Node(db, workdir, 18190, 19190, first=True))
        admin = admin_key(nodes[0], db, workdir)
        nodes += [Node(db, workdir, 18191, 19191), Node(db, workdir, 18192, 19192)]
        time.sleep(1)
        tries(nodes, nodes[0], admin, 20)  # warm-up
        w0 = wait_seconds(nodes[0])
        three = tries(nodes, nodes[0], admin, args.tries)
        w1 = wait_seconds(nodes[0])
        for node in nodes[1:]:
            node.stop()
        time.sleep(1)
        tries(nodes[:1], nodes[0], admin, 20)
        one = tries(nodes[:1], nodes[0], admin, args.tries)
        w2 = wait_seconds(nodes[0])
        result = {
            "tries": args.tries,
            "delete_ms_three_nodes": {"p50": pct(three, 0.5), "p99": pct(three, 0.99), "max": max(three)},
            "delete_ms_one_node": {"p50": pct(one, 0.5), "p99": pct(one, 0.99), "max": max(one)},
            "added_ms": {"p50": pct(three, 0.5) - pct(one, 0.5), "p99": pct(three, 0.99) - pct(one, 0.99)},
            "mean_wait_ms_three_nodes": (w1[0] - w0[0]) / max(1, w1[1] - w0[1]) * 1000,
            "mean_wait_ms_one_node": (w2[0] - w1[0]) / max(1, w2[1] - w1[1]) * 1000,
            "mean_delete_ms": {"three": statistics.mean(three), "one": statistics.mean(one)},
        }
        print(json.dumps(result, indent=2))
    finally:
        for node in nodes:
            if node.proc.poll() is None:
                node.stop()
        subprocess.run(["psql", PG_ADMIN, "-qc", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])


if __name__ == "__main__":
    main()

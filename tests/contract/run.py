#!/usr/bin/env python3
"""Contract test: schemathesis against /v1/openapi.json of a real `latchkey` process.

Starts latchkey on a fresh SQLite database, creates an owner, two teams and one admin key in
each through the real dashboard forms, then runs schemathesis with every check, the two keys
as peers for the object-level authorization check. Bounded in examples and time. Exits with
schemathesis's status.
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import requests

PORT = int(os.environ.get("LATCHKEY_CONTRACT_PORT", "18081"))
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "correct horse battery staple"


# Rejections the schema cannot express, allowed per operation as schemathesis recommends:
# - lists: `starting_after` must name an existing object of the caller's team and mode;
# - creates: `bot_id` must name one of the caller's bots; key names are unique per team;
# - /revoke: the key's checksum must be right (a pattern cannot check a CRC).
CONFIG = """
[auth.wfc]
path = "{auth_path}"
peers = ["alpha", "beta"]

# 413 (body over 64 KiB) is a rejection too.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

[[operations]]
include-name-regex = '^GET /(bots|channels|conversations|integrations|agent-loops|api-keys|agent-loops/\\{{id\\}}/runs)$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]

[[operations]]
include-name-regex = '^POST /(channels|conversations|agent-loops|api-keys|revoke)$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]
"""


def binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "target")
    return os.environ.get("LATCHKEY_BIN") or os.path.join(target, "debug", "latchkey")


def start_server(workdir):
    env = dict(os.environ, DATABASE_URL=f"sqlite://{workdir}/contract.db", LATCHKEY_DATA_DIR=workdir,
               LATCHKEY_BIND=f"127.0.0.1:{PORT}", LATCHKEY_PUBLIC_URL=BASE, RUST_LOG="warn",
               # requests, unlike browsers, sends no Secure cookie to http://127.0.0.1.
               LATCHKEY_COOKIE_SECURE="false")
    proc = subprocess.Popen([binary()], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    link, out = None, ""
    deadline = time.time() + 30
    while time.time() < deadline and link is None:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"latchkey exited early:\n{out}")
        out += line
        m = re.search(r"(http://\S+/setup\?token=[A-Za-z0-9]+)", line)
        if m:
            link = m.group(1)
    for _ in range(300):
        try:
            if requests.get(f"{BASE}/healthz", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    return proc, link


def csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def post(s, path, data, expect=(200, 303)):
    r = s.post(BASE + path, data=data, headers={"Origin": BASE}, allow_redirects=False)
    if r.status_code not in expect:
        raise SystemExit(f"POST {path} -> {r.status_code}\n{r.text[:2000]}")
    return r


def admin_key(s, slug):
    page = s.get(f"{BASE}/teams/{slug}/settings/api-keys/new")
    r = post(s, f"/teams/{slug}/settings/api-keys",
             {"csrf_token": csrf(page.text), "name": "contract", "scopes": "admin", "mode": "live", "expiry": "never"})
    key = re.search(r'value="(sk_[^"]+)"[^>]*data-testid="revealed-key"', r.text).group(1)
    # Generous limit: the run must test behaviour, not spend its time on 429s.
    settings = s.get(f"{BASE}/teams/{slug}/settings")
    post(s, f"/teams/{slug}/settings", {"csrf_token": csrf(settings.text), "name": slug, "rate_limit": "100000"})
    return key


def main():
    workdir = tempfile.mkdtemp(prefix="latchkey-contract-")
    proc, link = start_server(workdir)
    try:
        s = requests.Session()
        page = s.get(link)
        r = post(s, "/setup", {"csrf_token": csrf(page.text), "token": link.split("token=")[1], "name": "Ada",
                               "email": "ada@example.com", "password": PASSWORD, "team": "Alpha"})
        alpha = r.headers["location"].split("/")[2]
        new = s.get(f"{BASE}/teams/new")
        r = post(s, "/teams/new", {"csrf_token": csrf(new.text), "name": "Beta"})
        beta = r.headers["location"].split("/")[2]
        keys = {"alpha": admin_key(s, alpha), "beta": admin_key(s, beta)}
        auth_path = os.path.join(workdir, "auth.json")
        with open(auth_path, "w") as f:
            json.dump({"auth": [{"name": n, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {k}"}]}
                                for n, k in keys.items()]}, f)
        config_path = os.path.join(workdir, "schemathesis.toml")
        with open(config_path, "w") as f:
            f.write(CONFIG.format(auth_path=auth_path))
        cmd = ["schemathesis", "--config-file", config_path, "run", f"{BASE}/v1/openapi.json",
               # These act on the calling key itself when fed ids from GET /api-keys (delete it,
               # rotate it out, drop its admin scope), which would leave the rest of the run
               # unauthenticated. The integration tests cover them.
               "--exclude-name", "DELETE /api-keys/{id}", "--exclude-name", "POST /api-keys/{id}/rotate",
               "--exclude-name", "PATCH /api-keys/{id}",
               "--checks", "all", "--max-examples", os.environ.get("CONTRACT_MAX_EXAMPLES", "25"),
               "--seed", os.environ.get("CONTRACT_SEED", "20261126"), "--workers", "1",
               "--request-timeout", "10", "--generation-deterministic"]
        print("$", " ".join(cmd), flush=True)
        result = subprocess.run(cmd, timeout=int(os.environ.get("CONTRACT_TIMEOUT", "900")))
        return result.returncode
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())

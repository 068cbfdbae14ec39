"""Shared by the contract tests: a real `latchkey` process on a fresh database, bootstrapped
through the real dashboard forms (owner, teams, admin keys)."""

import os
import re
import signal
import subprocess
import tempfile
import time

import requests

PORT = int(os.environ.get("LATCHKEY_CONTRACT_PORT", "18081"))
BASE = f"http://127.0.0.1:{PORT}"
PASSWORD = "correct horse battery staple"


def binary():
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "target")
    return os.environ.get("LATCHKEY_BIN") or os.path.join(target, "debug", "latchkey")


def start_server(workdir):
    try:
        requests.get(f"{BASE}/healthz", timeout=1)
        raise SystemExit(f"port {PORT} is already in use; stop the old latchkey first")
    except requests.ConnectionError:
        pass
    env = dict(os.environ, DATABASE_URL=f"sqlite://{workdir}/contract.db", LATCHKEY_DATA_DIR=workdir,
               LATCHKEY_BIND=f"127.0.0.1:{PORT}", LATCHKEY_PUBLIC_URL=BASE, RUST_LOG="warn",
               # requests, unlike browsers, sends no Secure cookie to http://127.0.0.1.
               LATCHKEY_COOKIE_SECURE="false",
               # Negative tests send thousands of invalid keys from one address: the brake on
               # guessing would answer the rest of the run 429 (it has tests of its own).
               LATCHKEY_FAILED_KEY_LIMIT="0", LATCHKEY_NOT_FOUND_LIMIT="0")
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




def create_key(s, slug, name, scopes, mode="live"):
    """Creates a key through the dashboard form; returns the revealed secret."""
    page = s.get(f"{BASE}/teams/{slug}/settings/api-keys/new")
    form = [("csrf_token", csrf(page.text)), ("name", name), ("mode", mode), ("expiry", "never")]
    form += [("scopes", sc) for sc in scopes]
    r = post(s, f"/teams/{slug}/settings/api-keys", form)
    return re.search(r'value="(sk_[^"]+)"[^>]*data-testid="revealed-key"', r.text).group(1)


class Latchkey:
    """`with Latchkey() as lk:` — a server with an owner signed in (`lk.session`) and two teams
    (`lk.teams`, slugs of Alpha and Beta) whose default rate limit is generous."""

    def __enter__(self):
        self.workdir = tempfile.mkdtemp(prefix="latchkey-contract-")
        self.proc, link = start_server(self.workdir)
        s = self.session = requests.Session()
        page = s.get(link)
        r = post(s, "/setup", {"csrf_token": csrf(page.text), "token": link.split("token=")[1], "name": "Ada",
                               "email": "ada@example.com", "password": PASSWORD, "team": "Alpha"})
        alpha = r.headers["location"].split("/")[2]
        new = s.get(f"{BASE}/teams/new")
        r = post(s, "/teams/new", {"csrf_token": csrf(new.text), "name": "Beta"})
        beta = r.headers["location"].split("/")[2]
        self.teams = [alpha, beta]
        for slug in self.teams:
            # The runs must test behaviour, not spend their time on 429s.
            settings = s.get(f"{BASE}/teams/{slug}/settings")
            post(s, f"/teams/{slug}/settings", {"csrf_token": csrf(settings.text), "name": slug, "rate_limit": "100000"})
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

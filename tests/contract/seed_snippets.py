#!/usr/bin/env python3
"""The platform docs' own client snippets (seed 004: curl, Node fetch, Python requests), run as
written against a real `latchkey` — only the host is changed — and the documented answers
checked, plus raw-wire cases an in-process test cannot send (a NUL byte in a header)."""

import json
import os
import socket
import subprocess
import sys
import textwrap

from harness import BASE, Latchkey, create_key, csrf
from harness import post as form_post

SEED_HOST = "https://api.chatbotplatform.io"

CURL = """curl https://api.chatbotplatform.io/v1/bots \\
  -H "Authorization: Bearer $CHATBOT_API_KEY\""""

NODE = textwrap.dedent("""\
    const apiKey = process.env.CHATBOT_API_KEY;

    fetch('https://api.chatbotplatform.io/v1/bots', {
      headers: {
        'Authorization': `Bearer ${apiKey}`,
        'Content-Type': 'application/json'
      }
    });
    """)

# Observes the seed's fetch (which ignores its result) without changing the snippet.
NODE_OBSERVER = textwrap.dedent("""\
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (...args) => {
      const res = await realFetch(...args);
      console.log(JSON.stringify({ status: res.status, body: await res.clone().text() }));
      return res;
    };
    """)

PYTHON = textwrap.dedent("""\
    import os
    import requests

    api_key = os.environ['CHATBOT_API_KEY']

    response = requests.get(
        'https://api.chatbotplatform.io/v1/bots',
        headers={
            'Authorization': f'Bearer {api_key}',
            'Content-Type': 'application/json'
        }
    )
    """)

INVALID = {"error": {"code": "INVALID_API_KEY", "message": "The provided API key is invalid"}}
FORBIDDEN = {"error": {"code": "INSUFFICIENT_PERMISSIONS",
                       "message": "API key does not have permission to perform this action",
                       "required_scope": "bots:write"}}

failures = []
checked = []


def check(label, status, body, want_status, want_body=None):
    checked.append(label)
    ok = status == want_status and (want_body is None or json.loads(body) == want_body)
    print(f"{'ok  ' if ok else 'FAIL'} {label}: {status} {body[:120]}")
    if not ok:
        failures.append(label)


def run_curl(key, script=CURL):
    out = subprocess.run(["bash", "-c", script.replace(SEED_HOST, BASE) + " -s -w '\\n%{http_code}'"],
                         env=dict(os.environ, CHATBOT_API_KEY=key), capture_output=True, text=True, timeout=30)
    body, _, status = out.stdout.rpartition("\n")
    return int(status), body


def run_node(key, workdir):
    path = os.path.join(workdir, "snippet.mjs")
    with open(path, "w") as f:
        f.write(NODE_OBSERVER + NODE.replace(SEED_HOST, BASE))
    out = subprocess.run(["node", path], env=dict(os.environ, CHATBOT_API_KEY=key), capture_output=True, text=True, timeout=30)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    return seen["status"], seen["body"]


def run_python(key, workdir):
    path = os.path.join(workdir, "snippet.py")
    with open(path, "w") as f:
        f.write(PYTHON.replace(SEED_HOST, BASE) + "\nprint(response.status_code)\nprint(response.text)\n")
    out = subprocess.run([sys.executable, path], env=dict(os.environ, CHATBOT_API_KEY=key), capture_output=True, text=True, timeout=30)
    status, body = out.stdout.split("\n", 1)
    return int(status), body.strip()


def raw(request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", int(BASE.rsplit(":", 1)[1]))) as s:
        s.sendall(request)
        return s.recv(65536)


def main():
    with Latchkey() as lk:
        slug = lk.teams[0]
        full = create_key(lk.session, slug, "Production Server", ["bots:read", "bots:write", "admin"])
        # The docs' "Creating Restricted Keys" example: bots:read and conversations:read only.
        restricted = create_key(lk.session, slug, "Production API Key", ["bots:read", "conversations:read"])
        env_key = create_key(lk.session, slug, "Env key", ["admin"])

        for name, run in [("curl", lambda k: run_curl(k)), ("node", lambda k: run_node(k, lk.workdir)),
                          ("python", lambda k: run_python(k, lk.workdir))]:
            status, body = run(full)
            check(f"{name}: list bots with a valid key", status, body, 200, {"object": "list", "data": [], "has_more": False})
            status, body = run("sk_live_abc123xyz...")
            check(f"{name}: the docs' placeholder key", status, body, 401, INVALID)
            status, body = run(restricted)
            check(f"{name}: a restricted key may read bots", status, body, 200)

        post = CURL.replace("curl ", "curl -X POST -H 'Content-Type: application/json' -d '{\"name\":\"x\"}' ", 1)
        status, body = run_curl(restricted, post)
        check("curl: a restricted key may not create bots", status, body, 403, FORBIDDEN)
        status, body = run_curl(env_key, post)
        check("curl: a full key creates a bot", status, body, 201)

        # Deleted keys stop working at once (docs: "Deleted keys stop working immediately").
        r = lk.session.get(f"{BASE}/v1/me", headers={"Authorization": f"Bearer {env_key}"})
        key_id = r.json()["api_key"]["id"]
        page = lk.session.get(f"{BASE}/teams/{slug}/settings/api-keys/{key_id}/delete")
        form_post(lk.session, f"/teams/{slug}/settings/api-keys/{key_id}/delete", {"csrf_token": csrf(page.text)})
        status, body = run_python(env_key, lk.workdir)
        check("python: the next request with a deleted key", status, body, 401, INVALID)

        # On the wire: control bytes are not valid HTTP and never reach the key check.
        for label, value in [("NUL", b"Bearer sk_live_\x00abc"), ("SOH", b"Bearer " + full.encode() + b"\x01")]:
            answer = raw(b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: " + value + b"\r\n\r\n")
            check(f"wire: {label} in Authorization", int(answer.split(b" ")[1]), "", 400)
        answer = raw(b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + full.encode() + b"\r\nAuthorization: Bearer " + full.encode() + b"\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        check("wire: two Authorization headers", int(head.split(b" ")[1]), body.decode(), 401, INVALID)

    print(f"{len(checked) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

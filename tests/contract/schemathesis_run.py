#!/usr/bin/env python3
"""Contract test: schemathesis against /v1/openapi.json of a real `latchkey` process, with every
check and one admin key in each of two teams as peers for the object-level authorization
check. Bounded in examples and time. Exits with schemathesis's status."""

import json
import os
import subprocess
import sys

from harness import BASE, Latchkey, create_key

# Rejections the schema cannot express, allowed per operation as schemathesis recommends:
# - lists: `starting_after` must name an existing object of the caller's team and mode;
# - creates: `bot_id` must name one of the caller's bots; key names are unique per team;
# - /revoke: the key's checksum must be right (a pattern cannot check a CRC);
# - integrations and webhook endpoints: the host must be one Latchkey may call (public, or
#   allowlisted), a placement must fit the credential given, and a team has at most 16
#   webhook endpoints.
CONFIG = """
[auth.wfc]
path = "{auth_path}"
peers = ["alpha", "beta"]

# 413 (body over 64 KiB) is a rejection too.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

[[operations]]
include-name-regex = '^GET /(bots|channels|conversations|integrations|agent-loops|api-keys|audit-events|webhook-endpoints|agent-loops/\\{{id\\}}/runs|webhook-endpoints/\\{{id\\}}/deliveries)$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]

[[operations]]
include-name-regex = '^POST /(channels|conversations|agent-loops|api-keys|revoke|integrations|webhook-endpoints)$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]

# A channel belongs to its bot and is deleted with it (ON DELETE CASCADE): the stateful phase
# may delete the bot between creating a channel and using it, and the 404 that follows is the
# right answer, not a lost resource (seen in a HAR of the run: POST /channels, DELETE /bots/…,
# DELETE /channels/… → 404).
[[operations]]
include-name-regex = '^(GET|PATCH|DELETE) /channels/\\{{id\\}}$'
checks.ensure_resource_availability.enabled = false

[[operations]]
include-name-regex = '^PATCH /integrations/\\{{id\\}}$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]

# A finished run is final: reporting it again with another status is a 422 by design.
[[operations]]
include-name-regex = '^PATCH /agent-loops/\\{{id\\}}/runs/\\{{run_id\\}}$'
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]
"""



def main():
    with Latchkey() as lk:
        keys = {name: create_key(lk.session, slug, "contract", ["admin"]) for name, slug in zip(["alpha", "beta"], lk.teams)}
        auth_path = os.path.join(lk.workdir, "auth.json")
        with open(auth_path, "w") as f:
            json.dump({"auth": [{"name": n, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {k}"}]}
                                for n, k in keys.items()]}, f)
        config_path = os.path.join(lk.workdir, "schemathesis.toml")
        with open(config_path, "w") as f:
            f.write(CONFIG.format(auth_path=auth_path))
        cmd = ["schemathesis", "--config-file", config_path, "run", f"{BASE}/v1/openapi.json",
               # These act on the calling key itself when fed ids from GET /api-keys (delete it,
               # rotate it out, drop its admin scope), which would leave the rest of the run
               # unauthenticated. The integration tests cover them.
               "--exclude-name", "DELETE /api-keys/{id}", "--exclude-name", "POST /api-keys/{id}/rotate",
               "--exclude-name", "PATCH /api-keys/{id}",
               # These call the integration's API, which for generated integrations is some
               # host on the internet: a 502 there is the right answer, not a server error.
               # tests/app/integrations.rs covers them against loopback receivers.
               "--exclude-name", "POST /integrations/{id}/requests",
               "--exclude-name", "POST /integrations/{id}/test",
               "--checks", "all", "--max-examples", os.environ.get("CONTRACT_MAX_EXAMPLES", "25"),
               "--seed", os.environ.get("CONTRACT_SEED", "20261126"), "--workers", "1",
               "--request-timeout", "10", "--generation-deterministic"]
        print("$", " ".join(cmd), flush=True)
        result = subprocess.run(cmd, timeout=int(os.environ.get("CONTRACT_TIMEOUT", "900")))
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())

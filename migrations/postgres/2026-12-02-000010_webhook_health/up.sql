-- Webhook health and key-lifecycle notices (issue 13).
-- When an endpoint's current run of failures began (cleared by a success): five days of
-- nothing but failures disables it.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since BIGINT;

-- The lifecycle events already announced for a key (`expiring_7d`, `expiring_1d`, `expired`,
-- `grace_ended`): each is sent once per key, however often the sweep runs.
CREATE TABLE api_key_notices (
    api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, kind)
);

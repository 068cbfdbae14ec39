-- The lifecycle events already announced for a key (issue 13): `expiring_7d`, `expiring_1d`,
-- `expired`, `grace_ended`. Each is sent once per key, however often (and on however many
-- nodes) the sweep runs: the primary key decides who announces it.
CREATE TABLE api_key_notices (
    api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, kind)
);

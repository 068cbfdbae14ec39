-- Refusals of a known key, per hour, beside its accepted requests (counted in memory on the
-- request path like them, written by the usage flush).
ALTER TABLE api_key_usage ADD COLUMN refused_scope BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_key_usage ADD COLUMN refused_address BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_key_usage ADD COLUMN refused_rate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_key_usage ADD COLUMN refused_expired BIGINT NOT NULL DEFAULT 0;

-- Where each key is used from: one row per key and client address (first and last seen, how
-- many requests); an insert is a new address (the `api_key.new_address` event, once).
CREATE TABLE api_key_addresses (
    api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, ip)
);
CREATE INDEX api_key_addresses_seen_idx ON api_key_addresses(last_seen);

-- A team's requests per hour over all its keys (the keys page's overview reads 24 rows
-- instead of summing every key's), added to by the same flush.
CREATE TABLE team_usage (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    refused BIGINT NOT NULL,
    PRIMARY KEY (team_id, hour)
);
CREATE INDEX team_usage_hour_idx ON team_usage(hour);

-- A key page finds the key a rotation replaced by its successor's id (a full scan of every
-- team's keys without it: 60 ms at a million keys).
CREATE INDEX api_keys_replaced_by_idx ON api_keys(replaced_by) WHERE replaced_by IS NOT NULL;

-- The integrations vault: how the credential is sent, the sealed credential itself (vault
-- format v1, src/vault/mod.rs: never the plaintext), who set it and when, its fingerprint, the
-- last connection test, last use, and requests per hour (written in batches, not per call).
ALTER TABLE integrations ADD COLUMN auth_type TEXT NOT NULL DEFAULT 'bearer'
    CHECK (auth_type IN ('bearer', 'basic', 'header', 'query'));
ALTER TABLE integrations ADD COLUMN auth_name TEXT;
ALTER TABLE integrations ADD COLUMN auth_prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN check_path TEXT NOT NULL DEFAULT '/';
ALTER TABLE integrations ADD COLUMN credential TEXT;
ALTER TABLE integrations ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE integrations ADD COLUMN credential_fingerprint TEXT;
ALTER TABLE integrations ADD COLUMN credential_updated_at BIGINT;
ALTER TABLE integrations ADD COLUMN credential_updated_by TEXT;
ALTER TABLE integrations ADD COLUMN created_by TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE integrations ADD COLUMN last_used_at BIGINT;
ALTER TABLE integrations ADD COLUMN test_at BIGINT;
ALTER TABLE integrations ADD COLUMN test_ok BOOLEAN;
ALTER TABLE integrations ADD COLUMN test_status INTEGER;
ALTER TABLE integrations ADD COLUMN test_latency_ms BIGINT;
ALTER TABLE integrations ADD COLUMN test_summary TEXT;

CREATE TABLE integration_usage (
    integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (integration_id, hour)
);

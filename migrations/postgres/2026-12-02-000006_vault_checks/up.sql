-- One known value sealed under each master key that has sealed anything: at start, a
-- configured key that does not match any of these is the wrong key, and the start stops with
-- a clear message instead of failing on first use (src/vault/mod.rs).
CREATE TABLE vault_checks (
    key_id TEXT PRIMARY KEY NOT NULL,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Times are Unix seconds (BIGINT) so one portable diesel schema serves both backends.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships(user_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    environment TEXT,
    -- SHA-256 of the whole secret, hex. The secret itself is never stored.
    secret_digest TEXT NOT NULL UNIQUE,
    -- Display only: "sk_live_prod_" + first 4 + "…" + last 4 of the body.
    prefix TEXT NOT NULL,
    head TEXT NOT NULL,
    tail TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    last_used_ip TEXT,
    -- Set when a successor replaced this key; the key works until then.
    retiring_until BIGINT,
    replaced_by TEXT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_team_idx ON api_keys(team_id, created_at);
-- Names are unique among a team's current keys (not revoked, not superseded).
CREATE UNIQUE INDEX api_keys_current_name_idx ON api_keys(team_id, name)
    WHERE revoked_at IS NULL AND retiring_until IS NULL;

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    actor_user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_id TEXT,
    detail TEXT,
    ip TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_team_idx ON audit_events(team_id, created_at);

-- Server-side sessions. The id is the SHA-256 of the cookie's session key, so a copy of
-- this table cannot be replayed as cookies.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions(user_id);
CREATE INDEX sessions_expires_idx ON sessions(expires_at);

CREATE TABLE setup_tokens (
    token_digest TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Failed sign-ins per e-mail address (digest, known or not, so throttling does not reveal
-- which addresses have accounts).
CREATE TABLE login_throttles (
    email_digest TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    last_failure_at BIGINT NOT NULL
);

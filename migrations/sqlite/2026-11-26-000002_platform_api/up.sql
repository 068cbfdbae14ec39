-- Per-team default and per-key override of the API rate limit (requests per minute).
ALTER TABLE teams ADD COLUMN rate_limit_per_minute INTEGER NOT NULL DEFAULT 600;
ALTER TABLE api_keys ADD COLUMN rate_limit_per_minute INTEGER;
-- Space-separated CIDRs; NULL = any address.
ALTER TABLE api_keys ADD COLUMN ip_allowlist TEXT;
-- Set by POST /v1/revoke (whoever holds a leaked key can kill it).
ALTER TABLE api_keys ADD COLUMN reported_leaked_at BIGINT;

-- Platform objects. Every row belongs to a team and a mode: live and test keys see
-- separate data.
CREATE TABLE bots (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bots_list_idx ON bots(team_id, mode, created_at, id);

CREATE TABLE channels (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    bot_id TEXT NOT NULL REFERENCES bots(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX channels_list_idx ON channels(team_id, mode, created_at, id);

CREATE TABLE integrations (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    provider TEXT NOT NULL,
    name TEXT NOT NULL,
    base_url TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX integrations_list_idx ON integrations(team_id, mode, created_at, id);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    bot_id TEXT REFERENCES bots(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX conversations_list_idx ON conversations(team_id, mode, created_at, id);

CREATE TABLE messages (
    id TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_conversation_idx ON messages(conversation_id, position);

CREATE TABLE agent_loops (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    mode TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    bot_id TEXT REFERENCES bots(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    instructions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agent_loops_list_idx ON agent_loops(team_id, mode, created_at, id);

CREATE TABLE agent_loop_runs (
    id TEXT PRIMARY KEY NOT NULL,
    agent_loop_id TEXT NOT NULL REFERENCES agent_loops(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    api_key_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX agent_loop_runs_loop_idx ON agent_loop_runs(agent_loop_id, created_at, id);

-- Requests per key per hour, flushed in batches (never written on the request path).
CREATE TABLE api_key_usage (
    api_key_id TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    hour BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, hour)
);

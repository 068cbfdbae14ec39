-- "Your account → Sessions": each signed-in session's public handle (not its key: the row id
-- is the key's digest and stays private), the address and browser it signed in from, and
-- when it was last active.
ALTER TABLE sessions ADD COLUMN handle TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN signed_in_at BIGINT;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;

-- One-time password reset links (e-mailed, or printed by `latchkey users reset-password`):
-- only the SHA-256 of the token is stored.
CREATE TABLE password_resets (
    token_digest TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_user_idx ON password_resets(user_id, created_at);

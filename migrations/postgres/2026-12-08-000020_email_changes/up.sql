-- A change of an account's e-mail address waiting for the link sent to the new address: only
-- the SHA-256 of the link's token is stored; it works once, for a day.
CREATE TABLE email_changes (
    token_digest TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    new_email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_changes_user_idx ON email_changes(user_id, created_at);

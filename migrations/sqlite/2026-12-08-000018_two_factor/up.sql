-- Two-factor sign-in with an authenticator app: the secret sealed by the vault (bound to the
-- user), confirmed once a first code was right, and the last step a code was accepted for
-- (each code works once, on every node: the update that records it is conditional).
CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0
);

-- Its ten single-use recovery codes, as SHA-256 digests.
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_digest TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_digest)
);

-- Passkeys (WebAuthn credentials) of an account: a second factor after the password, or a sign-in
-- of their own (discoverable). `credential` is webauthn-rs's stored form (the public key, its
-- algorithm and signature counter: nothing secret); `credential_id` (base64url) is unique across
-- accounts; `rp_id` is the host name it was registered on (a passkey works only there).
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    credential TEXT NOT NULL,
    rp_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user_idx ON passkeys(user_id);

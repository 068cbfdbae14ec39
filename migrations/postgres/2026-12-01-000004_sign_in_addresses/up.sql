-- Addresses an account has signed in from: failures of strangers elsewhere (the per-e-mail
-- ceiling) do not lock the owner out from these. Keyed by SHA-256 of address bucket and e-mail.
CREATE TABLE login_known_addresses (
    digest TEXT PRIMARY KEY NOT NULL,
    last_success_at BIGINT NOT NULL
);

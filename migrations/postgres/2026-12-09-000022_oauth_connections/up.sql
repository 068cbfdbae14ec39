-- OAuth 2.0 connections of integrations (issue 22): what is not secret about how an integration
-- gets its access tokens. The secrets — client secret, refresh token, current access token — are
-- sealed together in integrations.credential (the vault binds them to the integration and its
-- credential_version, bumped by every refresh); nothing here is one.
--   grant_type   'authorization_code' (with PKCE) or 'client_credentials'
--   status       'pending' (not connected yet), 'connected', 'needs_reconnecting'
--   access_expires_at  when the sealed access token expires (Unix seconds), if it does
CREATE TABLE oauth_connections (
    integration_id TEXT PRIMARY KEY NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    grant_type TEXT NOT NULL,
    token_url TEXT NOT NULL,
    authorize_url TEXT,
    revoke_url TEXT,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    audience TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    account TEXT,
    granted_scopes TEXT,
    access_expires_at BIGINT,
    connected_at BIGINT,
    refreshed_at BIGINT,
    refreshes BIGINT NOT NULL DEFAULT 0
);

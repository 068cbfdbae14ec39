ALTER TABLE oauth_connections DROP COLUMN client_auth;

-- How an OAuth connection's token endpoint takes the client id and secret (issue 22): 'basic'
-- (HTTP basic auth, RFC 6749's default) or 'post' (in the form body, as HubSpot, Zoho, Google,
-- Microsoft and Salesforce document).
ALTER TABLE oauth_connections ADD COLUMN client_auth TEXT NOT NULL DEFAULT 'basic';

DROP TABLE api_key_notices;
ALTER TABLE webhook_endpoints DROP COLUMN failing_since;

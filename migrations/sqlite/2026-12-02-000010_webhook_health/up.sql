-- Webhook health (issue 13): when an endpoint's current run of failures began (cleared by a
-- success). Five days of nothing but failures disables it.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since BIGINT;

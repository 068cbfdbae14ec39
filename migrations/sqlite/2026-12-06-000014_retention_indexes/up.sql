-- Retention for every table that grows (issue 19): each rule deletes in small batches by a
-- time column, so each needs an index on it; deleting an outbox event cascades to its
-- deliveries, which needs one on outbox_event_id.
CREATE INDEX outbox_events_created_idx ON outbox_events(created_at);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries(outbox_event_id);
CREATE INDEX api_key_usage_hour_idx ON api_key_usage(hour);
CREATE INDEX integration_usage_hour_idx ON integration_usage(hour);
CREATE INDEX login_throttles_last_failure_idx ON login_throttles(last_failure_at);
CREATE INDEX login_known_addresses_last_success_idx ON login_known_addresses(last_success_at);

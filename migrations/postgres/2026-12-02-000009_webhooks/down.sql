DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP INDEX outbox_events_pending_idx;
ALTER TABLE outbox_events DROP COLUMN fanned_out_at;
DROP TABLE webhook_endpoints;

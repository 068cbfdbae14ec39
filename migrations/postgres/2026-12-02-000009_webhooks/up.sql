-- Webhooks (issue 13, DESIGN §10). An endpoint belongs to a team, or to an agency (it then
-- receives the events of all the agency's clients). Its signing secret is sealed by the vault;
-- during a rotation's overlap the previous secret signs too.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
    agency_id TEXT REFERENCES agencies(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- Space-separated event types, or '*' for every event.
    event_types TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    secret TEXT NOT NULL,
    secret_version BIGINT NOT NULL,
    previous_secret TEXT,
    previous_secret_version BIGINT,
    previous_until BIGINT,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    -- The newest outbox event when the endpoint was added (its own creation event): it
    -- receives only events after it (outbox ids sort by time).
    since_event TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK ((team_id IS NULL) <> (agency_id IS NULL))
);
CREATE INDEX webhook_endpoints_team_idx ON webhook_endpoints(team_id);
CREATE INDEX webhook_endpoints_agency_idx ON webhook_endpoints(agency_id);

-- Which outbox events have been turned into deliveries. Events from before webhooks existed
-- are marked done: an endpoint receives what happens after it is added.
ALTER TABLE outbox_events ADD COLUMN fanned_out_at BIGINT;
UPDATE outbox_events SET fanned_out_at = created_at;
CREATE INDEX outbox_events_pending_idx ON outbox_events(fanned_out_at, created_at, id);

-- One event for one endpoint: sent until it succeeds or its retries run out. The bytes sent
-- are the outbox event's payload, every time.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    outbox_event_id TEXT NOT NULL REFERENCES outbox_events(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    locked_until BIGINT,
    last_attempt_at BIGINT,
    last_status_code INTEGER,
    last_latency_ms BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (endpoint_id, outbox_event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries(endpoint_id, created_at, id);

-- Every attempt, for the delivery log.
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts(delivery_id, attempt);

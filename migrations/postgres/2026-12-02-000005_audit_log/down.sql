ALTER TABLE teams DROP COLUMN audit_retention_days;
DROP TABLE security_events;
DROP TABLE outbox_events;
CREATE TABLE agency_events (
    id TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    actor_user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_id TEXT,
    detail TEXT,
    ip TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX agency_events_agency_idx ON agency_events(agency_id, created_at);
INSERT INTO agency_events SELECT 'aev_' || substr(id, 5), agency_id, actor_user_id, action,
    target_id, detail, ip, created_at FROM audit_events WHERE agency_id IS NOT NULL;
DELETE FROM audit_events WHERE agency_id IS NOT NULL;
CREATE TABLE audit_events_prev (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    actor_user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_id TEXT,
    detail TEXT,
    ip TEXT,
    created_at BIGINT NOT NULL,
    actor_agency_id TEXT
);
INSERT INTO audit_events_prev SELECT 'evt_' || substr(id, 5), team_id, actor_user_id, action,
    target_id, detail, ip, created_at, actor_agency_id FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_prev RENAME TO audit_events;
CREATE INDEX audit_events_team_idx ON audit_events(team_id, created_at);

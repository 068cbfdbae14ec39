-- One audit log with a typed vocabulary (src/domain/audit.rs). An event belongs to a team
-- (team_id) or, for agency-level events that must outlive a deleted client, to an agency
-- (agency_id) — exactly one of them. The actor and the target keep their names as they were
-- (labels), so an event still reads right after the user, key or client is gone.
CREATE TABLE audit_events_next (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
    agency_id TEXT REFERENCES agencies(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'operator', 'system')),
    actor_user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    actor_key_id TEXT,
    actor_agency_id TEXT,
    actor_label TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    target_label TEXT,
    detail TEXT,
    ip TEXT,
    created_at BIGINT NOT NULL,
    CHECK ((team_id IS NULL) <> (agency_id IS NULL))
);

INSERT INTO audit_events_next (id, team_id, agency_id, action, actor_kind, actor_user_id,
    actor_key_id, actor_agency_id, actor_label, target_kind, target_id, target_label, detail, ip,
    created_at)
SELECT 'aud_' || substr(e.id, 5), e.team_id, NULL, e.action,
    CASE WHEN e.actor_agency_id IS NOT NULL THEN 'operator'
         WHEN e.actor_user_id IS NOT NULL THEN 'user' ELSE 'system' END,
    e.actor_user_id, NULL, e.actor_agency_id, COALESCE(u.name, 'Latchkey'), NULL, e.target_id,
    NULL, CASE WHEN e.detail IS NULL THEN NULL ELSE json_build_object('note', e.detail)::text END, e.ip,
    e.created_at
FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id;

INSERT INTO audit_events_next (id, team_id, agency_id, action, actor_kind, actor_user_id,
    actor_key_id, actor_agency_id, actor_label, target_kind, target_id, target_label, detail, ip,
    created_at)
SELECT 'aud_' || substr(e.id, 5), NULL, e.agency_id, e.action,
    CASE WHEN e.actor_user_id IS NOT NULL THEN 'user' ELSE 'system' END,
    e.actor_user_id, NULL, e.agency_id, COALESCE(u.name, 'Latchkey'), NULL, e.target_id,
    NULL, CASE WHEN e.detail IS NULL THEN NULL ELSE json_build_object('note', e.detail)::text END, e.ip,
    e.created_at
FROM agency_events e LEFT JOIN users u ON u.id = e.actor_user_id;

DROP TABLE audit_events;
DROP TABLE agency_events;
ALTER TABLE audit_events_next RENAME TO audit_events;

-- Newest first within an owner, keyset cursors on (created_at, id); the filters the audit page
-- offers get their own prefix so a rare action or one key's history is not a scan.
CREATE INDEX audit_events_team_idx ON audit_events(team_id, created_at, id);
CREATE INDEX audit_events_team_action_idx ON audit_events(team_id, action, created_at, id);
CREATE INDEX audit_events_team_target_idx ON audit_events(team_id, target_id, created_at, id);
CREATE INDEX audit_events_agency_idx ON audit_events(agency_id, created_at, id);

-- The durable record of every change for webhooks: the exact payload bytes, produced once
-- (DESIGN §10). Delivery comes later and reads from here.
CREATE TABLE outbox_events (
    id TEXT PRIMARY KEY NOT NULL,
    team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
    agency_id TEXT REFERENCES agencies(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    audit_event_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK ((team_id IS NULL) <> (agency_id IS NULL))
);
CREATE INDEX outbox_events_team_idx ON outbox_events(team_id, created_at, id);
CREATE INDEX outbox_events_agency_idx ON outbox_events(agency_id, created_at, id);

-- An account's own security activity (sign-in, sign-out, failures, throttling): not a team's
-- business, shown on the user's "Your account" page only.
CREATE TABLE security_events (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    action TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX security_events_user_idx ON security_events(user_id, created_at, id);

-- How long a team keeps its audit events; a background job prunes older ones.
ALTER TABLE teams ADD COLUMN audit_retention_days INTEGER NOT NULL DEFAULT 365;

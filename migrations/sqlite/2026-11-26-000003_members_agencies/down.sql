DROP TABLE agency_events;
ALTER TABLE audit_events DROP COLUMN actor_agency_id;
DROP TABLE invitations;
DROP INDEX teams_agency_idx;
ALTER TABLE teams DROP COLUMN suspended_at;
-- SQLite cannot drop a column with a REFERENCES clause; teams.agency_id stays (all NULL).
UPDATE teams SET agency_id = NULL;
DROP TABLE agency_members;
DROP TABLE agency_hosts;
DROP TABLE agencies;

-- Agencies own client teams; their members (operators) manage every client. The brand
-- (product name, logo, colour, support address, host names) belongs to the agency.
CREATE TABLE agencies (
    id TEXT PRIMARY KEY NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    -- Shown instead of "Latchkey" to the agency and its clients; NULL = the agency's name.
    product_name TEXT,
    -- '#rrggbb'; NULL = the default colour.
    primary_color TEXT,
    support_email TEXT,
    -- "Powered by Latchkey" under the brand: opt-in.
    powered_by BOOLEAN NOT NULL DEFAULT FALSE,
    logo BLOB,
    logo_type TEXT,
    -- Bumped on every brand change: the cache-busting part of brand asset URLs.
    brand_version BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- Host names (lower case, no port) on which the dashboard wears an agency's brand.
CREATE TABLE agency_hosts (
    host TEXT PRIMARY KEY NOT NULL,
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE
);
CREATE INDEX agency_hosts_agency_idx ON agency_hosts(agency_id);

CREATE TABLE agency_members (
    agency_id TEXT NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'operator')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (agency_id, user_id)
);
CREATE INDEX agency_members_user_idx ON agency_members(user_id);

-- A client team names its agency; suspended teams' keys are refused (ACCOUNT_SUSPENDED).
ALTER TABLE teams ADD COLUMN agency_id TEXT REFERENCES agencies(id);
ALTER TABLE teams ADD COLUMN suspended_at BIGINT;
CREATE INDEX teams_agency_idx ON teams(agency_id);

-- One-time invitation links (only the SHA-256 of the token is kept), to a team or an agency.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
    agency_id TEXT REFERENCES agencies(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at BIGINT,
    CHECK ((team_id IS NULL) <> (agency_id IS NULL))
);
CREATE INDEX invitations_team_idx ON invitations(team_id);
CREATE INDEX invitations_agency_idx ON invitations(agency_id);

-- An operator acting inside a client is recorded as "operator X of agency Y".
ALTER TABLE audit_events ADD COLUMN actor_agency_id TEXT;

-- Agency-level events (clients created, suspended, deleted; brand changes). Kept apart
-- from team events because a deleted client's own events go with it.
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

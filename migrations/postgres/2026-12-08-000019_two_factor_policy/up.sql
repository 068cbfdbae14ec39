-- A team's owners (an agency's owners, for its operators) may require a second factor: a member
-- without one is sent to set it up before any of the team's pages opens.
ALTER TABLE teams ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE agencies ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;

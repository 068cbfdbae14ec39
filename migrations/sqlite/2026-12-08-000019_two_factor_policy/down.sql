ALTER TABLE agencies DROP COLUMN require_two_factor;
ALTER TABLE teams DROP COLUMN require_two_factor;

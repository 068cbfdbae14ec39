DROP INDEX api_keys_replaced_by_idx;
DROP TABLE team_usage;
DROP TABLE api_key_addresses;
ALTER TABLE api_key_usage DROP COLUMN refused_expired;
ALTER TABLE api_key_usage DROP COLUMN refused_rate;
ALTER TABLE api_key_usage DROP COLUMN refused_address;
ALTER TABLE api_key_usage DROP COLUMN refused_scope;

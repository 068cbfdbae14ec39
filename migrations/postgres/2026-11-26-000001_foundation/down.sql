DROP TABLE login_throttles;
DROP TABLE setup_tokens;
DROP TABLE sessions;
DROP TABLE audit_events;
DROP TABLE api_keys;
DROP TABLE memberships;
DROP TABLE teams;
DROP TABLE users;

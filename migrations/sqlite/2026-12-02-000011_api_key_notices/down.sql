DROP TABLE api_key_notices;

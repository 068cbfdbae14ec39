DROP TABLE oauth_connections;

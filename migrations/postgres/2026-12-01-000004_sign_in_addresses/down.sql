DROP TABLE login_known_addresses;

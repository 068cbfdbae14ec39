DROP TABLE vault_checks;

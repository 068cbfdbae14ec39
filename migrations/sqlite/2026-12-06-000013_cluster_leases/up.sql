-- Several nodes (issue 19): the lease tables exist on both backends so the schema stays one,
-- but only PostgreSQL deployments use them (SQLite is a single node: its cache needs no lease).
CREATE TABLE cluster_nodes (
    node_id TEXT PRIMARY KEY NOT NULL,
    lease_until_ms BIGINT NOT NULL,
    acked_seq BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    address TEXT NOT NULL
);

CREATE TABLE cache_epoch (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO cache_epoch (id, seq) VALUES (1, 0);

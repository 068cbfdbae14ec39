-- Several nodes (issue 19). Every node that caches key records holds a lease here, renewed
-- about twice a second on its notification connection; a change that weakens a key bumps
-- cache_epoch.seq and sends pg_notify('latchkey_cache', '<seq> <what>') in its transaction,
-- then waits until every node with a live lease has acked_seq >= seq (or its lease ran out).
-- The row lock on cache_epoch makes those changes commit in seq order, which is the order
-- LISTEN delivers them in, so one number per node says what it has applied.
CREATE TABLE cluster_nodes (
    node_id TEXT PRIMARY KEY,
    lease_until_ms BIGINT NOT NULL,
    acked_seq BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    address TEXT NOT NULL
);

CREATE TABLE cache_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO cache_epoch (id, seq) VALUES (1, 0);

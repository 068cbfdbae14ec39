//! The lease table of the nodes that cache key records, and the change counter their caches
//! follow (DESIGN §11). PostgreSQL only: on SQLite there is one node, and nothing here is
//! called (`announce` answers `None`).
//!
//! Times are the database's clock in milliseconds, so nodes with skewed clocks still agree on
//! whose lease is live.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::DbConnection;

/// The channel a weakening change is announced on: `<seq> <what>`.
pub const CACHE_CHANNEL: &str = "latchkey_cache";
/// The channel a node says it has applied changes on (payload: its node id).
pub const ACK_CHANNEL: &str = "latchkey_acks";

/// The database's "now" in milliseconds (`clock_timestamp`, not the transaction's start).
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Inside a change's transaction: bumps the counter and announces `what` to every node, both
/// taking effect at commit. Returns the change's number (`None` on SQLite). The counter's row
/// lock is held until commit, so announced changes commit in the order of their numbers: call
/// this last in the transaction.
pub fn announce(conn: &mut DbConnection, what: &str) -> QueryResult<Option<i64>> {
    let DbConnection::Postgres(c) = conn else {
        return Ok(None);
    };
    let row: Seq = diesel::sql_query(format!(
        "WITH bumped AS (UPDATE cache_epoch SET seq = seq + 1 WHERE id = 1 RETURNING seq) \
         SELECT seq, pg_notify('{CACHE_CHANNEL}', seq::text || ' ' || $1) FROM bumped"
    ))
    .bind::<Text, _>(what)
    .get_result(c)?;
    Ok(Some(row.seq))
}

/// Starts (or restarts) a node's lease of `lease_ms`, as having applied every change so far
/// (its cache is empty, or is emptied before it is trusted). Returns the current number.
pub fn register(
    c: &mut diesel::pg::PgConnection,
    node: &str,
    address: &str,
    lease_ms: i64,
    started_at: i64,
) -> QueryResult<i64> {
    let row: Seq = diesel::sql_query(format!(
        "INSERT INTO cluster_nodes (node_id, lease_until_ms, acked_seq, started_at, address) \
         VALUES ($1, {NOW_MS} + $2, (SELECT seq FROM cache_epoch WHERE id = 1), $3, $4) \
         ON CONFLICT (node_id) DO UPDATE SET lease_until_ms = EXCLUDED.lease_until_ms, \
         acked_seq = EXCLUDED.acked_seq RETURNING acked_seq AS seq"
    ))
    .bind::<Text, _>(node)
    .bind::<BigInt, _>(lease_ms)
    .bind::<BigInt, _>(started_at)
    .bind::<Text, _>(address)
    .get_result(c)?;
    Ok(row.seq)
}

/// Extends a node's lease by `lease_ms` from now; returns the current change number, or
/// `None` when the node's row is gone (it was pruned as dead: register again).
pub fn renew(
    c: &mut diesel::pg::PgConnection,
    node: &str,
    lease_ms: i64,
) -> QueryResult<Option<i64>> {
    diesel::sql_query(format!(
        "UPDATE cluster_nodes SET lease_until_ms = {NOW_MS} + $2 WHERE node_id = $1 \
         RETURNING (SELECT seq FROM cache_epoch WHERE id = 1) AS seq"
    ))
    .bind::<Text, _>(node)
    .bind::<BigInt, _>(lease_ms)
    .get_result::<Seq>(c)
    .optional()
    .map(|row| row.map(|r| r.seq))
}

/// Records that `node` has applied every change up to `seq`, and tells the waiting writers.
pub fn acknowledge(c: &mut diesel::pg::PgConnection, node: &str, seq: i64) -> QueryResult<()> {
    diesel::sql_query(format!(
        "WITH acked AS (UPDATE cluster_nodes SET acked_seq = GREATEST(acked_seq, $2) \
         WHERE node_id = $1 RETURNING node_id) \
         SELECT pg_notify('{ACK_CHANNEL}', node_id) FROM acked"
    ))
    .bind::<Text, _>(node)
    .bind::<BigInt, _>(seq)
    .execute(c)
    .map(|_| ())
}

/// How many nodes other than `me` still hold a live lease without having applied change
/// `seq`: the writer of that change waits until this is 0.
pub fn lagging(conn: &mut DbConnection, me: &str, seq: i64) -> QueryResult<i64> {
    let DbConnection::Postgres(c) = conn else {
        return Ok(0);
    };
    let row: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM cluster_nodes \
         WHERE node_id <> $1 AND acked_seq < $2 AND lease_until_ms > {NOW_MS}"
    ))
    .bind::<Text, _>(me)
    .bind::<BigInt, _>(seq)
    .get_result(c)?;
    Ok(row.n)
}

/// Ends a node's lease at shutdown, so no writer waits for it.
pub fn leave(c: &mut diesel::pg::PgConnection, node: &str) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM cluster_nodes WHERE node_id = $1")
        .bind::<Text, _>(node)
        .execute(c)
        .map(|_| ())
}

/// Forgets nodes whose lease ended more than an hour ago (killed, never to return).
pub fn prune(c: &mut diesel::pg::PgConnection) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "DELETE FROM cluster_nodes WHERE lease_until_ms < {NOW_MS} - 3600000"
    ))
    .execute(c)
}

/// A node's row, for operators and tests.
#[derive(Debug, Clone, Queryable)]
pub struct NodeRow {
    /// The node's id (new at every start).
    pub node_id: String,
    /// When its lease ends, database milliseconds.
    pub lease_until_ms: i64,
    /// The last change it applied.
    pub acked_seq: i64,
    /// When it started, Unix seconds.
    pub started_at: i64,
    /// The address it listens on.
    pub address: String,
}

/// Every node row.
pub fn nodes(conn: &mut DbConnection) -> QueryResult<Vec<NodeRow>> {
    use crate::db::schema::cluster_nodes::dsl::*;
    cluster_nodes
        .order(started_at.asc())
        .select((node_id, lease_until_ms, acked_seq, started_at, address))
        .load(conn)
}

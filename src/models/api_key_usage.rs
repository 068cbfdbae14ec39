//! Writing gathered key usage: last use per key, and requests per key and hour, for many keys
//! at once (the in-memory buffer that gathers them is `usage.rs`).

use std::net::IpAddr;

use diesel::prelude::*;

use crate::db::schema::{api_key_usage, api_keys};
use crate::db::{DbConnection, write_tx};

/// One key's usage since the last flush.
pub struct KeyUsage<'a> {
    /// The key's id.
    pub id: &'a str,
    /// Its latest use, Unix seconds.
    pub last_used_at: i64,
    /// From where.
    pub last_ip: Option<IpAddr>,
    /// Requests per hour start.
    pub per_hour: &'a [(i64, i64)],
}

/// Ids per existence query.
const ID_CHUNK: usize = 500;

/// Rows per multi-row UPDATE / upsert: one prepared statement per chunk instead of two per key
/// (re-preparing per key was 13–20 % of server CPU under load), well under SQLite's and
/// PostgreSQL's bind-parameter limits (3 per row).
const ROWS_PER_STATEMENT: usize = 200;

/// `(?, ?, ?), (?, ?, ?)…` for SQLite; `($1::text, $2::bigint, $3::text)…` for PostgreSQL, whose
/// VALUES list needs the types spelled out.
fn values_list(rows: usize, pg_types: Option<[&str; 3]>) -> String {
    let mut out = String::with_capacity(rows * 24);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        match pg_types {
            None => out.push_str("(?, ?, ?)"),
            Some(t) => {
                let n = r * 3;
                out.push_str(&format!(
                    "(${}::{}, ${}::{}, ${}::{})",
                    n + 1,
                    t[0],
                    n + 2,
                    t[1],
                    n + 3,
                    t[2]
                ));
            }
        }
    }
    out
}

/// Last use per key, newest wins (a slower node's older flush never moves it backwards).
fn update_sql(rows: usize, pg: bool) -> String {
    if pg {
        format!(
            "UPDATE api_keys SET last_used_at = v.t, last_used_ip = v.ip \
             FROM (VALUES {}) AS v(id, t, ip) \
             WHERE api_keys.id = v.id \
             AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at <= v.t)",
            values_list(rows, Some(["text", "bigint", "text"]))
        )
    } else {
        format!(
            "WITH v(id, t, ip) AS (VALUES {}) \
             UPDATE api_keys SET last_used_at = v.t, last_used_ip = v.ip FROM v \
             WHERE api_keys.id = v.id \
             AND (api_keys.last_used_at IS NULL OR api_keys.last_used_at <= v.t)",
            values_list(rows, None)
        )
    }
}

/// Requests per key per hour, added to what earlier flushes stored.
fn upsert_sql(rows: usize, pg: bool) -> String {
    format!(
        "INSERT INTO api_key_usage (api_key_id, hour, requests) VALUES {} \
         ON CONFLICT (api_key_id, hour) \
         DO UPDATE SET requests = api_key_usage.requests + excluded.requests",
        values_list(rows, pg.then_some(["text", "bigint", "bigint"]))
    )
}

/// Writes one batch on a concrete connection (expanded once per backend): which keys still
/// exist (a key deleted meanwhile has nothing left to count), then chunked multi-row
/// statements for last use and hourly counts.
macro_rules! write_batch {
    ($c:expr, $rows:expr, $backend:ty, $pg:expr) => {{
        use diesel::sql_types::{BigInt, Nullable, Text};
        let c = $c;
        let rows: &[KeyUsage<'_>] = $rows;
        let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
        let mut live: std::collections::HashSet<String> = std::collections::HashSet::new();
        for chunk in ids.chunks(ID_CHUNK) {
            live.extend(
                api_keys::table
                    .filter(api_keys::id.eq_any(chunk))
                    .select(api_keys::id)
                    .load::<String>(c)?,
            );
        }
        let keys: Vec<&KeyUsage<'_>> = rows.iter().filter(|r| live.contains(r.id)).collect();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut q = diesel::sql_query(update_sql(chunk.len(), $pg)).into_boxed::<$backend>();
            for r in chunk {
                q = q
                    .bind::<Text, _>(r.id)
                    .bind::<BigInt, _>(r.last_used_at)
                    .bind::<Nullable<Text>, _>(r.last_ip.map(|ip| ip.to_string()));
            }
            q.execute(c)?;
        }
        let counts: Vec<(&str, i64, i64)> = keys
            .iter()
            .flat_map(|r| r.per_hour.iter().map(move |(h, n)| (r.id, *h, *n)))
            .collect();
        for chunk in counts.chunks(ROWS_PER_STATEMENT) {
            let mut q = diesel::sql_query(upsert_sql(chunk.len(), $pg)).into_boxed::<$backend>();
            for (id, hour, n) in chunk {
                q = q
                    .bind::<Text, _>(*id)
                    .bind::<BigInt, _>(*hour)
                    .bind::<BigInt, _>(*n);
            }
            q.execute(c)?;
        }
        Ok::<usize, diesel::result::Error>(live.len())
    }};
}

/// Writes `rows` in one transaction: keys deleted meanwhile are skipped; last use never moves
/// backwards; hourly counts add to what is stored. Returns how many keys were updated.
pub fn write(conn: &mut DbConnection, rows: &[KeyUsage<'_>]) -> QueryResult<usize> {
    write_tx(conn, |c| match c {
        DbConnection::Sqlite(c) => write_batch!(c, rows, diesel::sqlite::Sqlite, false),
        DbConnection::Postgres(c) => write_batch!(c, rows, diesel::pg::Pg, true),
    })
}

/// Sets a key's last use directly, inside the caller's transaction (sample data: the demo).
pub fn set_last_use(
    conn: &mut DbConnection,
    key_id: &str,
    at: i64,
    ip: Option<&str>,
) -> QueryResult<()> {
    diesel::update(api_keys::table.find(key_id))
        .set((api_keys::last_used_at.eq(at), api_keys::last_used_ip.eq(ip)))
        .execute(conn)
        .map(|_| ())
}

/// Stores hourly counts `(hour, requests)` of a key as given, inside the caller's transaction
/// (sample data: the demo).
pub fn insert_hours(
    conn: &mut DbConnection,
    key_id: &str,
    counts: &[(i64, i64)],
) -> QueryResult<()> {
    for (hour, requests) in counts {
        diesel::insert_into(api_key_usage::table)
            .values((
                api_key_usage::api_key_id.eq(key_id),
                api_key_usage::hour.eq(hour),
                api_key_usage::requests.eq(requests),
            ))
            .execute(conn)?;
    }
    Ok(())
}

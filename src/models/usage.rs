//! Writing gathered usage — of API keys, and of integrations (calls made through them): last
//! use per object, and requests per object and hour, for many objects at once (the in-memory
//! buffer that gathers them is `keycheck/usage.rs`).

use std::net::IpAddr;

use diesel::prelude::*;

use crate::db::schema::{api_key_usage, api_keys, integrations};
use crate::db::{DbConnection, write_tx};

/// What is counted: each has a table with `last_used_at` and an hourly usage table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counted {
    /// API keys (last use also records the address).
    ApiKeys,
    /// Integrations (calls made through them).
    Integrations,
}

impl Counted {
    /// The objects' table.
    fn table(self) -> &'static str {
        match self {
            Counted::ApiKeys => "api_keys",
            Counted::Integrations => "integrations",
        }
    }

    /// The hourly usage table and its object column.
    fn usage(self) -> (&'static str, &'static str) {
        match self {
            Counted::ApiKeys => ("api_key_usage", "api_key_id"),
            Counted::Integrations => ("integration_usage", "integration_id"),
        }
    }

    /// `, last_used_ip = v.ip` where the address is kept.
    fn ip_set(self) -> &'static str {
        match self {
            Counted::ApiKeys => ", last_used_ip = v.ip",
            Counted::Integrations => "",
        }
    }

    /// Which of `ids` still exist.
    fn live(self, c: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<String>> {
        match self {
            Counted::ApiKeys => api_keys::table
                .filter(api_keys::id.eq_any(ids))
                .select(api_keys::id)
                .load(c),
            Counted::Integrations => integrations::table
                .filter(integrations::id.eq_any(ids))
                .select(integrations::id)
                .load(c),
        }
    }
}

/// One object's usage since the last flush.
pub struct KeyUsage<'a> {
    /// The key's (or integration's) id.
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

/// Last use per object, newest wins (a slower node's older flush never moves it backwards).
fn update_sql(what: Counted, rows: usize, pg: bool) -> String {
    let (table, ip) = (what.table(), what.ip_set());
    if pg {
        format!(
            "UPDATE {table} SET last_used_at = v.t{ip} \
             FROM (VALUES {}) AS v(id, t, ip) \
             WHERE {table}.id = v.id \
             AND ({table}.last_used_at IS NULL OR {table}.last_used_at <= v.t)",
            values_list(rows, Some(["text", "bigint", "text"]))
        )
    } else {
        format!(
            "WITH v(id, t, ip) AS (VALUES {}) \
             UPDATE {table} SET last_used_at = v.t{ip} FROM v \
             WHERE {table}.id = v.id \
             AND ({table}.last_used_at IS NULL OR {table}.last_used_at <= v.t)",
            values_list(rows, None)
        )
    }
}

/// Requests per object per hour, added to what earlier flushes stored.
fn upsert_sql(what: Counted, rows: usize, pg: bool) -> String {
    let (usage, column) = what.usage();
    format!(
        "INSERT INTO {usage} ({column}, hour, requests) VALUES {} \
         ON CONFLICT ({column}, hour) \
         DO UPDATE SET requests = {usage}.requests + excluded.requests",
        values_list(rows, pg.then_some(["text", "bigint", "bigint"]))
    )
}

/// Writes one batch on a concrete connection (expanded once per backend): which keys still
/// exist (a key deleted meanwhile has nothing left to count), then chunked multi-row
/// statements for last use and hourly counts.
macro_rules! write_batch {
    ($c:expr, $what:expr, $live:expr, $rows:expr, $backend:ty, $pg:expr) => {{
        use diesel::sql_types::{BigInt, Nullable, Text};
        let c = $c;
        let what: Counted = $what;
        let rows: &[KeyUsage<'_>] = $rows;
        let live: std::collections::HashSet<String> = $live;
        let keys: Vec<&KeyUsage<'_>> = rows.iter().filter(|r| live.contains(r.id)).collect();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut q =
                diesel::sql_query(update_sql(what, chunk.len(), $pg)).into_boxed::<$backend>();
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
            let mut q =
                diesel::sql_query(upsert_sql(what, chunk.len(), $pg)).into_boxed::<$backend>();
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

/// Writes `rows` in one transaction: objects deleted meanwhile are skipped; last use never
/// moves backwards; hourly counts add to what is stored. Returns how many were updated.
pub fn write(conn: &mut DbConnection, what: Counted, rows: &[KeyUsage<'_>]) -> QueryResult<usize> {
    write_tx(conn, |c| {
        let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
        let mut live = std::collections::HashSet::new();
        for chunk in ids.chunks(ID_CHUNK) {
            live.extend(what.live(c, chunk)?);
        }
        match c {
            DbConnection::Sqlite(c) => {
                write_batch!(c, what, live, rows, diesel::sqlite::Sqlite, false)
            }
            DbConnection::Postgres(c) => write_batch!(c, what, live, rows, diesel::pg::Pg, true),
        }
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

//! Key usage (last use, address, requests per hour) gathered in memory on the request path and
//! written in batches: a database write per request was measured to cut throughput to a fifth.
//! `flush` runs every few seconds and at shutdown.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use diesel::prelude::*;

use crate::db::schema::api_keys;
use crate::db::{DbConnection, write_tx};

#[derive(Default)]
struct Pending {
    last_used_at: i64,
    last_ip: Option<IpAddr>,
    per_hour: HashMap<i64, i64>,
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
    ($c:expr, $batch:expr, $backend:ty, $pg:expr) => {{
        use diesel::sql_types::{BigInt, Nullable, Text};
        let c = $c;
        let batch: &HashMap<String, Pending> = $batch;
        let ids: Vec<&String> = batch.keys().collect();
        let mut live: std::collections::HashSet<String> = std::collections::HashSet::new();
        for chunk in ids.chunks(ID_CHUNK) {
            live.extend(
                api_keys::table
                    .filter(api_keys::id.eq_any(chunk))
                    .select(api_keys::id)
                    .load::<String>(c)?,
            );
        }
        let keys: Vec<(&String, &Pending)> =
            batch.iter().filter(|(id, _)| live.contains(*id)).collect();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut q = diesel::sql_query(update_sql(chunk.len(), $pg)).into_boxed::<$backend>();
            for (id, p) in chunk {
                q = q
                    .bind::<Text, _>(id.as_str())
                    .bind::<BigInt, _>(p.last_used_at)
                    .bind::<Nullable<Text>, _>(p.last_ip.map(|ip| ip.to_string()));
            }
            q.execute(c)?;
        }
        let counts: Vec<(&String, i64, i64)> = keys
            .iter()
            .flat_map(|(id, p)| p.per_hour.iter().map(move |(h, n)| (*id, *h, *n)))
            .collect();
        for chunk in counts.chunks(ROWS_PER_STATEMENT) {
            let mut q = diesel::sql_query(upsert_sql(chunk.len(), $pg)).into_boxed::<$backend>();
            for (id, hour, n) in chunk {
                q = q
                    .bind::<Text, _>(id.as_str())
                    .bind::<BigInt, _>(*hour)
                    .bind::<BigInt, _>(*n);
            }
            q.execute(c)?;
        }
        Ok::<usize, diesel::result::Error>(live.len())
    }};
}

/// The in-memory buffer.
#[derive(Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<String, Pending>>,
}

impl UsageRecorder {
    /// Notes one authenticated request of `key_id` from `ip` at `now`. Allocates only for a
    /// key's first request since the last flush (this runs on every API request).
    pub fn record(&self, key_id: &str, ip: Option<IpAddr>, now: i64) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        if !pending.contains_key(key_id) {
            pending.insert(key_id.to_owned(), Pending::default());
        }
        let Some(p) = pending.get_mut(key_id) else {
            return;
        };
        if now >= p.last_used_at {
            p.last_used_at = now;
            p.last_ip = ip;
        }
        *p.per_hour.entry(now - now.rem_euclid(3600)).or_insert(0) += 1;
    }

    /// Writes everything gathered so far; returns how many keys were updated. On failure the
    /// batch is put back to be retried by the next flush.
    pub fn flush(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let batch = match self.pending.lock() {
            Ok(mut p) if !p.is_empty() => std::mem::take(&mut *p),
            _ => return Ok(0),
        };
        let result = write_tx(conn, |c| match c {
            DbConnection::Sqlite(c) => write_batch!(c, &batch, diesel::sqlite::Sqlite, false),
            DbConnection::Postgres(c) => write_batch!(c, &batch, diesel::pg::Pg, true),
        });
        match result {
            Ok(n) => Ok(n),
            Err(e) => {
                self.put_back(batch);
                Err(e)
            }
        }
    }

    fn put_back(&self, batch: HashMap<String, Pending>) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        for (key, p) in batch {
            let cur = pending.entry(key).or_default();
            if p.last_used_at >= cur.last_used_at {
                cur.last_used_at = p.last_used_at;
                cur.last_ip = p.last_ip;
            }
            for (h, c) in p.per_hour {
                *cur.per_hour.entry(h).or_insert(0) += c;
            }
        }
    }
}

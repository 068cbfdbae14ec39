//! Key usage (last use, address, requests per hour) gathered in memory on the request path and
//! written in batches: a database write per request was measured to cut throughput to a fifth.
//! `flush` runs every few seconds and at shutdown.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use diesel::prelude::*;

use crate::db::schema::api_keys;
use crate::db::{DbConnection, write_tx};
use crate::slots::{Slots, WORKER_SLOTS};

#[derive(Default)]
struct Pending {
    last_used_at: i64,
    last_ip: Option<IpAddr>,
    /// Requests per hour start; nearly always one or two hours per flush interval.
    per_hour: Vec<(i64, i64)>,
}

impl Pending {
    fn count(&mut self, hour: i64, requests: i64) {
        match self.per_hour.iter_mut().find(|(h, _)| *h == hour) {
            Some((_, n)) => *n += requests,
            None => self.per_hour.push((hour, requests)),
        }
    }
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
        let batch: &Batch = $batch;
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

/// The in-memory buffer: one map per worker thread (no lock shared between workers on the
/// request path), merged at flush time.
pub struct UsageRecorder {
    pending: Slots<Batch>,
}

impl Default for UsageRecorder {
    fn default() -> Self {
        Self {
            pending: Slots::new(WORKER_SLOTS),
        }
    }
}

/// Usage by key id (server-made, so Fx hashing is safe).
type Batch = FxHashMap<String, Pending>;

/// Adds `p` (one key's usage) to `into`: the newest use wins, counts add up.
fn merge(into: &mut Batch, key: String, p: Pending) {
    let cur = into.entry(key).or_default();
    if p.last_used_at >= cur.last_used_at {
        cur.last_used_at = p.last_used_at;
        cur.last_ip = p.last_ip;
    }
    for (h, c) in p.per_hour {
        cur.count(h, c);
    }
}

impl UsageRecorder {
    /// Notes one authenticated request of `key_id` from `ip` at `now`. Allocates only for a
    /// key's first request since the last flush (this runs on every API request).
    pub fn record(&self, key_id: &str, ip: Option<IpAddr>, now: i64) {
        let mut pending = self.pending.for_thread();
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
        p.count(now - now.rem_euclid(3600), 1);
    }

    /// Writes everything gathered so far; returns how many keys were updated. On failure the
    /// batch is put back to be retried by the next flush.
    pub fn flush(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let mut batch = Batch::default();
        for mut slot in self.pending.each() {
            let taken = std::mem::take(&mut *slot);
            if batch.is_empty() {
                batch = taken;
            } else {
                for (key, p) in taken {
                    merge(&mut batch, key, p);
                }
            }
        }
        if batch.is_empty() {
            return Ok(0);
        }
        let result = write_tx(conn, |c| match c {
            DbConnection::Sqlite(c) => write_batch!(c, &batch, diesel::sqlite::Sqlite, false),
            DbConnection::Postgres(c) => write_batch!(c, &batch, diesel::pg::Pg, true),
        });
        match result {
            Ok(n) => Ok(n),
            Err(e) => {
                let mut pending = self.pending.for_thread();
                for (key, p) in batch {
                    merge(&mut pending, key, p);
                }
                Err(e)
            }
        }
    }
}

//! Key usage (last use, address, requests per hour) gathered in memory on the request path and
//! written in batches: a database write per request was measured to cut throughput to a fifth.
//! `flush` runs every few seconds and at shutdown.

use std::collections::HashMap;
use std::sync::Mutex;

use diesel::prelude::*;

use crate::db::schema::{api_key_usage, api_keys};
use crate::db::{DbConnection, write_tx};

#[derive(Default)]
struct Pending {
    last_used_at: i64,
    last_ip: Option<String>,
    per_hour: HashMap<i64, i64>,
}

/// Ids per existence query.
const ID_CHUNK: usize = 500;

/// Writes one batch on a concrete connection (expanded once per backend): which keys still
/// exist (a key deleted meanwhile has nothing left to count), then per key one update of
/// its last use and one upsert per hour of counts.
macro_rules! write_batch {
    ($c:expr, $batch:expr) => {{
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
        for (key_id, p) in batch.iter().filter(|(id, _)| live.contains(*id)) {
            diesel::update(
                api_keys::table.filter(api_keys::id.eq(key_id)).filter(
                    api_keys::last_used_at
                        .is_null()
                        .or(api_keys::last_used_at.le(p.last_used_at)),
                ),
            )
            .set((
                api_keys::last_used_at.eq(p.last_used_at),
                api_keys::last_used_ip.eq(&p.last_ip),
            ))
            .execute(c)?;
            for (hour, count) in &p.per_hour {
                diesel::insert_into(api_key_usage::table)
                    .values((
                        api_key_usage::api_key_id.eq(key_id),
                        api_key_usage::hour.eq(hour),
                        api_key_usage::requests.eq(count),
                    ))
                    .on_conflict((api_key_usage::api_key_id, api_key_usage::hour))
                    .do_update()
                    .set(
                        api_key_usage::requests.eq(api_key_usage::requests
                            + diesel::upsert::excluded(api_key_usage::requests)),
                    )
                    .execute(c)?;
            }
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
    /// Notes one authenticated request of `key_id` from `ip` at `now`.
    pub fn record(&self, key_id: &str, ip: Option<&str>, now: i64) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        let p = pending.entry(key_id.to_owned()).or_default();
        if now >= p.last_used_at {
            p.last_used_at = now;
            if p.last_ip.as_deref() != ip {
                p.last_ip = ip.map(str::to_owned);
            }
        }
        *p.per_hour.entry(now - now.rem_euclid(3600)).or_insert(0) += 1;
    }

    /// Writes everything gathered so far; returns how many keys were updated. On failure the
    /// batch is put back to be retried by the next flush. Runs on the concrete connection so its
    /// few statements stay prepared (the flush handles every key used since the last one).
    pub fn flush(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let batch = match self.pending.lock() {
            Ok(mut p) if !p.is_empty() => std::mem::take(&mut *p),
            _ => return Ok(0),
        };
        let result = write_tx(conn, |c| match c {
            DbConnection::Sqlite(c) => write_batch!(c, &batch),
            DbConnection::Postgres(c) => write_batch!(c, &batch),
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

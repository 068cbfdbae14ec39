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
            p.last_ip = ip.map(str::to_owned);
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
        let n = batch.len();
        let result = write_tx(conn, |c| {
            for (key_id, p) in &batch {
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
                    let updated = diesel::update(api_key_usage::table.find((key_id, hour)))
                        .set(api_key_usage::requests.eq(api_key_usage::requests + count))
                        .execute(c)?;
                    if updated == 0 {
                        // The key may have been deleted meanwhile (cascade): nothing to count.
                        let exists: bool =
                            diesel::select(diesel::dsl::exists(api_keys::table.find(key_id)))
                                .get_result(c)?;
                        if exists {
                            diesel::insert_into(api_key_usage::table)
                                .values((
                                    api_key_usage::api_key_id.eq(key_id),
                                    api_key_usage::hour.eq(hour),
                                    api_key_usage::requests.eq(count),
                                ))
                                .execute(c)?;
                        }
                    }
                }
            }
            Ok::<_, diesel::result::Error>(())
        });
        if let Err(e) = result {
            self.put_back(batch);
            return Err(e);
        }
        Ok(n)
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

//! Key usage (last use, address, requests per hour) gathered in memory on the request path and
//! written in batches: a database write per request was measured to cut throughput to a fifth.
//! `flush` runs every few seconds and at shutdown.

use std::net::IpAddr;

use diesel::QueryResult;
use rustc_hash::FxHashMap;

use crate::db::DbConnection;
use crate::keycheck::slots::{Slots, WORKER_SLOTS};
use crate::models::usage::{self as usage_rows, Counted, KeyUsage};

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

/// The in-memory buffer: one map per worker thread (no lock shared between workers on the
/// request path), merged at flush time.
pub struct UsageRecorder {
    what: Counted,
    pending: Slots<Batch>,
}

impl Default for UsageRecorder {
    /// The recorder of API key usage.
    fn default() -> Self {
        Self::new(Counted::ApiKeys)
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
    /// A recorder of `what`'s usage.
    pub fn new(what: Counted) -> Self {
        Self {
            what,
            pending: Slots::new(WORKER_SLOTS),
        }
    }

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
        let rows: Vec<KeyUsage<'_>> = batch
            .iter()
            .map(|(id, p)| KeyUsage {
                id,
                last_used_at: p.last_used_at,
                last_ip: p.last_ip,
                per_hour: &p.per_hour,
            })
            .collect();
        let result = usage_rows::write(conn, self.what, &rows);
        drop(rows);
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

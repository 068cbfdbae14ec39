//! Usage (last use, address, requests per hour) gathered in memory on the request path and
//! written in batches: a database write per request was measured to cut throughput to a fifth.
//! `flush` runs every few seconds and at shutdown. Keys count theirs in their tallies
//! (`tally.rs`); integrations' calls are counted here, by id.

use std::net::IpAddr;

use diesel::QueryResult;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::db::DbConnection;
use crate::keycheck::slots::{Slots, WORKER_SLOTS};
use crate::models::usage::{self as usage_rows, Counted, KeyUsage, Outcome, Outcomes};

/// One key's (or integration's) usage since the last flush.
#[derive(Default)]
pub(super) struct Pending {
    last_used_at: i64,
    last_ip: Option<IpAddr>,
    /// Requests per hour start, by outcome; nearly always one or two hours per flush interval,
    /// so they are kept inline: a request counting through a key's tally touches no further
    /// memory.
    per_hour: SmallVec<[(i64, Outcomes); 2]>,
}

/// The hour `now` falls in.
fn hour_of(now: i64) -> i64 {
    now - now.rem_euclid(3600)
}

impl Pending {
    /// One use (an accepted request) from `ip` at `now`.
    pub(super) fn note(&mut self, ip: Option<IpAddr>, now: i64) {
        if now >= self.last_used_at {
            self.last_used_at = now;
            self.last_ip = ip;
        }
        self.bump(hour_of(now), Outcome::Accepted);
    }

    /// One refused request at `now` (not a use: the last use stays).
    pub(super) fn refuse(&mut self, outcome: Outcome, now: i64) {
        self.bump(hour_of(now), outcome);
    }

    /// One more request with `outcome` in `hour` (the request path's count: one slot).
    fn bump(&mut self, hour: i64, outcome: Outcome) {
        match self.per_hour.iter_mut().find(|(h, _)| *h == hour) {
            Some((_, counts)) => counts.bump(outcome),
            None => self.per_hour.push((hour, Outcomes::one(outcome))),
        }
    }

    /// Adds `other` (the same key's usage counted elsewhere): the newest use wins, counts add up.
    pub(super) fn absorb(&mut self, other: Pending) {
        if other.last_used_at >= self.last_used_at {
            self.last_used_at = other.last_used_at;
            self.last_ip = other.last_ip;
        }
        for (h, c) in other.per_hour {
            self.count(h, c);
        }
    }

    /// Nothing counted.
    pub(super) fn is_empty(&self) -> bool {
        self.per_hour.is_empty()
    }

    fn count(&mut self, hour: i64, n: Outcomes) {
        match self.per_hour.iter_mut().find(|(h, _)| *h == hour) {
            Some((_, counts)) => counts.add(&n),
            None => self.per_hour.push((hour, n)),
        }
    }
}

/// The in-memory buffer: one map per worker thread (no lock shared between workers on the
/// request path), merged at flush time.
pub struct UsageRecorder {
    what: Counted,
    pending: Slots<Batch>,
}

/// Usage by key id (server-made, so Fx hashing is safe).
pub(super) type Batch = FxHashMap<String, Pending>;

/// Adds `p` (one key's usage) to `into`.
fn merge(into: &mut Batch, key: String, p: Pending) {
    into.entry(key).or_default().absorb(p);
}

/// Writes `batch` of `what`'s usage, in the caller's transaction when `in_tx`, else in its own;
/// returns how many rows were updated.
pub(super) fn write_in(
    conn: &mut DbConnection,
    what: Counted,
    batch: &Batch,
    in_tx: bool,
) -> QueryResult<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let rows: Vec<KeyUsage<'_>> = batch
        .iter()
        .map(|(id, p)| KeyUsage {
            id,
            last_used_at: p.last_used_at,
            last_ip: p.last_ip,
            per_hour: &p.per_hour[..],
        })
        .collect();
    if in_tx {
        usage_rows::write_in(conn, what, &rows)
    } else {
        usage_rows::write(conn, what, &rows)
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

    /// Notes one use of `id` from `ip` at `now`. Allocates only for its first use since the
    /// last flush.
    pub fn record(&self, id: &str, ip: Option<IpAddr>, now: i64) {
        let mut pending = self.pending.for_thread();
        if !pending.contains_key(id) {
            pending.insert(id.to_owned(), Pending::default());
        }
        if let Some(p) = pending.get_mut(id) {
            p.note(ip, now);
        }
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
        write_in(conn, self.what, &batch, false).inspect_err(|_| {
            let mut pending = self.pending.for_thread();
            for (key, p) in batch {
                merge(&mut pending, key, p);
            }
        })
    }
}

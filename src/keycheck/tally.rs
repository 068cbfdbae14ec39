//! What this node counts of each key between usage flushes: its rate-limit window and its usage
//! (last use, address, requests per hour).
//!
//! A key's tally is found by its id once, when the key enters the key cache, and the cache entry
//! holds it: a request then counts through the entry it already has, under one small lock,
//! instead of looking the key up again in a rate-limit map and a usage map (two hashes of the
//! id, two locks, two cold lines each: a third of what the key check cost, by `perf`).
//! Every worker's entry for one key holds the same tally, so the window is exact per node.
//! Tallies outlive cache entries (an invalidation must not reopen a window); those no entry
//! holds, with nothing to flush and no current window, are dropped by [`Tallies::prune`].

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use diesel::QueryResult;
use rustc_hash::FxHashMap;

use crate::db::DbConnection;
use crate::keycheck::ratelimit::{RateDecision, Window};
use crate::keycheck::slots::Slots;
use crate::keycheck::usage::{self, Batch, Pending};
use crate::models::usage::Counted;

/// One key's counts on this node.
#[derive(Default)]
pub struct Tally(Mutex<Counts>);

#[derive(Default)]
struct Counts {
    window: Window,
    usage: Pending,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tally")
    }
}

impl Tally {
    /// Counts one request at `now` against `limit` per minute.
    pub fn limit(&self, limit: i64, now: i64) -> RateDecision {
        self.lock().window.count(limit, now)
    }

    /// Notes one admitted request from `ip` at `now`.
    pub fn record(&self, ip: Option<IpAddr>, now: i64) {
        self.lock().usage.note(ip, now);
    }

    // Counts are never half-written: a poisoned lock is still good to use.
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Lock slots, picked by key id: only a cache miss or a flush takes one.
const SLOTS: usize = 64;

/// Every key's tally on this node, by key id (server-made, so Fx hashing is safe).
pub struct Tallies {
    by_key: Slots<FxHashMap<String, Arc<Tally>>>,
}

impl Default for Tallies {
    fn default() -> Self {
        Self {
            by_key: Slots::new(SLOTS),
        }
    }
}

impl Tallies {
    /// The tally of `key_id` (made on first use).
    pub fn of(&self, key_id: &str) -> Arc<Tally> {
        let mut slot = self.by_key.for_key(key_id);
        if let Some(tally) = slot.get(key_id) {
            return tally.clone();
        }
        let tally = Arc::new(Tally::default());
        slot.insert(key_id.to_owned(), tally.clone());
        tally
    }

    /// Writes the usage counted since the last flush; returns how many keys were updated. On
    /// failure it is counted again, to be retried by the next flush.
    pub fn flush(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let mut batch = Batch::default();
        for slot in self.by_key.each() {
            for (id, tally) in slot.iter() {
                let mut counts = tally.lock();
                if !counts.usage.is_empty() {
                    batch.insert(id.clone(), std::mem::take(&mut counts.usage));
                }
            }
        }
        usage::write(conn, Counted::ApiKeys, batch).map_err(|(e, batch)| {
            for (id, p) in batch {
                self.of(&id).lock().usage.absorb(p);
            }
            e
        })
    }

    /// Drops the tallies that no cache entry holds, with no usage to flush and no window
    /// counting at `now`; returns how many are left.
    pub fn prune(&self, now: i64) -> usize {
        let mut left = 0;
        for mut slot in self.by_key.each() {
            // A cache entry clones its tally under this slot's lock (`of`), so a count of one
            // seen here cannot grow before the tally is gone.
            slot.retain(|_, tally| {
                let counts = tally.lock();
                Arc::strong_count(tally) > 1
                    || !counts.usage.is_empty()
                    || counts.window.is_current(now)
            });
            left += slot.len();
        }
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_768_471_200; // a minute boundary

    #[test]
    fn one_key_has_one_tally_whoever_asks() {
        let tallies = Tallies::default();
        let (a, b) = (tallies.of("key_1"), tallies.of("key_1"));
        assert!(Arc::ptr_eq(&a, &b));
        for _ in 0..2 {
            assert!(a.limit(3, T).allowed);
        }
        assert_eq!(b.limit(3, T).remaining, 0, "one window per key");
        assert!(!a.limit(3, T + 1).allowed);
        assert!(
            tallies.of("key_2").limit(3, T + 1).allowed,
            "keys are independent"
        );
    }

    #[test]
    fn prune_keeps_held_counting_and_unflushed_tallies() {
        let tallies = Tallies::default();
        let held = tallies.of("held");
        drop(tallies.of("idle"));
        tallies.of("counting").limit(10, T);
        tallies.of("used").record(None, T - 3600);
        assert_eq!(tallies.prune(T + 1), 3, "idle is gone");
        // A minute later the window no longer counts; the usage still waits for a flush.
        assert_eq!(tallies.prune(T + 60), 2);
        assert!(Arc::ptr_eq(&held, &tallies.of("held")));
        // A pruned key starts a fresh window.
        assert_eq!(tallies.of("counting").limit(10, T + 61).remaining, 9);
    }
}

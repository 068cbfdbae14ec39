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
use crate::models::usage::{Counted, Outcome};

/// One key's counts on this node.
#[derive(Default)]
pub struct Tally(Mutex<Counts>);

#[derive(Default)]
struct Counts {
    window: Window,
    usage: Pending,
    seen: Addresses,
}

/// Distinct client addresses a key notes between two flushes; more are not noted (a key used
/// from thousands of addresses, a mobile app's, is not watched address by address).
pub const ADDRESSES_PER_FLUSH: usize = 16;

/// The addresses a key was used from since the last flush.
#[derive(Default)]
pub struct Addresses(smallvec::SmallVec<[Seen; 1]>);

/// One client address of one key since the last flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The address.
    pub ip: IpAddr,
    /// First request from it, Unix seconds.
    pub first: i64,
    /// Latest request from it.
    pub last: i64,
    /// Requests from it, accepted or refused.
    pub requests: i64,
}

impl Addresses {
    fn note(&mut self, ip: Option<IpAddr>, now: i64) {
        if let Some(ip) = ip {
            self.add(Seen {
                ip,
                first: now,
                last: now,
                requests: 1,
            });
        }
    }

    fn absorb(&mut self, other: Addresses) {
        for seen in other.0 {
            self.add(seen);
        }
    }

    fn add(&mut self, o: Seen) {
        if let Some(s) = self.0.iter_mut().find(|s| s.ip == o.ip) {
            s.first = s.first.min(o.first);
            s.last = s.last.max(o.last);
            s.requests += o.requests;
        } else if self.0.len() < ADDRESSES_PER_FLUSH {
            self.0.push(o);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tally")
    }
}

impl Tally {
    /// Counts one request from `ip` at `now` against `limit` per minute and notes it, admitted
    /// or refused for the limit: one lock for both on the hot path.
    pub fn limit(&self, limit: i64, ip: Option<IpAddr>, now: i64) -> RateDecision {
        let mut c = self.lock();
        let decision = c.window.count(limit, now);
        if decision.allowed {
            c.usage.note(ip, now);
        } else {
            c.usage.refuse(Outcome::RateLimit, now);
        }
        c.seen.note(ip, now);
        decision
    }

    /// Notes one admitted request from `ip` at `now`.
    pub fn record(&self, ip: Option<IpAddr>, now: i64) {
        let mut c = self.lock();
        c.usage.note(ip, now);
        c.seen.note(ip, now);
    }

    /// Notes one refused request from `ip` at `now` (`outcome` says why).
    pub fn refuse(&self, outcome: Outcome, ip: Option<IpAddr>, now: i64) {
        let mut c = self.lock();
        c.usage.refuse(outcome, now);
        c.seen.note(ip, now);
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

    /// Writes the usage counted since the last flush, in one transaction with what
    /// `addresses` makes of the client addresses seen (`key id, addresses`); returns how many
    /// keys were updated. On failure everything is counted again, to be retried by the next
    /// flush.
    pub fn flush<F>(&self, conn: &mut DbConnection, addresses: F) -> QueryResult<usize>
    where
        F: FnOnce(&mut DbConnection, &[(&str, &[Seen])]) -> QueryResult<()>,
    {
        let mut batch = Batch::default();
        let mut seen: Vec<(String, Addresses)> = vec![];
        for slot in self.by_key.each() {
            for (id, tally) in slot.iter() {
                let mut counts = tally.lock();
                if !counts.usage.is_empty() {
                    batch.insert(id.clone(), std::mem::take(&mut counts.usage));
                }
                if !counts.seen.is_empty() {
                    seen.push((id.clone(), std::mem::take(&mut counts.seen)));
                }
            }
        }
        if batch.is_empty() && seen.is_empty() {
            return Ok(0);
        }
        let mut updated = 0;
        let result = crate::db::write_tx(conn, |c| {
            updated = usage::write_in(c, Counted::ApiKeys, &batch, true)?;
            let rows: Vec<(&str, &[Seen])> =
                seen.iter().map(|(id, a)| (id.as_str(), &a.0[..])).collect();
            addresses(c, &rows)
        });
        match result {
            Ok(()) => Ok(updated),
            Err(e) => {
                for (id, p) in batch {
                    self.of(&id).lock().usage.absorb(p);
                }
                for (id, a) in seen {
                    self.of(&id).lock().seen.absorb(a);
                }
                Err(e)
            }
        }
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
                    || !counts.seen.is_empty()
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
    fn a_counted_request_is_noted_as_admitted_or_refused() {
        let tally = Tally::default();
        let ip = "203.0.113.7".parse().ok();
        assert!(tally.limit(1, ip, T).allowed);
        assert!(!tally.limit(1, ip, T).allowed);
        let c = tally.lock();
        assert!(!c.usage.is_empty());
        assert_eq!(c.seen.0.len(), 1);
        assert_eq!(
            c.seen.0[0].requests, 2,
            "both requests, admitted and refused"
        );
    }

    #[test]
    fn one_key_has_one_tally_whoever_asks() {
        let tallies = Tallies::default();
        let (a, b) = (tallies.of("key_1"), tallies.of("key_1"));
        assert!(Arc::ptr_eq(&a, &b));
        for _ in 0..2 {
            assert!(a.limit(3, None, T).allowed);
        }
        assert_eq!(b.limit(3, None, T).remaining, 0, "one window per key");
        assert!(!a.limit(3, None, T + 1).allowed);
        assert!(
            tallies.of("key_2").limit(3, None, T + 1).allowed,
            "keys are independent"
        );
    }

    #[test]
    fn prune_keeps_held_counting_and_unflushed_tallies() {
        let tallies = Tallies::default();
        let held = tallies.of("held");
        drop(tallies.of("idle"));
        let counting = tallies.of("counting");
        assert!(counting.limit(10, None, T).allowed);
        // A flush took what it noted; only its window counts now.
        std::mem::take(&mut counting.lock().usage);
        drop(counting);
        tallies.of("used").record(None, T - 3600);
        assert_eq!(tallies.prune(T + 1), 3, "idle is gone");
        // A minute later the window no longer counts; the usage still waits for a flush.
        assert_eq!(tallies.prune(T + 60), 2);
        assert!(Arc::ptr_eq(&held, &tallies.of("held")));
        // A pruned key starts a fresh window.
        assert_eq!(tallies.of("counting").limit(10, None, T + 61).remaining, 9);
    }
}

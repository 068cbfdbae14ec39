//! Per-key rate limiting: a fixed one-minute window per key, shared by every worker of the
//! process. Fixed windows make `X-RateLimit-*` exact and easy to reason about ("600 per
//! minute, resets at :00"). Across several nodes the window moves to Redis (a later issue).

use rustc_hash::FxHashMap;

use crate::keycheck::slots::Slots;

/// Window length in seconds.
pub const WINDOW: i64 = 60;

/// The outcome of one check, also what the response headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateDecision {
    /// Request allowed.
    pub allowed: bool,
    /// Requests per window.
    pub limit: i64,
    /// Requests left in this window after this one.
    pub remaining: i64,
    /// Unix time at which the window resets.
    pub reset_at: i64,
}

/// Lock slots, picked by key: two workers meet on one only when their keys share a slot.
const SLOTS: usize = 64;

/// Windows kept per slot before stale ones are dropped.
const SLOT_CAPACITY: usize = 100_000 / SLOTS;

/// One lock slot's windows.
#[derive(Default)]
struct Windows {
    // Keyed by key id (server-made, so Fx hashing is safe): window start, requests in it.
    by_key: FxHashMap<String, (i64, i64)>,
    // The window during which stale entries were last dropped: at most one scan per slot per
    // minute, however many keys are active.
    pruned_in: i64,
}

/// The limiter.
pub struct RateLimiter {
    windows: Slots<Windows>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            windows: Slots::new(SLOTS),
        }
    }
}

impl RateLimiter {
    /// Counts one request of `key` at `now` against `limit` per minute.
    pub fn check(&self, key: &str, limit: i64, now: i64) -> RateDecision {
        let start = now - now.rem_euclid(WINDOW);
        let reset_at = start + WINDOW;
        let mut slot = self.windows.for_key(key);
        if slot.by_key.len() > SLOT_CAPACITY && slot.pruned_in != start {
            slot.by_key.retain(|_, (s, _)| *s == start);
            slot.pruned_in = start;
        }
        let windows = &mut slot.by_key;
        // Look up before inserting: the hot path allocates only for a key's first request.
        if !windows.contains_key(key) {
            windows.insert(key.to_owned(), (start, 0));
        }
        let Some(entry) = windows.get_mut(key) else {
            return RateDecision {
                allowed: true,
                limit,
                remaining: limit,
                reset_at,
            };
        };
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 >= limit {
            return RateDecision {
                allowed: false,
                limit,
                remaining: 0,
                reset_at,
            };
        }
        entry.1 += 1;
        RateDecision {
            allowed: true,
            limit,
            remaining: limit - entry.1,
            reset_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_allows_exactly_the_limit_then_resets() {
        let rl = RateLimiter::default();
        let t = 1_768_471_200; // a minute boundary
        for i in 0..3 {
            let d = rl.check("k", 3, t + i);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
            assert_eq!(d.reset_at, t + 60);
        }
        assert!(!rl.check("k", 3, t + 59).allowed);
        assert!(rl.check("other", 3, t + 59).allowed, "keys are independent");
        assert_eq!(rl.check("k", 3, t + 60).remaining, 2);
    }

    fn windows(rl: &RateLimiter) -> usize {
        rl.windows.each().map(|w| w.by_key.len()).sum()
    }

    #[test]
    fn windows_of_past_minutes_are_dropped_once_a_slot_is_full() {
        let rl = RateLimiter::default();
        let t = 1_768_471_200;
        let keys = SLOTS * SLOT_CAPACITY * 6 / 5;
        for i in 0..keys {
            rl.check(&format!("key_{i}"), 10, t);
        }
        assert_eq!(windows(&rl), keys);
        // A new minute: the first check in a full slot drops that slot's stale windows.
        assert_eq!(rl.check("key_0", 10, t + 60).remaining, 9);
        let left = windows(&rl);
        assert!(
            left < keys - SLOT_CAPACITY / 2,
            "{left} windows left of {keys}"
        );
        // The current window survives later prunes and keeps counting.
        assert_eq!(rl.check("key_0", 10, t + 61).remaining, 8);
    }
}

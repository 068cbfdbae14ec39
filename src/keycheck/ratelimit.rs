//! Per-key rate limiting: a fixed one-minute window per key. Fixed windows make
//! `X-RateLimit-*` exact and easy to reason about ("600 per minute, resets at :00"). On one node
//! each key's window lives in its tally (`tally.rs`, shared by every worker); across several
//! nodes the same window is counted in Redis (`shared_limits.rs`).

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

/// One key's current window: when it started and how many requests it admitted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Window {
    start: i64,
    used: i64,
}

/// The start of the window that `now` falls in.
pub fn window_start(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW)
}

impl Window {
    /// Counts one request at `now` against `limit` per minute.
    pub fn count(&mut self, limit: i64, now: i64) -> RateDecision {
        let start = window_start(now);
        let reset_at = start + WINDOW;
        if self.start != start {
            *self = Window { start, used: 0 };
        }
        if self.used >= limit {
            return RateDecision {
                allowed: false,
                limit,
                remaining: 0,
                reset_at,
            };
        }
        self.used += 1;
        RateDecision {
            allowed: true,
            limit,
            remaining: limit - self.used,
            reset_at,
        }
    }

    /// Whether it still counts requests at `now` (forgetting it would reopen the window).
    pub fn is_current(&self, now: i64) -> bool {
        self.used > 0 && self.start == window_start(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_allows_exactly_the_limit_then_resets() {
        let mut w = Window::default();
        let t = 1_768_471_200; // a minute boundary
        for i in 0..3 {
            let d = w.count(3, t + i);
            assert!(d.allowed);
            assert_eq!(d.remaining, 2 - i);
            assert_eq!(d.reset_at, t + 60);
        }
        assert!(!w.count(3, t + 59).allowed);
        assert!(w.is_current(t + 59));
        assert!(!w.is_current(t + 60), "a new minute");
        assert_eq!(w.count(3, t + 60).remaining, 2);
        assert!(!Window::default().is_current(0), "nothing counted yet");
    }
}

//! Per-address brakes on guessing: failed API key checks, and dashboard lookups that find
//! nothing. Each address (an IPv6 address by its /64, which one subscriber usually holds) may
//! fail `limit` times in a fixed one-minute window; after that, its requests get 429 with
//! `Retry-After` until the window ends. Counted in memory — never a database write — and,
//! with Redis configured, also in Redis in the background, so every node brakes an address on
//! the failures it made at any node. A request from an address that is not braked costs one
//! atomic load.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

/// Length of a counting window, seconds.
pub const WINDOW_SECS: i64 = 60;
/// Most addresses tracked at once: memory stays bounded whatever an attacker sends.
const MAX_TRACKED: usize = 100_000;

#[derive(Clone, Copy)]
struct Window {
    started: i64,
    failures: u32,
}

/// One brake (API key failures, or dashboard not-found answers).
pub struct Brake {
    /// Failures allowed per address and window; 0 turns the brake off.
    limit: u32,
    windows: Mutex<HashMap<IpAddr, Window>>,
    /// The latest moment any address stays braked: before it, look the caller up; after it,
    /// nobody is braked and the map is not touched.
    braked_until: AtomicI64,
}

use crate::domain::net::address_bucket as bucket;
use crate::keycheck::shared_limits::SharedLimits;

impl Brake {
    /// A brake allowing `limit` failures per address per minute (0 = off).
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
            braked_until: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether any address at all is braked now (one atomic load, so `check` touches the map
    /// only while someone is braked).
    fn any_braked(&self, now: i64) -> bool {
        now < self.braked_until.load(Ordering::Relaxed)
    }

    /// Seconds `ip` must wait, if it is braked now.
    pub fn check(&self, ip: Option<IpAddr>, now: i64) -> Option<i64> {
        if !self.any_braked(now) {
            return None;
        }
        let ip = bucket(ip?);
        let windows = self.windows.lock().ok()?;
        let w = windows.get(&ip)?;
        let ends = w.started + WINDOW_SECS;
        (w.failures > self.limit && now < ends).then_some(ends - now)
    }

    /// Counts one failure of `ip`.
    pub fn fail(&self, ip: Option<IpAddr>, now: i64) {
        let (Some(ip), true) = (ip, self.limit > 0) else {
            return;
        };
        let ip = bucket(ip);
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&ip) {
            windows.retain(|_, w| now - w.started < WINDOW_SECS);
            if windows.len() >= MAX_TRACKED {
                // Still full of live windows: forget the ones that are not braked.
                let limit = self.limit;
                windows.retain(|_, w| w.failures > limit);
                if windows.len() >= MAX_TRACKED {
                    return;
                }
            }
        }
        let w = windows.entry(ip).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now - w.started >= WINDOW_SECS {
            *w = Window {
                started: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
        if w.failures > self.limit {
            self.braked_until
                .fetch_max(w.started + WINDOW_SECS, Ordering::Relaxed);
        }
    }
}

impl Brake {
    /// Takes in the cluster-wide count of `ip`'s window (from Redis): `failures` so far, the
    /// window ending in `window_left` seconds.
    pub fn observe(&self, ip: IpAddr, failures: u32, window_left: i64, now: i64) {
        if self.limit == 0 {
            return;
        }
        let ip = bucket(ip);
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        if windows.len() >= MAX_TRACKED && !windows.contains_key(&ip) {
            return;
        }
        let started = now - (WINDOW_SECS - window_left.clamp(0, WINDOW_SECS));
        let w = windows.entry(ip).or_insert(Window {
            started,
            failures: 0,
        });
        if now - w.started >= WINDOW_SECS {
            *w = Window {
                started,
                failures: 0,
            };
        }
        // The cluster-wide window began with the first failure at any node.
        w.started = w.started.min(started);
        w.failures = w.failures.max(failures);
        if w.failures > self.limit {
            self.braked_until
                .fetch_max(w.started + WINDOW_SECS, Ordering::Relaxed);
        }
    }
}

/// Which brake a failure counts on.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// Invalid API keys.
    ApiKeys,
    /// Dashboard not-found answers.
    NotFound,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::ApiKeys => "keys",
            Self::NotFound => "404",
        }
    }
}

/// The brakes of one process.
pub struct Probes {
    /// Presented API keys that were not valid.
    pub api_keys: Brake,
    /// Dashboard requests answered 404.
    pub not_found: Brake,
}

impl Probes {
    /// The brake of `kind`.
    pub fn brake(&self, kind: Kind) -> &Brake {
        match kind {
            Kind::ApiKeys => &self.api_keys,
            Kind::NotFound => &self.not_found,
        }
    }

    /// Counts one failure of `ip` here and returns the seconds it must wait if that braked
    /// it. With Redis, the failure is also counted there, in the background (the request does
    /// not wait), and the cluster-wide count taken back when it arrives.
    pub fn fail(
        self: &Arc<Self>,
        kind: Kind,
        shared: Option<&Arc<SharedLimits>>,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Option<i64> {
        let brake = self.brake(kind);
        brake.fail(ip, now);
        if let (Some(shared), Some(ip), true) = (shared, ip, brake.limit > 0) {
            let (shared, probes) = (shared.clone(), self.clone());
            actix_web::rt::spawn(async move {
                let bucket = bucket(ip);
                if let Some((failures, left)) =
                    shared.count_failure(kind.name(), bucket, WINDOW_SECS).await
                {
                    probes.brake(kind).observe(bucket, failures, left, now);
                }
            });
        }
        brake.check(ip, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn an_address_is_braked_after_its_limit_until_the_window_ends() {
        let brake = Brake::new(3);
        for _ in 0..3 {
            brake.fail(ip("203.0.113.7"), 100);
        }
        assert_eq!(brake.check(ip("203.0.113.7"), 101), None);
        brake.fail(ip("203.0.113.7"), 101);
        assert_eq!(brake.check(ip("203.0.113.7"), 101), Some(59));
        assert_eq!(brake.check(ip("203.0.113.8"), 101), None);
        assert_eq!(brake.check(ip("203.0.113.7"), 160), None);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_prefix() {
        let brake = Brake::new(1);
        brake.fail(ip("2001:db8:1:2::1"), 0);
        brake.fail(ip("2001:db8:1:2:ffff::9"), 0);
        assert!(brake.check(ip("2001:db8:1:2::42"), 1).is_some());
        assert!(brake.check(ip("2001:db8:1:3::1"), 1).is_none());
    }

    #[test]
    fn a_count_from_the_other_nodes_brakes_an_address_here_too() {
        let brake = Brake::new(3);
        brake.fail(ip("203.0.113.7"), 100);
        assert_eq!(brake.check(ip("203.0.113.7"), 100), None);
        // Redis says the address failed 5 times across the nodes, its window ending in 50 s.
        brake.observe("203.0.113.7".parse().expect("ip"), 5, 50, 100);
        assert_eq!(brake.check(ip("203.0.113.7"), 100), Some(50));
        // An address that never failed here is braked too.
        brake.observe("203.0.113.9".parse().expect("ip"), 4, 30, 100);
        assert_eq!(brake.check(ip("203.0.113.9"), 101), Some(29));
        assert_eq!(brake.check(ip("203.0.113.9"), 131), None);
    }

    #[test]
    fn a_zero_limit_turns_the_brake_off() {
        let brake = Brake::new(0);
        for _ in 0..10 {
            brake.fail(ip("203.0.113.7"), 0);
        }
        assert_eq!(brake.check(ip("203.0.113.7"), 1), None);
    }
}

//! The counters of the request path (requests, key checks, cache lookups, rate-limit
//! refusals). Every other metric is made where it is counted (`instrument`) and gathered with
//! these when `/metrics` is scraped (`operator.rs`).

use prometheus::{Histogram, HistogramVec, IntCounter, IntCounterVec};

use crate::instrument::{LATENCY_BUCKETS, counter_vec, histogram_vec};

/// Every outcome a key check counts.
pub const OUTCOMES: [&str; 10] = [
    "accepted",
    "invalid",
    "braked",
    "missing",
    "expired",
    "ip_not_allowed",
    "suspended",
    "insufficient_scope",
    "rate_limited",
    "unavailable",
];

/// The surfaces requests are counted by.
const SURFACES: [&str; 3] = ["api", "dashboard", "asset"];

/// The hot path's metrics.
pub struct Metrics {
    /// `latchkey_http_requests_total{surface, route, status}`.
    pub requests: IntCounterVec,
    /// `latchkey_http_request_duration_seconds{surface}`.
    request_seconds: HistogramVec,
    /// `latchkey_key_checks_total{outcome}`.
    key_checks: IntCounterVec,
    /// `latchkey_key_cache_lookups_total{result}`: hits and misses.
    key_cache: IntCounterVec,
    /// `latchkey_rate_limit_refusals_total{counted}`: by Redis (every node) or this node.
    pub rate_limited: IntCounterVec,
    // The children counted on every API request, resolved once: a label lookup hashes the
    // values and takes a lock, three times per request otherwise (callgrind).
    cache_hit: IntCounter,
    cache_miss: IntCounter,
    outcomes: Vec<(&'static str, IntCounter)>,
    seconds: Vec<(&'static str, Histogram)>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every counter at zero.
    pub fn new() -> Self {
        let request_seconds = histogram_vec(
            "latchkey_http_request_duration_seconds",
            "Time from a request's head to its answer, by surface",
            &["surface"],
            LATENCY_BUCKETS,
        );
        let key_checks = counter_vec(
            "latchkey_key_checks_total",
            "API key checks by outcome (accepted, invalid, expired, ip_not_allowed, \
             suspended, insufficient_scope, rate_limited, braked, missing, unavailable)",
            &["outcome"],
        );
        let key_cache = counter_vec(
            "latchkey_key_cache_lookups_total",
            "Key lookups answered by this node's cache (hit) or the database (miss)",
            &["result"],
        );
        Self {
            requests: counter_vec(
                "latchkey_http_requests_total",
                "Requests answered, by surface (api, dashboard, asset), route pattern and status",
                &["surface", "route", "status"],
            ),
            rate_limited: counter_vec(
                "latchkey_rate_limit_refusals_total",
                "Requests refused for their key's rate limit, by who counted (redis, node)",
                &["counted"],
            ),
            cache_hit: key_cache.with_label_values(&["hit"]),
            cache_miss: key_cache.with_label_values(&["miss"]),
            outcomes: OUTCOMES
                .iter()
                .map(|o| (*o, key_checks.with_label_values(&[*o])))
                .collect(),
            seconds: SURFACES
                .iter()
                .map(|s| (*s, request_seconds.with_label_values(&[*s])))
                .collect(),
            request_seconds,
            key_checks,
            key_cache,
        }
    }

    /// A key-cache lookup: hit or miss.
    pub fn cache_lookup(&self, hit: bool) {
        if hit {
            self.cache_hit.inc();
        } else {
            self.cache_miss.inc();
        }
    }

    /// A key check ended with `outcome` (one of [`OUTCOMES`]).
    pub fn key_check(&self, outcome: &'static str) {
        match self.outcomes.iter().find(|(o, _)| *o == outcome) {
            Some((_, counter)) => counter.inc(),
            None => self.key_checks.with_label_values(&[outcome]).inc(),
        }
    }

    /// A request of `surface` took `seconds`.
    pub fn request_took(&self, surface: &'static str, seconds: f64) {
        match self.seconds.iter().find(|(s, _)| *s == surface) {
            Some((_, histogram)) => histogram.observe(seconds),
            None => self
                .request_seconds
                .with_label_values(&[surface])
                .observe(seconds),
        }
    }

    /// Everything of this struct, for a registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.request_seconds.clone()),
            Box::new(self.key_checks.clone()),
            Box::new(self.key_cache.clone()),
            Box::new(self.rate_limited.clone()),
        ]
    }
}

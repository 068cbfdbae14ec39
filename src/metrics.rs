//! The counters of the request path (requests, key checks, cache lookups, rate-limit
//! refusals). Every other metric is made where it is counted (`instrument`) and gathered with
//! these when `/metrics` is scraped (`operator.rs`).

use prometheus::{HistogramVec, IntCounterVec};

use crate::instrument::{LATENCY_BUCKETS, counter_vec, histogram_vec};

/// The hot path's metrics.
pub struct Metrics {
    /// `latchkey_http_requests_total{surface, route, status}`.
    pub requests: IntCounterVec,
    /// `latchkey_http_request_duration_seconds{surface}`.
    pub request_seconds: HistogramVec,
    /// `latchkey_key_checks_total{outcome}`.
    pub key_checks: IntCounterVec,
    /// `latchkey_key_cache_lookups_total{result}`: hits and misses.
    pub key_cache: IntCounterVec,
    /// `latchkey_rate_limit_refusals_total{counted}`: by Redis (every node) or this node.
    pub rate_limited: IntCounterVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every counter at zero.
    pub fn new() -> Self {
        Self {
            requests: counter_vec(
                "latchkey_http_requests_total",
                "Requests answered, by surface (api, dashboard, asset), route pattern and status",
                &["surface", "route", "status"],
            ),
            request_seconds: histogram_vec(
                "latchkey_http_request_duration_seconds",
                "Time from a request's head to its answer, by surface",
                &["surface"],
                LATENCY_BUCKETS,
            ),
            key_checks: counter_vec(
                "latchkey_key_checks_total",
                "API key checks by outcome (accepted, invalid, expired, ip_not_allowed, \
                 suspended, insufficient_scope, rate_limited, braked)",
                &["outcome"],
            ),
            key_cache: counter_vec(
                "latchkey_key_cache_lookups_total",
                "Key lookups answered by this node's cache (hit) or the database (miss)",
                &["result"],
            ),
            rate_limited: counter_vec(
                "latchkey_rate_limit_refusals_total",
                "Requests refused for their key's rate limit, by who counted (redis, node)",
                &["counted"],
            ),
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

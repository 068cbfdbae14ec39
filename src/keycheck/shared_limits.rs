//! Rate limits and guessing brakes shared by every node through Redis (`LATCHKEY_REDIS_URL`).
//!
//! A key's limit is the same fixed one-minute window as a single node's
//! ([`super::ratelimit`]), counted by one Lua script on Redis's clock, so every node sees one
//! count and `X-RateLimit-*` stay right whichever node answers. Authentication never depends
//! on Redis: a call that fails or takes longer than [`TIMEOUT`] makes this node count on its
//! own (a log line, a metric) and try Redis again a second later, by itself.
//!
//! Each worker thread keeps its own multiplexed connection, driven by its own runtime, so no
//! worker waits on another's.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use super::ratelimit::{RateDecision, WINDOW};
use super::slots::{Slots, WORKER_SLOTS};

/// The longest a request waits for Redis before counting on this node alone.
pub const TIMEOUT: Duration = Duration::from_millis(50);
/// How long after a failure this node counts alone before it tries Redis again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// One key's window on Redis time: `{allowed, remaining, reset_at, now}`. The counter outlives
/// its minute by one more, then Redis drops it.
const WINDOW_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1])
local window = tonumber(ARGV[2])
local start = now - (now % window)
local limit = tonumber(ARGV[1])
local k = KEYS[1] .. ':' .. start
local n = tonumber(redis.call('GET', k) or '0')
if n >= limit then
  return {0, 0, start + window, now}
end
n = redis.call('INCR', k)
if n == 1 then redis.call('EXPIRE', k, window * 2) end
return {1, limit - n, start + window, now}
";

/// One failure of an address: `{failures in its window, seconds the window has left}`.
const FAILURE_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1])) end
return {n, redis.call('TTL', KEYS[1])}
";

/// The Redis side of the limits.
pub struct SharedLimits {
    client: redis::Client,
    connections: Slots<Option<MultiplexedConnection>>,
    window: redis::Script,
    failure: redis::Script,
    epoch: Instant,
    /// Until when (ms since `epoch`) this node counts alone without trying Redis.
    alone_until: AtomicU64,
    degraded: AtomicBool,
    /// Requests whose limit this node decided alone because Redis failed or was slow.
    fallbacks: prometheus::IntCounter,
}

impl SharedLimits {
    /// Limits shared through the Redis at `url` (`redis://host:port/db`); nothing is connected
    /// until the first request.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("LATCHKEY_REDIS_URL is not a Redis URL: {e}"))?;
        Ok(Self {
            client,
            connections: Slots::new(WORKER_SLOTS),
            window: redis::Script::new(WINDOW_SCRIPT),
            failure: redis::Script::new(FAILURE_SCRIPT),
            epoch: Instant::now(),
            alone_until: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
            fallbacks: crate::instrument::counter(
                "latchkey_redis_fallbacks_total",
                "Rate-limit decisions this node made alone because Redis failed or was slow",
                &[],
            ),
        })
    }

    /// Whether this node is counting alone right now.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// How many requests were limited by this node alone because Redis failed.
    pub fn fallbacks(&self) -> &prometheus::IntCounter {
        &self.fallbacks
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Counts one request of `key` against `limit` per minute, across every node. `None`:
    /// Redis is down or slow, count on this node (the caller's local limiter).
    pub async fn check(&self, key: &str, limit: i64) -> Option<RateDecision> {
        let reply: (i64, i64, i64, i64) = self
            .call(|mut conn| {
                let mut invocation = self.window.key(format!("latchkey:rl:{key}"));
                invocation.arg(limit).arg(WINDOW);
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        let (allowed, remaining, reset_at, _now) = reply;
        Some(RateDecision {
            allowed: allowed == 1,
            limit,
            remaining,
            reset_at,
        })
    }

    /// Counts one failure (an invalid key, a dashboard 404) of `ip` on brake `brake`, in a
    /// window of `window_secs` from the first, across every node: `(failures in the window,
    /// seconds the window has left)`, or `None` when Redis is unavailable.
    pub async fn count_failure(
        &self,
        brake: &str,
        ip: IpAddr,
        window_secs: i64,
    ) -> Option<(u32, i64)> {
        let (n, ttl): (i64, i64) = self
            .call(|mut conn| {
                let mut invocation = self.failure.key(format!("latchkey:brake:{brake}:{ip}"));
                invocation.arg(window_secs);
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        Some((u32::try_from(n).unwrap_or(u32::MAX), ttl.max(0)))
    }

    /// Whether Redis answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), String> {
        let mut conn = self.connection().await.map_err(|e| e.to_string())?;
        tokio::time::timeout(
            TIMEOUT * 4,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        .map_err(|_| "Redis did not answer in time".to_owned())?
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    /// Runs one call on this worker's connection within [`TIMEOUT`]; on failure, forgets the
    /// connection and counts alone for a while.
    async fn call<T, F, Fut>(&self, f: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.millis() < self.alone_until.load(Ordering::Relaxed) {
            self.fallbacks.inc();
            return None;
        }
        let outcome = tokio::time::timeout(TIMEOUT, async {
            let conn = self.connection().await?;
            f(conn).await
        })
        .await;
        match outcome {
            Ok(Ok(value)) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis is back: rate limits are shared by every node again");
                }
                Some(value)
            }
            failed => {
                let why = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no answer within {} ms", TIMEOUT.as_millis()),
                };
                // Every worker's connection went with Redis: all reconnect when it is back.
                for mut conn in self.connections.each() {
                    *conn = None;
                }
                let retry = self.millis() + u64::try_from(RETRY_AFTER.as_millis()).unwrap_or(0);
                self.alone_until.store(retry, Ordering::Relaxed);
                self.fallbacks.inc();
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        error = %why,
                        "Redis unavailable: each node applies rate limits on its own until it \
                         is back (authentication is unaffected)"
                    );
                }
                None
            }
        }
    }

    /// This worker's connection, opened on first use.
    async fn connection(&self) -> redis::RedisResult<MultiplexedConnection> {
        if let Some(conn) = self.connections.for_thread().clone() {
            return Ok(conn);
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *self.connections.for_thread() = Some(conn.clone());
        Ok(conn)
    }
}

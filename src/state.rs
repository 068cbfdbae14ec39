//! AppState: what every handler shares (pool, configuration, clock, hashing, the hot-path
//! caches and brakes), and the small facts derived from it that handlers ask for (the client's
//! address, the acting user, cache invalidation after a change).

use actix_web::cookie::Key;

use crate::auth::password::Passwords;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::DbPool;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub pool: DbPool,
    /// Resolved configuration.
    pub config: Config,
    /// Now.
    pub clock: Clock,
    /// Password hashing with bounded concurrency.
    pub passwords: Passwords,
    /// Cookie encryption key (derived from the secret key).
    pub cookie_key: Key,
    /// Per-key request windows, shared by all workers.
    pub rate_limiter: std::sync::Arc<crate::keycheck::ratelimit::RateLimiter>,
    /// Key usage gathered in memory, flushed in batches.
    pub usage: std::sync::Arc<crate::keycheck::usage::UsageRecorder>,
    /// Calls made through integrations, gathered in memory like key usage.
    pub integration_usage: std::sync::Arc<crate::keycheck::usage::UsageRecorder>,
    /// Key records for the authentication hot path.
    pub key_cache: std::sync::Arc<crate::keycheck::key_cache::KeyCache>,
    /// Per-address brakes on guessing keys and probing for pages.
    pub probes: std::sync::Arc<crate::probes::Probes>,
    /// The brand each agency host showed last (for outage pages).
    pub host_brands: std::sync::Arc<crate::domain::brand::HostBrands>,
    /// The master keys that seal stored secrets (checked against the data at start).
    pub vault: std::sync::Arc<crate::vault::Keyring>,
    /// The one guarded client for calls to the outside.
    pub outbound: crate::outbound::Outbound,
    /// Wakes the webhook delivery job after a change (its outbox event) is committed.
    pub webhook_wake: std::sync::Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Assembles the state; `secret` is the configured or generated secret key (≥ 32 bytes),
    /// `vault` the master keys (already checked against the data).
    pub fn new(
        pool: DbPool,
        config: Config,
        clock: Clock,
        secret: &[u8],
        vault: crate::vault::Keyring,
    ) -> Result<Self, crate::error::AppError> {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            // Half the cores at most: the other half keeps serving while sign-ins are hashed.
            passwords: Passwords::new(config.password_params, (parallel / 2).max(1))?,
            cookie_key: Key::derive_from(secret),
            rate_limiter: Default::default(),
            usage: Default::default(),
            integration_usage: std::sync::Arc::new(crate::keycheck::usage::UsageRecorder::new(
                crate::models::usage::Counted::Integrations,
            )),
            key_cache: std::sync::Arc::new(crate::keycheck::key_cache::KeyCache::new(
                config.key_cache,
                config.worker_count(),
            )),
            host_brands: Default::default(),
            vault: std::sync::Arc::new(vault),
            webhook_wake: Default::default(),
            outbound: crate::outbound::Outbound::new(crate::outbound::Settings {
                total_timeout: std::time::Duration::from_secs(config.outbound_timeout_secs),
                ..crate::outbound::Settings::new(crate::outbound::Policy::new(
                    config.outbound_allow.clone(),
                ))
            })
            .map_err(crate::error::AppError::Internal)?,
            probes: std::sync::Arc::new(crate::probes::Probes {
                api_keys: crate::probes::Brake::new(config.failed_key_limit),
                not_found: crate::probes::Brake::new(config.not_found_limit),
            }),
            pool,
            config,
            clock,
        })
    }
}

impl AppState {
    /// The client's address: the peer, or — behind configured trusted proxies — the forwarded
    /// one. Used for audit events, usage and IP allowlists alike.
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<String> {
        crate::net::client_ip(req, &self.config.trusted_proxies).map(|ip| ip.to_string())
    }

    /// `who` acting now from this request's address: what its audit events record.
    pub fn actor(
        &self,
        who: crate::domain::audit::Who,
        req: &actix_web::HttpRequest,
    ) -> crate::domain::audit::Actor {
        crate::domain::audit::Actor {
            who,
            ip: self.client_ip(req),
            at: self.clock.now(),
        }
    }

    /// Call after a key's record changed (committed), before answering: the next request
    /// with that key must see the change.
    pub fn key_changed(&self, key_id: &str) {
        self.key_cache.invalidate_key(key_id);
    }

    /// The session cookie's name: `__Host-` prefixed when cookies are `Secure`, so no other
    /// host (a sibling subdomain) can set or shadow it.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.config.cookie_secure {
            crate::auth::session_store::COOKIE_NAME_SECURE
        } else {
            crate::auth::session_store::COOKIE_NAME_PLAIN
        }
    }

    /// Call after a team's settings changed (committed), before answering.
    pub fn team_changed(&self, team_id: &str) {
        self.key_cache.invalidate_team(team_id);
    }
}

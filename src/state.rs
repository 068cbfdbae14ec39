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
    /// The same windows (and the brakes' counts) shared by every node through Redis, when
    /// `LATCHKEY_REDIS_URL` is set; the local ones stand in while Redis is unavailable.
    pub shared_limits: Option<std::sync::Arc<crate::keycheck::shared_limits::SharedLimits>>,
    /// Each key's rate window and usage on this node; the usage is flushed in batches.
    pub key_tallies: std::sync::Arc<crate::keycheck::tally::Tallies>,
    /// Calls made through integrations, gathered in memory like key usage.
    pub integration_usage: std::sync::Arc<crate::keycheck::usage::UsageRecorder>,
    /// Key records for the authentication hot path.
    pub key_cache: std::sync::Arc<crate::keycheck::key_cache::KeyCache>,
    /// This node among the others sharing the database (leases, acknowledged invalidation).
    pub cluster: std::sync::Arc<crate::cluster::Cluster>,
    /// Per-address brakes on guessing keys and probing for pages.
    pub probes: std::sync::Arc<crate::probes::Probes>,
    /// The brand each agency host showed last (for outage pages).
    pub host_brands: std::sync::Arc<crate::domain::brand::HostBrands>,
    /// The master keys that seal stored secrets (checked against the data at start).
    pub vault: std::sync::Arc<crate::vault::Keyring>,
    /// The one guarded client for calls to the outside.
    pub outbound: crate::outbound::Outbound,
    /// Open connections per address.
    pub connections: std::sync::Arc<crate::connections::ConnectionCap>,
    /// Counters and histograms of the hot path, exported by `/metrics`.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Wakes the webhook delivery job after a change (its outbox event) is committed.
    pub webhook_wake: std::sync::Arc<tokio::sync::Notify>,
    /// The SMTP server, when `LATCHKEY_SMTP_URL` is set.
    pub mailer: Option<std::sync::Arc<crate::mail::Mailer>>,
    /// Wakes the mail job after a mail is queued.
    pub mail_wake: std::sync::Arc<tokio::sync::Notify>,
    /// One OAuth token renewal per integration at a time within this node.
    pub oauth_renewals: std::sync::Arc<crate::outbound::single_flight::SingleFlight>,
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
            shared_limits: match &config.redis_url {
                Some(url) => Some(std::sync::Arc::new(
                    crate::keycheck::shared_limits::SharedLimits::new(url)
                        .map_err(crate::error::AppError::Internal)?,
                )),
                None => None,
            },
            key_tallies: Default::default(),
            integration_usage: std::sync::Arc::new(crate::keycheck::usage::UsageRecorder::new(
                crate::models::usage::Counted::Integrations,
            )),
            // Alone on SQLite the cache is always good; on PostgreSQL only under a lease.
            key_cache: std::sync::Arc::new(if config.database_is_sqlite {
                crate::keycheck::key_cache::KeyCache::new(config.key_cache, config.worker_count())
            } else {
                crate::keycheck::key_cache::KeyCache::leased(
                    config.key_cache,
                    config.worker_count(),
                )
            }),
            cluster: std::sync::Arc::new(crate::cluster::Cluster::new(!config.database_is_sqlite)),
            host_brands: Default::default(),
            vault: std::sync::Arc::new(vault),
            webhook_wake: Default::default(),
            mailer: match &config.smtp_url {
                Some(url) => Some(std::sync::Arc::new(
                    crate::mail::Mailer::new(
                        url,
                        config.mail_from.as_deref(),
                        &crate::links::public_host(&config.public_url).unwrap_or_default(),
                    )
                    .map_err(crate::error::AppError::Internal)?,
                )),
                None => None,
            },
            mail_wake: Default::default(),
            oauth_renewals: Default::default(),
            connections: crate::connections::ConnectionCap::new(
                config.connections_per_address,
                config.trusted_proxies.clone(),
            ),
            metrics: std::sync::Arc::new(crate::metrics::Metrics::new()),
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

    /// The session cookie's name: `__Host-` prefixed when cookies are `Secure`, so no other
    /// host (a sibling subdomain) can set or shadow it.
    pub fn session_cookie_name(&self) -> &'static str {
        if self.config.cookie_secure {
            crate::auth::session_store::COOKIE_NAME_SECURE
        } else {
            crate::auth::session_store::COOKIE_NAME_PLAIN
        }
    }

    /// Starts this node's notification listener when it needs one (PostgreSQL with the key
    /// cache on): until it holds a lease, every key is looked up in the database.
    pub fn start_listener(&self) -> std::io::Result<Option<std::thread::JoinHandle<()>>> {
        let Some(url) = self.pool.postgres_url() else {
            return Ok(None);
        };
        if !self.config.key_cache {
            return Ok(None);
        }
        crate::cluster::listener::Listener {
            cluster: self.cluster.clone(),
            cache: self.key_cache.clone(),
            url: url.to_owned(),
            address: self.config.bind.clone(),
            started_at: self.clock.now(),
        }
        .spawn()
        .map(Some)
    }
}

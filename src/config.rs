//! Configuration: every `LATCHKEY_*` variable (and `DATABASE_URL`), also accepted as flags.
//! The README's configuration table mirrors this file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Command line of the `latchkey` binary.
#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Self-hosted API key manager: dashboard and API"
)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
    /// What to run (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard and the API (the default).
    Serve,
    /// Serve a fresh, deterministic demo: a new SQLite database in the data directory seeded
    /// with sample agencies, teams, members and keys in every state, a fixed clock and
    /// reproducible ids and secrets. For screenshots and trying Latchkey out — never for real
    /// data (every page says so).
    Demo {
        /// The fixed "now" of the demo (RFC 3339).
        #[arg(
            long,
            env = "LATCHKEY_FAKE_NOW",
            default_value = "2026-01-15T10:00:00Z"
        )]
        fake_now: String,
        /// Seed of the demo's ids and secrets.
        #[arg(long, env = "LATCHKEY_DEMO_SEED", default_value = "latchkey-demo")]
        seed: String,
    },
    /// An online, consistent copy of the SQLite database into FILE (a new file, mode 0600),
    /// while the server keeps running. On PostgreSQL use pg_dump (docs/deploy.md).
    Backup {
        /// Where the copy goes; it must not exist yet.
        file: PathBuf,
    },
    /// The vault's master keys (`latchkey vault rewrap`, `latchkey vault status`).
    Vault {
        /// What to do.
        #[command(subcommand)]
        action: VaultCommand,
    },
    /// Accounts (`latchkey users reset-password <email>`).
    Users {
        /// What to do.
        #[command(subcommand)]
        action: UsersCommand,
    },
}

/// `latchkey users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Print a one-time link (valid for an hour) that sets a new password for the account with
    /// this e-mail address and signs all its sessions out: the way back in for someone locked
    /// out of a server that sends no e-mail.
    ResetPassword {
        /// The account's e-mail address.
        email: String,
    },
}

/// `latchkey vault …`.
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Re-wrap every stored secret's data key with the first configured master key, then print
    /// how many values remain on each key id (an older key may be removed once it has none).
    Rewrap,
    /// Print how many stored values each master key id has sealed.
    Status,
    /// A master key is lost: discard every credential it sealed (the integrations stay, without
    /// a credential, and each team's audit log says so) so Latchkey starts with a new key.
    /// Their credentials must then be entered again.
    Forget {
        /// The lost key's id, as the start-up error names it.
        key_id: String,
    },
}

/// Settings read from the environment or flags.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// `sqlite://path` (default; created on first start) or `postgres://…`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://./data/latchkey.db"
    )]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(long, env = "LATCHKEY_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// The URL people use to reach this server (links, Origin checks, snippets).
    #[arg(
        long,
        env = "LATCHKEY_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    /// Secret for cookies (≥ 32 characters). Unset: generated once into the data directory.
    #[arg(long, env = "LATCHKEY_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,

    /// The vault's master key(s), 32 bytes each as 64 hex digits or base64url, comma-separated:
    /// the first seals new secrets, every one opens. Unset: LATCHKEY_MASTER_KEY_FILE, or a key
    /// generated once into the data directory (back it up).
    #[arg(long, env = "LATCHKEY_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,

    /// A file holding the vault's master key(s), one per line, newest first.
    #[arg(long, env = "LATCHKEY_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,

    /// Where Latchkey keeps its generated secret key (and the default SQLite file).
    #[arg(long, env = "LATCHKEY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Mark cookies `Secure`. Browsers accept Secure cookies from http://127.0.0.1 and
    /// http://localhost; set to false only for plain http on another host name.
    #[arg(long, env = "LATCHKEY_COOKIE_SECURE", default_value_t = true, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,

    /// Minutes of inactivity after which a dashboard session ends.
    #[arg(long, env = "LATCHKEY_SESSION_IDLE_MINUTES", default_value_t = 720)]
    pub session_idle_minutes: i64,

    /// Hours after sign-in after which a session ends however active it is.
    #[arg(long, env = "LATCHKEY_SESSION_MAX_HOURS", default_value_t = 168)]
    pub session_max_hours: i64,

    /// Minutes a sign-in counts as recent: after that the most dangerous actions ask for the
    /// password again ("Confirm it's you"). 0 asks every time.
    #[arg(long, env = "LATCHKEY_REAUTH_AFTER_MINUTES", default_value_t = 10)]
    pub reauth_after_minutes: i64,

    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "LATCHKEY_WORKERS")]
    pub workers: Option<usize>,

    /// Cache key lookups in memory: `auto` or `on` (on; with PostgreSQL each node uses its
    /// cache only while it holds a lease and hears every change), or `off`.
    #[arg(long, env = "LATCHKEY_KEY_CACHE", default_value = "auto")]
    pub key_cache: String,

    /// Threads per worker for database calls (more mostly adds thread switching; measured).
    #[arg(long, env = "LATCHKEY_BLOCKING_THREADS", default_value_t = 2)]
    pub blocking_threads: usize,

    /// Seconds between writes of gathered key usage (last use, requests per hour).
    #[arg(long, env = "LATCHKEY_USAGE_FLUSH_SECONDS", default_value_t = 5)]
    pub usage_flush_seconds: u64,

    /// Proxies (CIDRs, comma-separated) whose `X-Forwarded-For` is believed for client IPs.
    #[arg(long, env = "LATCHKEY_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// Most database connections this node opens (PostgreSQL: N nodes × (this + 1 for the
    /// notification listener) must fit the server's max_connections).
    #[arg(long, env = "LATCHKEY_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,

    /// Milliseconds a request waits for a database connection (and, on SQLite, for the write
    /// lock) before it is answered 503 Service Unavailable.
    #[arg(long, env = "LATCHKEY_DB_WAIT_MS", default_value_t = 5000)]
    pub db_wait_ms: u64,

    /// Invalid API keys one address (an IPv6 /64) may present per minute before its requests
    /// get 429 until the minute is over (0 = no limit).
    #[arg(long, env = "LATCHKEY_FAILED_KEY_LIMIT", default_value_t = 100)]
    pub failed_key_limit: u32,

    /// Dashboard "not found" answers one address may get per minute before its requests get
    /// 429 until the minute is over (0 = no limit).
    #[arg(long, env = "LATCHKEY_NOT_FOUND_LIMIT", default_value_t = 100)]
    pub not_found_limit: u32,

    /// Seconds a request body may take to arrive before 408 (plus one second per 64 KiB
    /// received, so large uploads on real links are not cut off).
    #[arg(long, env = "LATCHKEY_BODY_TIMEOUT_SECONDS", default_value_t = 10)]
    pub body_timeout_seconds: u64,

    /// Private ranges (CIDRs, comma-separated) integrations and webhooks may call, over
    /// `http` or `https`; by default only public addresses over `https` are called.
    #[arg(long, env = "LATCHKEY_OUTBOUND_ALLOW_CIDRS", default_value = "")]
    pub outbound_allow_cidrs: String,

    /// Connections one address (an IPv6 /64) may hold open at once; more are closed as they
    /// are accepted. Trusted proxies are exempt. 0 = no cap.
    #[arg(long, env = "LATCHKEY_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    pub connections_per_address: u32,

    /// Address and port for `GET /metrics` (Prometheus text format), apart from the API and
    /// dashboard, e.g. `127.0.0.1:9464`. Unset: no metrics listener.
    #[arg(long, env = "LATCHKEY_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Days webhook events, their deliveries and delivery attempts are kept (1–3650).
    #[arg(long, env = "LATCHKEY_WEBHOOK_RETENTION_DAYS", default_value_t = 30)]
    pub webhook_retention_days: u32,

    /// Redis for rate limits and guessing brakes shared by every node (`redis://host:6379/0`).
    /// Unset: each node counts on its own. Authentication never depends on it.
    #[arg(long, env = "LATCHKEY_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Seconds an outbound call (an integration request, a webhook delivery) may take in all,
    /// connecting included, before it counts as a timeout (1–60).
    #[arg(long, env = "LATCHKEY_OUTBOUND_TIMEOUT_SECONDS", default_value_t = 15)]
    pub outbound_timeout_seconds: u64,

    /// SMTP server for invitations and key-expiry notices: `smtp://host:25`,
    /// `smtp://user:password@host:587?tls=required` (STARTTLS) or
    /// `smtps://user:password@host:465`. Unset: no e-mail; links are shown in the dashboard.
    #[arg(long, env = "LATCHKEY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of those mails, `Name <address>` (default `Latchkey <latchkey@HOST>`, HOST
    /// being the public URL's). Mails for an agency's clients carry the agency's name.
    #[arg(long, env = "LATCHKEY_MAIL_FROM")]
    pub mail_from: Option<String>,
}

/// argon2id cost parameters. Production values are fixed by the foundation issue; tests use
/// cheaper ones through [`Config`] (one test pins the production string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Parallelism.
    pub p_cost: u32,
}

impl PasswordParams {
    /// m=19456 KiB, t=2, p=1 (OWASP's argon2id baseline).
    pub const PRODUCTION: Self = Self {
        m_cost: 19_456,
        t_cost: 2,
        p_cost: 1,
    };
}

/// Everything the application needs at run time, resolved and validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Database URL.
    pub database_url: String,
    /// Listen address.
    pub bind: String,
    /// Public base URL without a trailing slash.
    pub public_url: String,
    /// Cookie `Secure` flag.
    pub cookie_secure: bool,
    /// Idle session timeout, seconds.
    pub session_idle_secs: i64,
    /// Absolute session timeout, seconds.
    pub session_max_secs: i64,
    /// How long a sign-in (or a confirmation) counts as recent, seconds.
    pub reauth_after_secs: i64,
    /// Password hashing cost.
    pub password_params: PasswordParams,
    /// Worker threads.
    pub workers: Option<usize>,
    /// Proxies whose `X-Forwarded-For` is trusted.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Cache key lookups in this process.
    pub key_cache: bool,
    /// Seconds between usage flushes.
    pub usage_flush_seconds: u64,
    /// The database is SQLite (single node; reads never wait for writers in WAL mode).
    pub database_is_sqlite: bool,
    /// Blocking threads per worker.
    pub blocking_threads: usize,
    /// Demo mode (`latchkey demo`): every page carries a banner.
    pub demo: bool,
    /// How long a request waits for a connection or the SQLite write lock, milliseconds.
    pub db_wait_ms: u64,
    /// Invalid keys per address and minute before 429 (0 = off).
    pub failed_key_limit: u32,
    /// Dashboard 404s per address and minute before 429 (0 = off).
    pub not_found_limit: u32,
    /// Seconds granted for a request body to arrive (see `edge::Deadline`).
    pub body_timeout_seconds: u64,
    /// Private ranges outbound calls may reach (see `outbound::Policy`).
    pub outbound_allow: Vec<ipnet::IpNet>,
    /// Seconds an outbound exchange may take in all (15; tests shorten it).
    pub outbound_timeout_secs: u64,
    /// Redis for shared rate limits and brakes, if any.
    pub redis_url: Option<String>,
    /// Days webhook events and their deliveries are kept.
    pub webhook_retention_days: u32,
    /// Open connections per address (0 = no cap).
    pub connections_per_address: u32,
    /// Where `/metrics` listens, if anywhere.
    pub metrics_bind: Option<String>,
    /// Most connections in this node's pool.
    pub db_pool_size: u32,
    /// The SMTP server's URL (it may carry a password), if e-mail is on.
    pub smtp_url: Option<secrecy::SecretString>,
    /// The configured sender, if any.
    pub mail_from: Option<String>,
}

impl Config {
    /// HTTP worker threads: as configured, else one per CPU.
    pub fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }

    /// The pool's size and waits.
    pub fn pool_settings(&self, max_size: u32) -> crate::db::PoolSettings {
        let wait = std::time::Duration::from_millis(self.db_wait_ms);
        crate::db::PoolSettings {
            max_size,
            connection_timeout: wait,
            busy_timeout: wait,
        }
    }

    /// Resolves settings into a config (the secret key is resolved separately).
    pub fn from_settings(s: &Settings) -> Result<Self, String> {
        let public_url = s.public_url.trim_end_matches('/').to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err("LATCHKEY_PUBLIC_URL must start with http:// or https://".into());
        }
        if s.session_idle_minutes < 1 || s.session_max_hours < 1 {
            return Err("session timeouts must be at least 1".into());
        }
        if !(0..=1440).contains(&s.reauth_after_minutes) {
            return Err("LATCHKEY_REAUTH_AFTER_MINUTES must be 0 to 1440".into());
        }
        Ok(Self {
            database_url: s.database_url.clone(),
            bind: s.bind.clone(),
            public_url,
            cookie_secure: s.cookie_secure,
            session_idle_secs: s.session_idle_minutes * 60,
            session_max_secs: s.session_max_hours * 3600,
            reauth_after_secs: s.reauth_after_minutes * 60,
            password_params: PasswordParams::PRODUCTION,
            workers: s.workers,
            trusted_proxies: parse_cidrs(&s.trusted_proxies)?,
            key_cache: match s.key_cache.as_str() {
                "on" | "auto" => true,
                "off" => false,
                other => {
                    return Err(format!(
                        "LATCHKEY_KEY_CACHE must be auto, on or off (got {other})"
                    ));
                }
            },
            usage_flush_seconds: s.usage_flush_seconds.max(1),
            database_is_sqlite: crate::db::DbTarget::parse(&s.database_url)
                .is_ok_and(|t| t.is_sqlite()),
            blocking_threads: s.blocking_threads.max(1),
            demo: false,
            db_wait_ms: s.db_wait_ms.clamp(100, 600_000),
            failed_key_limit: s.failed_key_limit,
            not_found_limit: s.not_found_limit,
            body_timeout_seconds: s.body_timeout_seconds.clamp(1, 3600),
            outbound_allow: parse_cidrs(&s.outbound_allow_cidrs)
                .map_err(|e| format!("LATCHKEY_OUTBOUND_ALLOW_CIDRS: {e}"))?,
            outbound_timeout_secs: s.outbound_timeout_seconds.clamp(1, 60),
            redis_url: s.redis_url.clone().filter(|u| !u.trim().is_empty()),
            webhook_retention_days: s.webhook_retention_days.clamp(1, 3650),
            connections_per_address: s.connections_per_address,
            metrics_bind: s.metrics_bind.clone().filter(|b| !b.trim().is_empty()),
            db_pool_size: s.db_pool_size.clamp(2, 1000),
            smtp_url: s
                .smtp_url
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(secrecy::SecretString::from),
            mail_from: s.mail_from.clone().filter(|f| !f.trim().is_empty()),
        })
    }

    /// Defaults suitable for tests: given database, cheap hashing, insecure cookies allowed.
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            database_url: database_url.to_owned(),
            bind: "127.0.0.1:0".into(),
            public_url: "http://localhost:8080".into(),
            cookie_secure: false,
            session_idle_secs: 3600,
            session_max_secs: 86_400,
            reauth_after_secs: 600,
            password_params: PasswordParams {
                m_cost: 256,
                t_cost: 1,
                p_cost: 1,
            },
            workers: Some(1),
            trusted_proxies: Vec::new(),
            // As in production; tests that need the uncached path turn it off.
            key_cache: true,
            usage_flush_seconds: 2,
            database_is_sqlite: crate::db::DbTarget::parse(database_url)
                .is_ok_and(|t| t.is_sqlite()),
            blocking_threads: 2,
            demo: false,
            db_wait_ms: 5000,
            failed_key_limit: 100,
            not_found_limit: 100,
            body_timeout_seconds: 10,
            // Loopback only: the tests' receivers listen there.
            outbound_allow: vec![ipnet::IpNet::from(std::net::IpAddr::from([127, 0, 0, 1]))],
            outbound_timeout_secs: 3,
            redis_url: None,
            webhook_retention_days: 30,
            connections_per_address: 64,
            metrics_bind: None,
            db_pool_size: 4,
            smtp_url: None,
            mail_from: None,
        }
    }
}

/// On PostgreSQL several nodes may share the database, and they must share the cookie key
/// and the vault's master key too: one generated into a node's own data directory would
/// differ from every other node's (sessions would end at random, stored secrets would not
/// open). So there they must be set explicitly.
pub fn require_shared_keys(s: &Settings, config: &Config) -> Result<(), String> {
    if config.database_is_sqlite {
        return Ok(());
    }
    let mut missing = Vec::new();
    if s.secret_key.is_none() {
        missing.push("LATCHKEY_SECRET_KEY (e.g. `openssl rand -base64 48`)");
    }
    if s.master_key.is_none() && s.master_key_file.is_none() {
        missing.push(
            "LATCHKEY_MASTER_KEY (e.g. `openssl rand -base64 32`) or LATCHKEY_MASTER_KEY_FILE",
        );
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "on PostgreSQL every node must use the same keys, so set {} explicitly, with the same \
         value on every node. If this node generated them before, reuse those: \
         LATCHKEY_SECRET_KEY=\"$(cat {dir}/secret.key)\" LATCHKEY_MASTER_KEY_FILE={dir}/master.key",
        missing.join(" and "),
        dir = s.data_dir.display(),
    ))
}

/// Parses a comma- or space-separated CIDR list; a bare address means that one host.
pub fn parse_cidrs(list: &str) -> Result<Vec<ipnet::IpNet>, String> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("not an IP address or CIDR: {s}"))
        })
        .collect()
}

/// The secret key: from `LATCHKEY_SECRET_KEY`, or read from / generated into
/// `<data_dir>/secret.key` (mode 0600). Returns the key and whether it was just generated.
pub fn resolve_secret_key(s: &Settings) -> Result<(Vec<u8>, SecretKeySource), String> {
    if let Some(key) = &s.secret_key {
        if key.len() < 32 {
            return Err("LATCHKEY_SECRET_KEY must be at least 32 characters".into());
        }
        return Ok((key.as_bytes().to_vec(), SecretKeySource::Environment));
    }
    let path = s.data_dir.join("secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() < 32 {
            return Err(format!("{} is shorter than 32 characters", path.display()));
        }
        return Ok((existing.as_bytes().to_vec(), SecretKeySource::File(path)));
    }
    crate::files::create_private_dir(&s.data_dir)
        .map_err(|e| format!("cannot create data dir: {e}"))?;
    let key = crate::domain::base62::random(64);
    crate::files::write_private(&path, &key)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((key.into_bytes(), SecretKeySource::Generated(path)))
}

/// Where the secret key came from (for the start-up log line; never the key itself).
#[derive(Debug)]
pub enum SecretKeySource {
    /// `LATCHKEY_SECRET_KEY`.
    Environment,
    /// Read from this file.
    File(PathBuf),
    /// Generated now into this file.
    Generated(PathBuf),
}

//! The `latchkey` binary: parse configuration, open the database, serve.

use clap::Parser;
use latchkey::clock::Clock;
use latchkey::config::{Cli, Command, Config, SecretKeySource, resolve_secret_key};
use latchkey::db::{with_conn, with_write};
use latchkey::domain::base62;
use latchkey::models::{setup, user::User};
use latchkey::startup::build_app;
use latchkey::state::AppState;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    // `RUST_LOG` as a list of levels and `target=level` pairs ("info", "warn,latchkey=debug");
    // `Targets` reads that without a regex engine in the build.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| f.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(filter))
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.settings, None).await,
        Command::Demo { fake_now, seed } => {
            let now = time::OffsetDateTime::parse(
                &fake_now,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|e| format!("LATCHKEY_FAKE_NOW must be RFC 3339 (2026-01-15T10:00:00Z): {e}"))?
            .unix_timestamp();
            serve(&cli.settings, Some((now, seed))).await
        }
        Command::Vault { action } => vault_command(&cli.settings, action).await,
        Command::Backup { file } => backup(&cli.settings, &file).await,
        Command::Users { action } => users_command(&cli.settings, action).await,
    }
}

/// `latchkey users reset-password <email>`: prints a one-time reset link on the console.
async fn users_command(
    settings: &latchkey::config::Settings,
    action: latchkey::config::UsersCommand,
) -> Result<(), String> {
    let latchkey::config::UsersCommand::ResetPassword { email } = action;
    let config = Config::from_settings(settings)?;
    let email =
        latchkey::domain::inputs::Email::parse(&email).map_err(|m| format!("{email}: {m}"))?;
    let pool = latchkey::db::connect(&config.database_url, config.pool_settings(2))
        .map_err(|e| e.to_string())?;
    let link = latchkey::ops::accounts::operator_reset_link(
        &pool,
        Clock::system().now(),
        &config.public_url,
        &email,
    )
    .await
    .map_err(|e| e.to_string())?;
    match link {
        Some(link) => {
            println!(
                "Open this link to set a new password for {} (it works once, for an hour, and \
                 signs every session of the account out):\n{link}",
                email.as_str()
            );
            Ok(())
        }
        None => Err(format!(
            "no reset link made: there is no account with the e-mail address {} (or it had \
             three links in the last hour)",
            email.as_str()
        )),
    }
}

/// `latchkey vault rewrap` / `status`: opens the database with the configured keys (the same
/// checks as a start), then re-wraps and/or prints the census.
async fn vault_command(
    settings: &latchkey::config::Settings,
    action: latchkey::config::VaultCommand,
) -> Result<(), String> {
    let config = Config::from_settings(settings)?;
    latchkey::config::require_shared_keys(settings, &config)?;
    let pool = latchkey::db::connect(&config.database_url, config.pool_settings(2))
        .map_err(|e| e.to_string())?;
    if let latchkey::config::VaultCommand::Forget { key_id } = &action {
        let (id, now) = (key_id.clone(), Clock::system().now());
        let n = with_write(&pool, move |c| {
            Ok(latchkey::ops::integrations::forget_master_key(c, &id, now)?)
        })
        .await
        .map_err(|e| e.to_string())?;
        println!(
            "discarded {n} credential(s) sealed with master key {key_id}; enter them again on \
             each integration's Edit page"
        );
        return Ok(());
    }
    let (ring, source) = latchkey::vault::master_keys::resolve(
        settings.master_key.as_deref(),
        settings.master_key_file.as_deref(),
        &settings.data_dir,
    )
    .map_err(|e| e.to_string())?;
    log_master_key_source(&source, ring.current().id());
    latchkey::vault::startup::check(&pool, &ring, Clock::system().now()).await?;
    let ring = std::sync::Arc::new(ring);
    if matches!(action, latchkey::config::VaultCommand::Rewrap) {
        let r = ring.clone();
        let report = with_write(&pool, move |c| {
            Ok(latchkey::vault::stores::rewrap_all(c, &r)?)
        })
        .await
        .map_err(|e| e.to_string())?;
        println!(
            "re-wrapped {} value(s) to master key {}; {} already on it",
            report.rewrapped,
            ring.current().id(),
            report.current
        );
        if !report.failed.is_empty() {
            println!(
                "{} value(s) did not open and were left as they are: {}",
                report.failed.len(),
                report.failed.join(", ")
            );
        }
    }
    let census = latchkey::db::with_read(&pool, |c| Ok(latchkey::vault::stores::census(c)?))
        .await
        .map_err(|e| e.to_string())?;
    for id in ring.key_ids() {
        let n = census.get(id).copied().unwrap_or(0);
        let note = if id == ring.current().id() {
            " (current)"
        } else if n == 0 {
            " (nothing left on it: it may be removed)"
        } else {
            ""
        };
        println!("master key {id}: {n} value(s){note}");
    }
    Ok(())
}

/// `latchkey backup FILE`: SQLite's `VACUUM INTO`, a consistent copy taken while writers go
/// on, into a new owner-only file.
async fn backup(
    settings: &latchkey::config::Settings,
    file: &std::path::Path,
) -> Result<(), String> {
    let config = Config::from_settings(settings)?;
    if !config.database_is_sqlite {
        return Err(
            "latchkey backup copies a SQLite database; for PostgreSQL use pg_dump \
             (docs/deploy.md, \"Backups and restore\")"
                .into(),
        );
    }
    if file.exists() {
        return Err(format!(
            "{} exists already: name a new file",
            file.display()
        ));
    }
    if let Some(dir) = file.parent() {
        latchkey::files::create_private_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    latchkey::files::private_file(file)
        .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
    let pool = latchkey::db::connect(&config.database_url, config.pool_settings(2))
        .map_err(|e| e.to_string())?;
    let target = file.to_string_lossy().into_owned();
    let copied =
        latchkey::db::with_conn(&pool, move |c| Ok(latchkey::db::backup_into(c, &target)?)).await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(file);
        return Err(format!("backup failed: {e}"));
    }
    let bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up {} to {} ({bytes} bytes). Keep the vault's master key apart from it: \
         stored credentials open only with that key.",
        config.database_url,
        file.display()
    );
    Ok(())
}

/// `latchkey demo`: a fresh SQLite file in the data directory (any earlier demo database is
/// replaced). Returns the database URL.
fn prepare_demo(settings: &latchkey::config::Settings) -> Result<String, String> {
    let dir = std::path::Path::new(&settings.data_dir);
    latchkey::files::create_private_dir(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let db = dir.join("demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let f = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        if f.exists() {
            std::fs::remove_file(&f).map_err(|e| format!("cannot reset {}: {e}", f.display()))?;
        }
    }
    Ok(format!("sqlite://{}", db.display()))
}

async fn serve(
    settings: &latchkey::config::Settings,
    demo: Option<(i64, String)>,
) -> Result<(), String> {
    let mut config = Config::from_settings(settings)?;
    if demo.is_none() {
        latchkey::config::require_shared_keys(settings, &config)?;
    }
    if demo.is_some() {
        config.database_url = prepare_demo(settings)?;
        config.database_is_sqlite = true;
        config.key_cache = true;
        config.demo = true;
        // Screenshot tools reach the demo over plain http under any host name.
        config.cookie_secure = false;
    }
    let (secret, source) = match &demo {
        // The demo writes nothing to the data directory but its own database.
        Some((_, seed)) => (
            latchkey::domain::sha256_hex(&format!("latchkey demo cookie key {seed}")).into_bytes(),
            SecretKeySource::Environment,
        ),
        None => resolve_secret_key(settings)?,
    };
    match source {
        SecretKeySource::Environment => tracing::info!("secret key: from LATCHKEY_SECRET_KEY"),
        SecretKeySource::File(p) => tracing::info!("secret key: read from {}", p.display()),
        SecretKeySource::Generated(p) => tracing::warn!(
            "secret key: LATCHKEY_SECRET_KEY is unset, generated a new one into {} (mode 0600); \
             keep that file, or sessions end when it changes",
            p.display()
        ),
    }
    let pool = latchkey::db::connect(
        &config.database_url,
        config.pool_settings(config.db_pool_size),
    )
    .map_err(|e| e.to_string())?;
    let clock = match &demo {
        Some((now, _)) => Clock::fixed(*now),
        None => Clock::system(),
    };
    let vault = match &demo {
        // The demo's secrets stay reproducible and nothing is written to the data directory.
        Some((_, seed)) => {
            let digest =
                <sha2::Sha256 as sha2::Digest>::digest(format!("latchkey demo master key {seed}"));
            latchkey::vault::Keyring::new(vec![latchkey::vault::MasterKey::from_bytes(
                digest.into(),
            )])
            .map_err(|e| e.to_string())?
        }
        None => {
            let (ring, source) = latchkey::vault::master_keys::resolve(
                settings.master_key.as_deref(),
                settings.master_key_file.as_deref(),
                &settings.data_dir,
            )
            .map_err(|e| e.to_string())?;
            log_master_key_source(&source, ring.current().id());
            ring
        }
    };
    latchkey::vault::startup::check(&pool, &vault, clock.now()).await?;
    let state = AppState::new(pool.clone(), config.clone(), clock.clone(), &secret, vault)
        .map_err(|e| e.to_string())?;

    if let Some((_, seed)) = &demo {
        // From here on ids and secrets come from the seeded stream: the same on every run.
        base62::use_demo_stream(seed);
        let hash = state
            .passwords
            .hash(
                latchkey::domain::inputs::Password::parse_new(
                    latchkey::demo::DEMO_PASSWORD.to_owned(),
                )
                .map_err(|e| e.to_string())?,
            )
            .await
            .map_err(|e| e.to_string())?;
        let now = clock.now();
        let vault = state.vault.clone();
        let seeded = with_conn(&pool, move |c| latchkey::demo::seed(c, &hash, &vault, now))
            .await
            .map_err(|e| e.to_string())?;
        // The lifecycle notices of the seeded keys, before anyone looks: every start shows the
        // same audit log, whenever the sweep's first tick lands.
        latchkey::jobs::key_notices::run_once(&state)
            .await
            .map_err(|e| e.to_string())?;
        let mut accounts = String::new();
        for (email, _, what) in latchkey::demo::ACCOUNTS {
            accounts.push_str(&format!("      {email:<22} {what}\n"));
        }
        println!(
            "\n  DEMO MODE: sample data, fixed clock, reproducible ids and secrets. Not for real use.\n\n    \
             Dashboard:  {url}\n    Branded:    http://northstar.localhost:{port} (the agency's host name)\n    \
             Password:   {pw} (every account)\n    Accounts:\n{accounts}    Sample key: {key}\n",
            url = config.public_url,
            port = config.bind.rsplit(':').next().unwrap_or("8080"),
            pw = latchkey::demo::DEMO_PASSWORD,
            key = seeded.sample_key,
        );
    }

    // First start: no account exists, so print a one-time set-up link (to the console only).
    let now = clock.now();
    let token = base62::random(32);
    let t = token.clone();
    let needs_setup = with_conn(&pool, move |c| {
        let empty = !User::any_exist(c)?;
        if empty {
            setup::add(c, &t, now)?;
        }
        Ok(empty)
    })
    .await
    .map_err(|e| e.to_string())?;
    if needs_setup && demo.is_none() {
        println!(
            "\n  No account exists yet. Open this one-time link to create the owner account:\n\n    {}/setup?token={token}\n",
            config.public_url
        );
    }

    // Usage gathered on the request path is written every few seconds, and once more at shutdown.
    let flush_every = config.usage_flush_seconds;
    let flushing = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(flush_every));
        loop {
            tick.tick().await;
            flush_usage(&flushing).await;
        }
    });

    // Every agency host's brand, known before its first request (outage pages), refreshed.
    let brands = state.clone();
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(e) = latchkey::web::brand::Brand::learn_all(&brands).await {
                tracing::debug!(error = %e, "host brands not refreshed; will retry");
            }
        }
    });
    latchkey::jobs::retention::spawn(state.clone());
    latchkey::jobs::webhooks::spawn(state.clone());
    latchkey::jobs::key_notices::spawn(state.clone());
    latchkey::jobs::mail::spawn(state.clone());
    latchkey::jobs::oauth_keepalive::spawn(state.clone());

    // On PostgreSQL: this node's lease and notification connection (the key cache answers
    // only while they hold).
    let listener = state
        .start_listener()
        .map_err(|e| format!("cannot start the notification listener: {e}"))?;
    let cluster = state.cluster.clone();

    tracing::info!(bind = %config.bind, url = %config.public_url, "Latchkey listening");
    let final_usage = state.clone();
    let workers = config.worker_count();
    let max_connections = connection_limit(workers);
    let cap = state.connections.clone();
    let metrics_server = match &config.metrics_bind {
        Some(bind) => {
            let state = state.clone();
            let server =
                actix_web::HttpServer::new(move || latchkey::operator::metrics_app(state.clone()))
                    .workers(1)
                    // Stopped with the main server, below.
                    .disable_signals()
                    .bind(bind)
                    .map_err(|e| format!("cannot listen on LATCHKEY_METRICS_BIND {bind}: {e}"))?
                    .run();
            tracing::info!(bind = %bind, "metrics at /metrics");
            let handle = server.handle();
            actix_web::rt::spawn(server);
            Some(handle)
        }
        None => None,
    };
    let server = actix_web::HttpServer::new(move || build_app(state.clone()))
        // One address may hold only so many of the slots below.
        .on_connect(move |conn, ext| cap.on_connect(conn, ext))
        .workers(workers)
        // Below the open-file limit, so a flood of (slow) clients makes new ones wait in the
        // listen backlog instead of failing every accept with "too many open files".
        .max_connections(max_connections)
        // The request head must arrive within this (the body has its own deadline, edge.rs).
        .client_request_timeout(std::time::Duration::from_secs(5))
        // Database calls run on this pool. A few threads per worker keep every core busy;
        // hundreds (the default) spend the CPU switching between threads instead (measured).
        .worker_max_blocking_threads(config.blocking_threads);
    server
        .bind(&config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?
        .run()
        .await
        .map_err(|e| e.to_string())?;
    if let Some(metrics) = metrics_server {
        metrics.stop(true).await;
    }
    // End the lease, so no other node's change waits for this one.
    cluster.stop();
    if let Some(listener) = listener {
        let _ = actix_web::rt::task::spawn_blocking(move || listener.join()).await;
    }
    flush_usage(&final_usage).await;
    Ok(())
}

fn log_master_key_source(source: &latchkey::vault::master_keys::Source, id: &str) {
    use latchkey::vault::master_keys::Source;
    match source {
        Source::Environment => {
            tracing::info!(key_id = id, "vault master key: from LATCHKEY_MASTER_KEY")
        }
        Source::File(p) => {
            tracing::info!(key_id = id, "vault master key: read from {}", p.display())
        }
        Source::Generated(p) => tracing::warn!(
            key_id = id,
            "vault master key: none configured, generated one into {} (mode 0600). Back it up: \
             without it no stored credential can be opened",
            p.display()
        ),
    }
}

/// Connections each worker accepts at most: the open-file limit (raised to its hard ceiling
/// first), less a reserve for database connections, log and data files, shared out.
fn connection_limit(workers: usize) -> usize {
    const RESERVE: u64 = 256;
    let limit = raise_open_file_limit().unwrap_or(1024);
    let per_worker = limit.saturating_sub(RESERVE) / workers.max(1) as u64;
    let per_worker = usize::try_from(per_worker)
        .unwrap_or(usize::MAX)
        .clamp(32, 25_000);
    tracing::info!(open_files = limit, per_worker, "connection limit");
    per_worker
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (as Go and nginx do); returns the limit now
/// in force.
#[allow(unsafe_code)]
fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}

/// Writes the usage gathered on the request path (keys', then integrations' calls), then
/// forgets the tallies of keys gone idle.
async fn flush_usage(state: &AppState) {
    let keys = state.key_tallies.clone();
    let calls = state.integration_usage.clone();
    let flushed = [
        with_write(&state.pool, move |c| {
            Ok(keys.flush(c, latchkey::ops::api_keys::record_addresses)?)
        })
        .await,
        with_write(&state.pool, move |c| Ok(calls.flush(c)?)).await,
    ];
    for result in flushed {
        if let Err(e) = result {
            tracing::warn!(error = %e, "usage flush failed; will retry");
        }
    }
    state.key_tallies.prune(state.clock.now());
}

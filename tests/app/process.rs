//! The real `latchkey` binary over real sockets, for the suites that need a process: one
//! HTTP/1.1 request per connection, a server started with a given environment (killed when
//! dropped), and an admin key seeded straight into its database.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use latchkey::domain::api_key_secret::KeyMode;
use latchkey::domain::ids::{ApiKeyId, UserId};
use latchkey::domain::scope::ScopeSet;
use latchkey::models::api_key::{ApiKey, KeySettings};
use latchkey::models::team::Team;
use latchkey::models::user::{NewUser, User};

/// A response: status (0 when the connection failed or closed without one) and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
pub fn http(port: u16, method: &str, path: &str, key: Option<&str>, body: Option<&str>) -> Reply {
    let failed = || Reply {
        status: 0,
        headers: String::new(),
        body: String::new(),
    };
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return failed();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(k) = key {
        req.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{b}",
            b.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    if s.write_all(req.as_bytes()).is_err() {
        return failed();
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return failed();
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// A connection to `port` from the local address `from` (any of 127.0.0.0/8).
pub fn connect_from(from: &str, port: u16) -> std::net::TcpStream {
    let socket =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: std::net::SocketAddr = format!("{from}:0").parse().expect("addr");
    socket.bind(&local.into()).expect("bind");
    let server: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    socket.connect(&server.into()).expect("connect");
    socket.into()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A fresh database on the machine's PostgreSQL (dropped afterwards).
pub struct PgDatabase {
    admin: String,
    name: String,
}

impl PgDatabase {
    pub fn create() -> Option<PgDatabase> {
        let admin = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!(
            "latchkey_proc_{}",
            latchkey::domain::base62::random(10).to_lowercase()
        );
        let mut c = PgConnection::establish(&admin).expect("TEST_DATABASE_URL");
        c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create");
        Some(PgDatabase { admin, name })
    }

    pub fn url(&self) -> String {
        let base = self
            .admin
            .rsplit_once('/')
            .map_or(self.admin.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }

    /// Terminates every backend of this database (what a failover or an operator does).
    pub fn terminate_backends(&self) -> i64 {
        let mut c = PgConnection::establish(&self.admin).expect("admin");
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        ))
        .execute(&mut c)
        .map(|n| n as i64)
        .unwrap_or(0)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = PgConnection::establish(&self.admin) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Runs `latchkey` with `args` to its end; (success, stdout + stderr). An empty value in
/// `env` removes a variable it otherwise gets.
pub fn run_to_end(
    dir: &std::path::Path,
    db: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db)
        .env("LATCHKEY_DATA_DIR", dir)
        .env("LATCHKEY_SECRET_KEY", "x".repeat(64))
        .env("LATCHKEY_BIND", "127.0.0.1:1")
        .env("RUST_LOG", "info")
        .args(args);
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().expect("latchkey runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The master key the servers of these tests share on PostgreSQL.
pub const TEST_MASTER_KEY: &str =
    "0909090909090909090909090909090909090909090909090909090909090909";

/// A running `latchkey` process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Server {
    /// Starts a server and waits until it answers.
    pub fn start(data_dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Server {
        let server = Self::spawn(data_dir, database_url, env);
        server.wait_until_up();
        server
    }

    /// Starts a server without waiting for it (several nodes started at once).
    pub fn spawn(data_dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = data_dir.join(format!("server-{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .env("LATCHKEY_DATA_DIR", data_dir)
            .env("LATCHKEY_SECRET_KEY", "x".repeat(64))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        if database_url.starts_with("postgres") {
            // Several nodes must share the master key, so PostgreSQL requires one (the tests
            // that check the vault's keys pass their own).
            cmd.env("LATCHKEY_MASTER_KEY", TEST_MASTER_KEY);
        }
        // An empty value removes a variable the servers otherwise get.
        for (k, v) in env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let child = cmd.spawn().expect("start latchkey");
        Server { child, port, log }
    }

    /// Waits until `/healthz` answers.
    pub fn wait_until_up(&self) {
        let started = Instant::now();
        while http(self.port, "GET", "/healthz", None, None).status != 200 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "latchkey did not start:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A team with an owner and an admin key, written straight into the database (the server
/// migrates it on start; this runs the same migrations first). Returns the key.
pub fn seed_admin_key(database_url: &str) -> String {
    let pool = latchkey::db::connect(database_url, Default::default()).expect("database");
    let mut c = pool.get().expect("connection");
    let user = UserId::generate();
    User::insert(
        &mut c,
        &NewUser {
            id: user.as_str(),
            email: "ada@example.com",
            name: "Ada",
            password_hash: "$argon2id$not-used",
            created_at: 0,
        },
    )
    .expect("user");
    let team = Team::create_with_owner(&mut c, "Acme", &user, 0).expect("team");
    let settings = KeySettings {
        name: "fault suite".into(),
        scopes: ScopeSet::all(),
        mode: KeyMode::Live,
        environment: None,
        expires_at: None,
        rate_limit_per_minute: Some(1_000_000),
        ip_allowlist: None,
    };
    let (_, secret) = ApiKey::insert(
        &mut c,
        &ApiKeyId::generate(),
        &team.team_id(),
        &settings,
        None,
        0,
    )
    .expect("key");
    secret.expose().to_owned()
}

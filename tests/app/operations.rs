//! What an operator meets running the real binary: the files it creates, backups, metrics
//! and the per-address connection cap.

use std::os::unix::fs::PermissionsExt;

use crate::process::{Server, connect_from, http};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_first_start_keeps_its_data_directory_and_every_file_in_it_to_its_owner() {
    let root = tempfile::tempdir().expect("dir");
    let data = root.path().join("data");
    let db = format!("sqlite://{}", data.join("latchkey.db").display());
    // Like `cargo run --release` on a fresh clone: nothing configured, nothing there yet.
    let data_dir = data.to_string_lossy().into_owned();
    let server = Server::start(
        root.path(),
        &db,
        &[
            ("LATCHKEY_DATA_DIR", &data_dir),
            ("LATCHKEY_SECRET_KEY", ""),
        ],
    );
    let _ = http(server.port, "GET", "/readyz", None, None);
    assert_eq!(mode(&data), 0o700, "data directory");
    let mut files: Vec<String> = std::fs::read_dir(&data)
        .expect("data dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("server-"))
        .collect();
    files.sort();
    for expected in ["latchkey.db", "latchkey.db-wal", "master.key", "secret.key"] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} in {files:?}"
        );
    }
    for file in &files {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

#[test]
fn on_postgresql_a_node_refuses_to_start_without_shared_keys_and_says_how() {
    let db = crate::process::PgDatabase::create()
        .expect("set TEST_DATABASE_URL (CI does) to run the PostgreSQL start-up test");
    let dir = tempfile::tempdir().expect("dir");
    let url = db.url();
    let run = |env: &[(&str, &str)]| crate::process::run_to_end(dir.path(), &url, env, &[]);
    let (ok, text) = run(&[("LATCHKEY_SECRET_KEY", "")]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("LATCHKEY_SECRET_KEY") && text.contains("LATCHKEY_MASTER_KEY"),
        "{text}"
    );
    assert!(text.contains("openssl rand -base64 32"), "{text}");
    let secret = "s".repeat(48);
    let (ok, text) = run(&[("LATCHKEY_SECRET_KEY", &secret), ("RUST_LOG", "warn")]);
    assert!(!ok && !text.contains("LATCHKEY_SECRET_KEY (") && text.contains("LATCHKEY_MASTER_KEY"));
    // Nothing was generated into the data directory, and nothing was written to the database.
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

/// Sends `request` on `stream` and reads the answer to its end ("" when the server closed the
/// connection without one).
fn exchange(mut stream: std::net::TcpStream, request: &str) -> String {
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let _ = stream.write_all(request.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_65th_connection_from_one_address_is_refused_while_another_address_is_served() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let server = Server::start(dir.path(), &db, &[("LATCHKEY_WORKERS", "2")]);
    let get = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // 64 slow uploads from one address: each sent its head and is trickling its body.
    let slow: Vec<std::net::TcpStream> = (0..64)
        .map(|_| {
            let mut s = connect_from("127.0.0.1", server.port);
            s.write_all(
                b"POST /v1/bots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                  Content-Length: 1000\r\n\r\n{\"na",
            )
            .expect("write");
            s
        })
        .collect();
    // Let the server accept them all.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let refused = exchange(connect_from("127.0.0.1", server.port), get);
    assert_eq!(
        refused, "",
        "the 65th connection is closed without an answer"
    );
    let served = exchange(connect_from("127.0.0.2", server.port), get);
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    // A slow upload that ends gives its slot back.
    drop(slow);
    let started = std::time::Instant::now();
    loop {
        let again = exchange(connect_from("127.0.0.1", server.port), get);
        if again.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{again}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn metrics_are_served_in_the_prometheus_format_on_their_own_address_only() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let key = crate::process::seed_admin_key(&db);
    let metrics_port = crate::process::free_port();
    let bind = format!("127.0.0.1:{metrics_port}");
    // One worker: one key cache, so the first request misses and the others hit.
    let server = Server::start(
        dir.path(),
        &db,
        &[("LATCHKEY_METRICS_BIND", &bind), ("LATCHKEY_WORKERS", "1")],
    );
    for _ in 0..3 {
        assert_eq!(
            http(server.port, "GET", "/v1/me", Some(&key), None).status,
            200
        );
    }
    // Malformed: refused before any lookup, so it counts as invalid but not as a cache miss.
    let unknown = "sk_live_not-a-key";
    assert_eq!(
        http(server.port, "GET", "/v1/me", Some(unknown), None).status,
        401
    );
    // Not where the API and the dashboard are.
    assert_eq!(http(server.port, "GET", "/metrics", None, None).status, 404);
    let scrape = http(metrics_port, "GET", "/metrics", None, None);
    assert_eq!(scrape.status, 200);
    assert!(
        scrape
            .headers
            .contains("content-type: text/plain; version=0.0.4"),
        "{}",
        scrape.headers
    );
    let value = |line_start: &str| -> f64 {
        scrape
            .body
            .lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{line_start} in:\n{}", scrape.body))
    };
    assert_eq!(
        value(r#"latchkey_http_requests_total{route="/v1/me",status="200",surface="api"}"#),
        3.0
    );
    assert_eq!(
        value(r#"latchkey_key_checks_total{outcome="accepted"}"#),
        3.0
    );
    assert_eq!(
        value(r#"latchkey_key_checks_total{outcome="invalid"}"#),
        1.0
    );
    assert_eq!(
        value(r#"latchkey_key_cache_lookups_total{result="hit"}"#),
        2.0
    );
    assert_eq!(
        value(r#"latchkey_key_cache_lookups_total{result="miss"}"#),
        1.0
    );
    assert_eq!(value("latchkey_key_cache_trusted"), 1.0);
    assert_eq!(value("latchkey_database_up"), 1.0);
    assert_eq!(value("latchkey_outbox_pending_events"), 0.0);
    assert_eq!(value("latchkey_webhook_deliveries_pending"), 0.0);
    assert!(value("latchkey_db_pool_wait_seconds_count") >= 1.0);
    assert_eq!(
        value(r#"latchkey_http_request_duration_seconds_count{surface="api"}"#),
        4.0
    );
    for name in [
        "# TYPE latchkey_connections_refused_total counter",
        "# TYPE latchkey_invalidation_wait_seconds histogram",
        "# TYPE latchkey_http_requests_total counter",
    ] {
        assert!(scrape.body.contains(name), "{name}");
    }
}

#[test]
fn an_online_backup_restores_to_a_working_node_after_a_wipe() {
    let dir = tempfile::tempdir().expect("dir");
    let db_path = dir.path().join("latchkey.db");
    let db = format!("sqlite://{}", db_path.display());
    let key = crate::process::seed_admin_key(&db);
    let mut server = Server::start(dir.path(), &db, &[]);
    let port = server.port;
    let made = http(
        port,
        "POST",
        "/v1/bots",
        Some(&key),
        Some(r#"{"name":"Before"}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    // Writers keep going while the copy is taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, key) = (stop.clone(), key.clone());
        std::thread::spawn(move || {
            let mut ok = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let res = http(
                    port,
                    "POST",
                    "/v1/bots",
                    Some(&key),
                    Some(r#"{"name":"During"}"#),
                );
                assert_eq!(
                    res.status, 201,
                    "writes go on during the backup: {}",
                    res.body
                );
                ok += 1;
            }
            ok
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let backup = dir.path().join("backups").join("latchkey-backup.db");
    let file = backup.to_string_lossy().into_owned();
    let (ok, text) = crate::process::run_to_end(dir.path(), &db, &[], &["backup", &file]);
    assert!(ok, "{text}");
    assert!(
        text.contains("backed up") && text.contains("master key"),
        "{text}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = writer.join().expect("writer");
    assert!(during > 0);
    assert_eq!(mode(&backup), 0o600);
    // Refuses to overwrite.
    let (again, _) = crate::process::run_to_end(dir.path(), &db, &[], &["backup", &file]);
    assert!(!again);
    // The machine loses its database; the backup is put in its place.
    server.kill9();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    std::fs::copy(&backup, &db_path).expect("restore");
    let server = Server::start(dir.path(), &db, &[]);
    let me = http(server.port, "GET", "/v1/me", Some(&key), None);
    assert_eq!(
        me.status, 200,
        "the key works after the restore: {}",
        me.body
    );
    let before: serde_json::Value = serde_json::from_str(&made.body).expect("json");
    let id = before["id"].as_str().expect("bot id");
    let bot = http(
        server.port,
        "GET",
        &format!("/v1/bots/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(bot.status, 200, "{}", bot.body);
    assert!(bot.body.contains("\"Before\""), "{}", bot.body);
}

#[test]
fn a_pg_dump_restores_to_a_working_node() {
    let db = crate::process::PgDatabase::create()
        .expect("set TEST_DATABASE_URL (CI does) to run the PostgreSQL backup test");
    let dir = tempfile::tempdir().expect("dir");
    let key = crate::process::seed_admin_key(&db.url());
    let mut server = Server::start(dir.path(), &db.url(), &[]);
    let made = http(
        server.port,
        "POST",
        "/v1/bots",
        Some(&key),
        Some(r#"{"name":"Kept"}"#),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let bot: serde_json::Value = serde_json::from_str(&made.body).expect("json");
    let id = bot["id"].as_str().expect("id").to_owned();
    // The documented path (docs/deploy.md), taken while the node runs.
    let dump = dir.path().join("latchkey.dump");
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(db.url())
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.kill9();
    let restored = crate::process::PgDatabase::create().expect("second database");
    let out = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &restored.url()])
        .arg(&dump)
        .output()
        .expect("pg_restore");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(dir.path(), &restored.url(), &[]);
    let me = http(server.port, "GET", "/v1/me", Some(&key), None);
    assert_eq!(
        me.status, 200,
        "the key works on the restored database: {}",
        me.body
    );
    let kept = http(
        server.port,
        "GET",
        &format!("/v1/bots/{id}"),
        Some(&key),
        None,
    );
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert!(kept.body.contains("\"Kept\""));
}

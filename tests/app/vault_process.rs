//! The vault end to end with the real binary: a generated master key, a canary credential
//! that never reaches the log at `RUST_LOG=trace` nor the database file, a wrong key that stops
//! the start, and a rotation with two keys, `latchkey vault rewrap`, then the new key alone.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::process::{Server, http, run_to_end, seed_admin_key};

const CANARY: &str = "canary-5d1e9a7b3c2f4e6a8b0d";

/// A loopback receiver on its own thread: answers 200 and keeps each request's head.
fn receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 8192];
            let n = stream.read(&mut buf).unwrap_or(0);
            log.lock()
                .expect("log")
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}",
            );
        }
    });
    (port, seen)
}

fn call(server: &Server, key: &str, id: &str) -> u16 {
    http(
        server.port,
        "POST",
        &format!("/v1/integrations/{id}/requests"),
        Some(key),
        Some(r#"{"path":"/orders"}"#),
    )
    .status
}

#[test]
fn the_vault_keeps_a_canary_out_of_trace_logs_and_the_file_and_survives_a_key_rotation() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("vault.db");
    let db = format!("sqlite://{}", file.display());
    let key = seed_admin_key(&db);
    let (port, seen) = receiver();
    let allow = [("LATCHKEY_OUTBOUND_ALLOW_CIDRS", "127.0.0.1/32")];

    // First start: no key configured, so one is generated (0600) and the log says to back it up.
    let mut server = Server::start(dir.path(), &db, &[allow[0], ("RUST_LOG", "trace")]);
    let master = dir.path().join("master.key");
    let old_key = std::fs::read_to_string(&master).expect("master.key written");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&master)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "master.key is private");
    }
    let created = http(
        server.port,
        "POST",
        "/v1/integrations",
        Some(&key),
        Some(&format!(
            r#"{{"provider":"custom","name":"Orders","base_url":"http://127.0.0.1:{port}/api","credential_placement":{{"type":"query","name":"key"}},"credential":{{"token":"{CANARY}"}}}}"#
        )),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = serde_json::from_str::<serde_json::Value>(&created.body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(call(&server, &key, &id), 200);
    let test = http(
        server.port,
        "POST",
        &format!("/v1/integrations/{id}/test"),
        Some(&key),
        None,
    );
    assert_eq!(test.status, 200, "{}", test.body);
    assert_eq!(
        seen.lock().expect("seen").len(),
        2,
        "the receiver got the call and the test"
    );
    assert!(seen.lock().expect("seen")[0].contains(&format!("key={CANARY}")));
    server.kill9();
    let log = server.log();
    assert!(log.contains("TRACE"), "the log really was at trace level");
    assert!(
        log.contains("Back it up"),
        "the generated key is announced: {log}"
    );
    assert_eq!(
        log.matches(CANARY).count(),
        0,
        "the credential reached the trace log"
    );
    let bytes = std::fs::read(&file).expect("db file");
    let wal = std::fs::read(format!("{}-wal", file.display())).unwrap_or_default();
    let at_rest = format!(
        "{}{}",
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&wal)
    );
    assert_eq!(
        at_rest.matches(CANARY).count(),
        0,
        "the plaintext is in the database file"
    );

    // Another key alone: the start stops with a message that says what to set.
    let new_key = "7".repeat(64);
    let (ok, out) = run_to_end(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", new_key.as_str())],
        &[],
    );
    assert!(!ok, "a wrong key must not start");
    assert!(
        out.contains("is not the one this database's secrets were sealed with"),
        "{out}"
    );

    // Rotation: the new key first, the old one after it; then rewrap; then the new key alone.
    let both = format!("{new_key},{}", old_key.trim());
    let mut server = Server::start(
        dir.path(),
        &db,
        &[allow[0], ("LATCHKEY_MASTER_KEY", both.as_str())],
    );
    assert_eq!(
        call(&server, &key, &id),
        200,
        "the old key still opens its values"
    );
    server.kill9();
    let (ok, out) = run_to_end(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", both.as_str())],
        &["vault", "rewrap"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("re-wrapped 1 value(s)"), "{out}");
    assert!(
        out.contains("0 value(s) (nothing left on it: it may be removed)"),
        "{out}"
    );
    let (ok, out) = run_to_end(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", old_key.trim())],
        &[],
    );
    assert!(!ok, "the old key alone no longer fits: {out}");
    let server = Server::start(
        dir.path(),
        &db,
        &[allow[0], ("LATCHKEY_MASTER_KEY", new_key.as_str())],
    );
    assert_eq!(
        call(&server, &key, &id),
        200,
        "every value opens with the new key alone"
    );
    assert!(
        seen.lock()
            .expect("seen")
            .last()
            .expect("call")
            .contains(&format!("key={CANARY}"))
    );
}

#[test]
fn removing_a_key_that_still_seals_values_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("v.db").display());
    let key = seed_admin_key(&db);
    let old_key = "1".repeat(64);
    let new_key = "2".repeat(64);
    let both = format!("{new_key},{old_key}");
    let server = Server::start(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", old_key.as_str())],
    );
    let created = http(
        server.port,
        "POST",
        "/v1/integrations",
        Some(&key),
        Some(r#"{"provider":"stripe","name":"Pay","credential":{"token":"sk_test_1"}}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    drop(server);
    // The new key is accepted next to the old one (and leaves its check)…
    let server = Server::start(dir.path(), &db, &[("LATCHKEY_MASTER_KEY", both.as_str())]);
    drop(server);
    // …but alone, before `vault rewrap`, it is refused: a value still needs the old key.
    let (ok, out) = run_to_end(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", new_key.as_str())],
        &[],
    );
    assert!(!ok);
    assert!(out.contains("1 sealed with master key"), "{out}");
    assert!(out.contains("latchkey vault rewrap"), "{out}");
    let (ok, out) = run_to_end(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", both.as_str())],
        &["vault", "status"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("1 value(s)"), "{out}");

    // The old key is lost for good: `vault forget` discards what it sealed, then the new key
    // alone starts, and the integration is there without a credential.
    let (_, refused) = run_to_end(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", new_key.as_str())],
        &[],
    );
    let lost = refused
        .split("sealed with master key ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_hexdigit()).next())
        .expect("the message names the key id")
        .to_owned();
    let (ok, out) = run_to_end(dir.path(), &db, &[], &["vault", "forget", &lost]);
    assert!(ok, "{out}");
    assert!(out.contains("discarded 1 credential(s)"), "{out}");
    let server = Server::start(
        dir.path(),
        &db,
        &[("LATCHKEY_MASTER_KEY", new_key.as_str())],
    );
    let list = http(server.port, "GET", "/v1/integrations", Some(&key), None);
    assert!(
        list.body.contains(r#""credential":{"set":false}"#),
        "{}",
        list.body
    );
}

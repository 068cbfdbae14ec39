//! SQLite faults against real database files: a write lock held past the busy timeout, a
//! read-only database, a full disk (a real, small tmpfs). Writes answer 503 in the envelope or
//! on the form, nothing is half-written, reads and key checks keep working, and writes work
//! again once the fault is gone. (PostgreSQL faults, kill -9 and slow clients run against the
//! real binary: `faults_process.rs`.)

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use latchkey::db::schema::{api_keys, bots};
use serde_json::json;

use crate::helpers::{KeySpec, Resp, TestApp};

fn admin(team: &str) -> KeySpec<'_> {
    KeySpec {
        team,
        scopes: &["admin", "bots:write"],
        mode: "live",
    }
}

fn key_rows(app: &TestApp) -> i64 {
    app.db(|c| api_keys::table.count().get_result(c))
        .expect("count keys")
}

/// Posts the create-key form (no JS); returns the response.
async fn create_key(app: &TestApp, slug: &str, name: &str) -> Resp {
    let csrf = app.csrf_of_session(slug).await;
    app.post(
        &format!("/teams/{slug}/settings/api-keys"),
        &[
            ("csrf_token", &csrf),
            ("name", name),
            ("scopes", "admin"),
            ("mode", "live"),
        ],
    )
    .await
}

/// The same form through htmx.
async fn create_key_htmx(app: &TestApp, slug: &str, name: &str) -> Resp {
    let csrf = app.csrf_of_session(slug).await;
    app.post_htmx(
        &format!("/teams/{slug}/settings/api-keys"),
        &csrf,
        &[("name", name), ("scopes", "admin"), ("mode", "live")],
    )
    .await
}

/// A 503 page that says `what`, and for htmx the notice that appears over the form.
fn assert_unavailable_page(res: &Resp, what: &str) {
    res.assert_status(503);
    assert!(res.body.contains(what), "{}", res.body);
    assert!(res.body.contains("data-testid=\"service-notice-body\""));
    assert_eq!(res.header("retry-after"), "5");
    assert_eq!(res.header("hx-retarget"), "#service-notice");
    assert!(
        res.header("content-security-policy")
            .contains("default-src 'self'")
    );
}

fn assert_unavailable_json(res: &Resp) {
    res.assert_status(503);
    assert_eq!(
        res.body,
        r#"{"error":{"code":"SERVICE_UNAVAILABLE","message":"The service is temporarily unavailable; retry shortly"}}"#
    );
    assert_eq!(res.header("retry-after"), "5");
}

/// During a fault: the key form (plain and htmx) and an API write are refused with `what`.
async fn assert_writes_refused(app: &TestApp, slug: &str, key: &str, what: &str) {
    assert_unavailable_page(&create_key(app, slug, "During the fault").await, what);
    assert_unavailable_page(&create_key_htmx(app, slug, "During the fault").await, what);
    assert_unavailable_json(
        &app.api("POST", "/bots", key, Some(json!({"name": "Helpdesk"})))
            .await,
    );
}

/// During a fault: pages, the key check and API reads are served.
async fn assert_reads_served(app: &TestApp, slug: &str, key: &str) {
    app.get(&format!("/teams/{slug}/settings/api-keys"))
        .await
        .assert_status(200);
    app.api("GET", "/me", key, None).await.assert_status(200);
    app.api("GET", "/bots", key, None).await.assert_status(200);
    app.get("/readyz").await.assert_status(200);
}

#[actix_web::test]
async fn a_write_lock_held_past_the_busy_timeout_gets_503_and_reads_go_on() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("test.db");
    let url = format!("sqlite://{}", path.display());
    let app = TestApp::spawn_on(&url, |c| c.db_wait_ms = 300).await;
    let slug = app.set_up("ada@example.com", "Acme").await;
    let (_, key) = app.make_key(admin(&slug));
    let before = key_rows(&app);

    // Another process holds the write lock.
    let mut holder = SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("open");
    holder.batch_execute("BEGIN IMMEDIATE").expect("lock");

    assert_writes_refused(&app, &slug, &key, "database was busy").await;
    // Reads and the key check do not wait for the lock.
    assert_reads_served(&app, &slug, &key).await;

    holder.batch_execute("ROLLBACK").expect("unlock");
    assert_eq!(key_rows(&app), before, "nothing was half-written");
    create_key(&app, &slug, "After lock")
        .await
        .assert_status(200);
    app.api("POST", "/bots", &key, Some(json!({"name": "Helpdesk"})))
        .await
        .assert_status(201);
}

#[actix_web::test]
async fn a_read_only_database_answers_writes_with_503_and_serves_reads() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("test.db");
    let rw = TestApp::spawn_on(&format!("sqlite://{}", path.display()), |_| {}).await;
    let slug = rw.set_up("ada@example.com", "Acme").await;
    let (_, key) = rw.make_key(admin(&slug));
    rw.api("POST", "/bots", &key, Some(json!({"name": "Helpdesk"})))
        .await
        .assert_status(201);

    // The same file opened read-only (as on a read-only mount): SQLite's own refusal.
    let ro_url = format!("sqlite://file:{}?mode=ro", path.display());
    let ro = TestApp::spawn_on(&ro_url, |_| {}).await;
    ro.swap_cookies(rw.cookies());
    assert_writes_refused(&ro, &slug, &key, "accepts no changes").await;
    assert_reads_served(&ro, &slug, &key).await;
    let n: i64 = rw.db(|c| bots::table.count().get_result(c)).expect("count");
    assert_eq!(n, 1);
}

/// A small tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("dir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "this test mounts a small tmpfs to fill it up; it needs root (as in CI)"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut f = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[actix_web::test]
async fn a_full_disk_refuses_writes_with_503_keeps_reads_and_recovers() {
    let disk = SmallDisk::mount("4m");
    let path = disk.path().join("test.db");
    let url = format!("sqlite://{}", path.display());
    let app = TestApp::spawn_on(&url, |_| {}).await;
    let slug = app.set_up("ada@example.com", "Acme").await;
    let (_, key) = app.make_key(admin(&slug));
    let before = key_rows(&app);
    // Start from an empty write-ahead log, so the next write needs new space.
    app.db(|c| c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"))
        .expect("checkpoint");
    let filler = disk.fill();

    assert_writes_refused(&app, &slug, &key, "out of disk space").await;
    assert_reads_served(&app, &slug, &key).await;
    assert_eq!(key_rows(&app), before);

    std::fs::remove_file(filler).expect("free the space");
    let res = create_key(&app, &slug, "After the disk full").await;
    res.assert_status(200);
    let secret = res.revealed_key();
    app.api("GET", "/me", &secret, None)
        .await
        .assert_status(200);
    app.api("POST", "/bots", &key, Some(json!({"name": "Helpdesk"})))
        .await
        .assert_status(201);
    assert_eq!(key_rows(&app), before + 1);
}

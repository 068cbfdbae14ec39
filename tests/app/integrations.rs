//! Integrations and the vault through `/v1`: write-only credentials, injection in exactly the
//! preset's place, calls for bot flows, connection tests, isolation, bad input, and the sealed
//! bytes at rest.

use diesel::prelude::*;
use latchkey::db::schema::{audit_events, integration_usage, integrations};
use serde_json::{Value, json};

use crate::helpers::{KeySpec, TestApp, each_db, each_db_with};
use crate::receiver::{Receiver, json_reply};

/// Whether a request carries the credential where it should.
type Arrived = Box<dyn Fn(&crate::receiver::Seen) -> bool>;

/// The canary: a credential that must never come back out.
const CANARY: &str = "canary-9f3b7c1e5a2d4f6b8c0e";

async fn admin(app: &TestApp) -> String {
    let slug = if app.get("/").await.location() == "/login" {
        app.set_up("ada@example.com", "Acme").await
    } else {
        "acme".into()
    };
    app.make_key(KeySpec {
        team: &slug,
        scopes: &["admin"],
        mode: "live",
    })
    .1
}

async fn create(app: &TestApp, key: &str, body: Value) -> Value {
    let res = app.api("POST", "/integrations", key, Some(body)).await;
    res.assert_status(201);
    res.json()
}

fn rows(app: &TestApp) -> (i64, i64) {
    app.db(|c| {
        (
            integrations::table.count().get_result(c).expect("count"),
            audit_events::table.count().get_result(c).expect("count"),
        )
    })
}

#[actix_web::test]
async fn a_receiver_sees_exactly_the_injected_credential_in_each_presets_place() {
    each_db(|app| async move {
        let key = admin(&app).await;
        let receiver = Receiver::ok().await;
        let base = receiver.url();
        let basic = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(format!("ck_{CANARY}:cs_{CANARY}"))
        };
        // (provider, placement, credential, where it must arrive)
        let cases: Vec<(&str, Value, Value, Arrived)> = vec![
            ("shopify", Value::Null, json!({"token": CANARY}),
             Box::new(|s| s.header("x-shopify-access-token") == Some(CANARY))),
            ("woocommerce", Value::Null, json!({"username": format!("ck_{CANARY}"), "password": format!("cs_{CANARY}")}),
             Box::new(move |s| s.header("authorization") == Some(&format!("Basic {basic}")))),
            ("stripe", Value::Null, json!({"token": CANARY}),
             Box::new(|s| s.header("authorization") == Some(&format!("Bearer {CANARY}")))),
            ("hubspot", Value::Null, json!({"token": CANARY}),
             Box::new(|s| s.header("authorization") == Some(&format!("Bearer {CANARY}")))),
            ("zoho_crm", Value::Null, json!({"token": CANARY}),
             Box::new(|s| s.header("authorization") == Some(&format!("Zoho-oauthtoken {CANARY}")))),
            ("calendly", Value::Null, json!({"token": CANARY}),
             Box::new(|s| s.header("authorization") == Some(&format!("Bearer {CANARY}")))),
            ("custom", json!({"type": "header", "name": "X-Api-Key"}), json!({"token": CANARY}),
             Box::new(|s| s.header("x-api-key") == Some(CANARY))),
            ("custom", json!({"type": "query", "name": "api_key"}), json!({"token": CANARY}),
             Box::new(|s| s.target == format!("/v2/orders?status=open&api_key={CANARY}"))),
        ];
        for (i, (provider, placement, credential, arrived)) in cases.iter().enumerate() {
            let mut body = json!({"provider": provider, "name": format!("Int {i}"), "base_url": format!("{base}/v2"), "credential": credential});
            if !placement.is_null() {
                body["credential_placement"] = placement.clone();
            }
            let int = create(&app, &key, body).await;
            let id = int["id"].as_str().expect("id");
            let res = app
                .api("POST", &format!("/integrations/{id}/requests"), &key,
                     Some(json!({"method": "GET", "path": "/orders", "query": {"status": "open"}, "headers": {"X-Flow": "order-status"}})))
                .await;
            res.assert_status(200);
            assert_eq!(res.json()["status"], 200);
            assert_eq!(res.json()["body"], json!({"ok": true}));
            let seen = receiver.seen().pop().expect("a request arrived");
            assert!(arrived(&seen), "{provider}: the credential is not where the preset puts it: {seen:?}");
            assert_eq!(seen.header("x-flow"), Some("order-status"), "the flow's own header passes");
            // Exactly one place carries it: no other header holds any part of it.
            let carriers = seen
                .headers
                .iter()
                .filter(|(_, v)| v.contains(CANARY) || v.starts_with("Basic "))
                .count()
                + usize::from(seen.target.contains(CANARY));
            assert_eq!(carriers, 1, "{provider}: {seen:?}");
            let raw = String::from_utf8_lossy(&seen.raw).into_owned();
            let expected = if *provider == "woocommerce" { 0 } else { 1 };
            assert_eq!(raw.matches(CANARY).count(), expected, "{provider}: the raw request holds it once");
            if *provider != "custom" || placement["type"] != "query" {
                assert_eq!(seen.target, "/v2/orders?status=open", "{provider}");
            }
        }
        // A flow's JSON body goes through as JSON, with the method asked for.
        let int = create(&app, &key, json!({"provider": "hubspot", "name": "CRM", "base_url": base, "credential": {"token": CANARY}})).await;
        let res = app
            .api("POST", &format!("/integrations/{}/requests", int["id"].as_str().expect("id")), &key,
                 Some(json!({"method": "POST", "path": "/crm/v3/objects/contacts", "body": {"properties": {"email": "a@example.com"}}})))
            .await;
        res.assert_status(200);
        let seen = receiver.seen().pop().expect("arrived");
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.body, br#"{"properties":{"email":"a@example.com"}}"#);
        assert_eq!(seen.header("content-type"), Some("application/json"));
    })
    .await;
}

#[actix_web::test]
async fn the_credential_never_comes_back_out_and_is_sealed_at_rest() {
    each_db(|app| async move {
        let key = admin(&app).await;
        // The receiver echoes what it got: the echo must come back scrubbed.
        let receiver = Receiver::start(|s| {
            let echo = format!(r#"{{"you_sent":"{}"}}"#, s.header("authorization").unwrap_or_default());
            json_reply(200, &echo)
        })
        .await;
        let int = create(&app, &key, json!({"provider": "stripe", "name": "Payments", "base_url": receiver.url(), "credential": {"token": CANARY}})).await;
        let id = int["id"].as_str().expect("id").to_owned();
        assert_eq!(int["credential"]["set"], true);
        assert_eq!(int["credential"]["fingerprint"].as_str().expect("fp").len(), 8);
        assert_eq!(int["credential"]["updated_by"], int["credential"]["updated_by"]);
        let mut bodies = vec![int.to_string()];
        for (method, path, body) in [
            ("GET", format!("/integrations/{id}"), None),
            ("GET", "/integrations".to_owned(), None),
            ("POST", format!("/integrations/{id}/requests"), Some(json!({"path": "/balance"}))),
            ("POST", format!("/integrations/{id}/test"), None),
            // A 422 does not echo a submitted credential either.
            ("PATCH", format!("/integrations/{id}"), Some(json!({"name": "", "credential": {"token": CANARY}}))),
            ("POST", "/integrations".to_owned(), Some(json!({"provider": "nope", "name": "X", "credential": {"token": CANARY}}))),
            ("GET", "/audit-events".to_owned(), None),
        ] {
            let res = app.api(method, &path, &key, body).await;
            assert!(res.status.as_u16() < 500, "{method} {path}: {}", res.body);
            bodies.push(res.body.clone());
        }
        let echoed = app
            .api("POST", &format!("/integrations/{id}/requests"), &key, Some(json!({"path": "/echo"})))
            .await;
        assert_eq!(echoed.json()["body"]["you_sent"], "Bearer [redacted]");
        for b in &bodies {
            assert_eq!(b.matches(CANARY).count(), 0, "the credential came back: {b}");
        }
        // The stored column is the vault's sealed form, and no row anywhere holds the value.
        let stored: String = app.db(|c| {
            integrations::table.find(&id).select(integrations::credential.assume_not_null()).first(c).expect("row")
        });
        assert!(stored.starts_with("v1."), "{stored}");
        assert!(!stored.contains(CANARY));
        assert_eq!(raw_database_bytes(&app).matches(CANARY).count(), 0, "the plaintext is in the database");
        let logs = String::from_utf8_lossy(&crate::helpers::captured_logs().lock().expect("logs")).into_owned();
        assert_eq!(logs.matches(CANARY).count(), 0, "the credential was logged");
    })
    .await;
}

/// Every byte the database holds: the SQLite file (and its WAL), or a `pg_dump` of the
/// PostgreSQL database.
fn raw_database_bytes(app: &TestApp) -> String {
    let url = app.state.config.database_url.clone();
    if let Some(path) = url.strip_prefix("sqlite://") {
        // Checkpoint so the WAL's pages are in the main file too, then read both.
        app.db(|c| {
            diesel::sql_query("PRAGMA wal_checkpoint(FULL)")
                .execute(c)
                .expect("checkpoint")
        });
        let mut bytes = std::fs::read(path).expect("database file");
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        let out = std::process::Command::new("pg_dump")
            .arg("--dbname")
            .arg(&url)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dump = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            dump.contains("integrations"),
            "the dump holds the integrations table"
        );
        dump
    }
}

#[actix_web::test]
async fn a_ciphertext_copied_into_another_row_or_team_does_not_open() {
    each_db(|app| async move {
        let key = admin(&app).await;
        let receiver = Receiver::ok().await;
        let a = create(&app, &key, json!({"provider": "stripe", "name": "A", "base_url": receiver.url(), "credential": {"token": CANARY}})).await;
        let b = create(&app, &key, json!({"provider": "stripe", "name": "B", "base_url": receiver.url(), "credential": {"token": "other-token-123"}})).await;
        let other_team = app.team_owned_by("ada@example.com", "Globex");
        let foreign = app.make_key(KeySpec { team: &other_team, scopes: &["admin"], mode: "live" }).1;
        let c = create(&app, &foreign, json!({"provider": "stripe", "name": "C", "base_url": receiver.url(), "credential": {"token": "globex-token-1"}})).await;
        let (a, b, c) = (a["id"].as_str().expect("a").to_owned(), b["id"].as_str().expect("b").to_owned(), c["id"].as_str().expect("c").to_owned());
        let sealed_a: String = app.db(|conn| integrations::table.find(&a).select(integrations::credential.assume_not_null()).first(conn).expect("a"));
        for victim in [&b, &c] {
            app.db(|conn| diesel::update(integrations::table.find(victim)).set(integrations::credential.eq(&sealed_a)).execute(conn).expect("copy"));
            let row: latchkey::models::integration::Integration = app.db(|conn| {
                integrations::table.find(victim).select(latchkey::models::integration::Integration::as_select()).first(conn).expect("row")
            });
            assert!(latchkey::ops::sealed_credential::open(&app.state.vault, &row).is_err(), "a copy opened in {victim}");
        }
        // The original still opens, and only there.
        let row: latchkey::models::integration::Integration = app.db(|conn| {
            integrations::table.find(&a).select(latchkey::models::integration::Integration::as_select()).first(conn).expect("row")
        });
        let opened = latchkey::ops::sealed_credential::open(&app.state.vault, &row).expect("opens");
        assert_eq!(opened.secrets(), vec![CANARY]);
        // And a call through the tampered row is refused, not sent.
        let before = receiver.seen().len();
        let res = app.api("POST", &format!("/integrations/{b}/requests"), &key, Some(json!({"path": "/x"}))).await;
        res.assert_status(500);
        assert_eq!(receiver.seen().len(), before, "nothing was sent with a credential that does not open");
    })
    .await;
}

#[actix_web::test]
async fn bad_input_is_a_422_with_field_messages_and_stores_nothing() {
    each_db(|app| async move {
        let key = admin(&app).await;
        let receiver = Receiver::ok().await;
        let before = rows(&app);
        let cases = [
            (json!({"provider": "shopfy", "name": "S", "base_url": "https://x.example", "credential": {"token": "t"}}), "provider"),
            (json!({"provider": "stripe", "name": "S", "base_url": "http://example.com", "credential": {"token": "t"}}), "base_url"),
            (json!({"provider": "stripe", "name": "S", "base_url": "https://10.0.0.5/api", "credential": {"token": "t"}}), "base_url"),
            (json!({"provider": "shopify", "name": "S", "base_url": "https://{store}.myshopify.com", "credential": {"token": "t"}}), "base_url"),
            (json!({"provider": "stripe", "name": "S"}), "credential"),
            (json!({"provider": "stripe", "name": "S", "credential": {"token": ""}}), "credential.token"),
            (json!({"provider": "woocommerce", "name": "S", "base_url": "https://shop.example/wp-json/wc/v3", "credential": {"username": "ck_1"}}), "credential.password"),
            (json!({"provider": "stripe", "name": "S", "credential": {"token": "a\nb"}}), "credential.token"),
            (json!({"provider": "stripe", "name": "S", "credential": {"secret": "x"}}), "credential.secret"),
            (json!({"provider": "custom", "name": "S", "base_url": "https://api.example", "credential_placement": {"type": "header"}, "credential": {"token": "t"}}), "credential_name"),
            (json!({"provider": "custom", "name": "S", "base_url": "https://api.example", "credential_placement": {"type": "header", "name": "Host"}, "credential": {"token": "t"}}), "credential_name"),
            (json!({"provider": "stripe", "name": "S", "credential_placement": {"type": "query", "name": "k"}, "credential": {"token": "t"}}), "credential_placement"),
            (json!({"provider": "stripe", "name": "S", "check_path": "/../admin", "credential": {"token": "t"}}), "check_path"),
            (json!({"provider": "stripe", "name": "", "credential": {"token": "t"}}), "name"),
        ];
        for (body, field) in &cases {
            let res = app.api("POST", "/integrations", &key, Some(body.clone())).await;
            res.assert_status(422);
            assert_eq!(res.json()["error"]["code"], "VALIDATION_FAILED");
            assert!(res.json()["error"]["fields"][field].is_string(), "{body}: {}", res.body);
        }
        assert_eq!(rows(&app), before, "nothing was stored");

        let int = create(&app, &key, json!({"provider": "stripe", "name": "Pay", "base_url": receiver.url(), "credential": {"token": "tok_1"}})).await;
        let id = int["id"].as_str().expect("id");
        let before = rows(&app);
        let call = format!("/integrations/{id}/requests");
        let big = "x".repeat(300 * 1024);
        for (body, field) in [
            (json!({"path": "/../admin"}), "path"),
            (json!({"path": "https://evil.example/"}), "path"),
            (json!({"path": "//evil.example/x"}), "path"),
            (json!({"path": "/a/%2e%2e/b"}), "path"),
            (json!({"path": "/x?y=1"}), "path"),
            (json!({}), "path"),
            (json!({"path": "/x", "method": "TRACE"}), "method"),
            (json!({"path": "/x", "headers": {"Authorization": "Bearer mine"}}), "headers.Authorization"),
            (json!({"path": "/x", "headers": {"Cookie": "a=b"}}), "headers.Cookie"),
            (json!({"path": "/x", "headers": {"Transfer-Encoding": "chunked"}}), "headers.Transfer-Encoding"),
            (json!({"path": "/x", "headers": {"X-Bad": "a\r\nb"}}), "headers.X-Bad"),
            (json!({"path": "/x", "body": big}), "body"),
        ] {
            let res = app.api("POST", &call, &key, Some(body.clone())).await;
            assert!(res.status == 422 || res.status == 413, "{body}: {}", res.status);
            if res.status == 422 {
                assert!(res.json()["error"]["fields"][field].is_string(), "{field}: {}", res.body);
            }
        }
        assert_eq!(receiver.seen().len(), 0, "no refused call was sent");
        assert_eq!(rows(&app), before);
    })
    .await;
}

#[actix_web::test]
async fn another_team_or_mode_gets_a_404_identical_to_a_missing_one() {
    each_db(|app| async move {
        let key = admin(&app).await;
        let receiver = Receiver::ok().await;
        let int = create(&app, &key, json!({"provider": "stripe", "name": "Pay", "base_url": receiver.url(), "credential": {"token": CANARY}})).await;
        let id = int["id"].as_str().expect("id");
        let other = app.team_owned_by("ada@example.com", "Globex");
        let foreign = app.make_key(KeySpec { team: &other, scopes: &["admin"], mode: "live" }).1;
        let test_mode = app.make_key(KeySpec { team: "acme", scopes: &["admin"], mode: "test" }).1;
        let missing = format!("int_{}", "0".repeat(20));
        for k in [&foreign, &test_mode] {
            for (method, suffix, body) in [
                ("GET", "", None),
                ("PATCH", "", Some(json!({"name": "Mine"}))),
                ("POST", "/requests", Some(json!({"path": "/x"}))),
                ("POST", "/test", None),
                ("DELETE", "", None),
            ] {
                let theirs = app.api(method, &format!("/integrations/{id}{suffix}"), k, body.clone()).await;
                let none = app.api(method, &format!("/integrations/{missing}{suffix}"), k, body).await;
                theirs.assert_status(404);
                assert_eq!(theirs.body, none.body, "{method} {suffix}");
            }
            assert_eq!(app.api("GET", "/integrations", k, None).await.json()["data"], json!([]));
        }
        assert_eq!(receiver.seen().len(), 0);
        app.api("GET", &format!("/integrations/{id}"), &key, None).await.assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn a_connection_test_stores_status_latency_and_a_scrubbed_excerpt_and_is_audited() {
    each_db(|app| async move {
        let key = admin(&app).await;
        let good = Receiver::start(|s| json_reply(200, &format!(r#"{{"shop":"Acme","token":"{}"}}"#, s.header("x-shopify-access-token").unwrap_or_default()))).await;
        let bad = Receiver::start(|_| json_reply(401, r#"{"errors":"[API] Invalid API key or access token"}"#)).await;
        let ok = create(&app, &key, json!({"provider": "shopify", "name": "Shop", "base_url": format!("{}/admin/api/2025-01", good.url()), "credential": {"token": CANARY}})).await;
        let res = app.api("POST", &format!("/integrations/{}/test", ok["id"].as_str().expect("id")), &key, None).await;
        res.assert_status(200);
        let test = &res.json()["last_test"];
        assert_eq!(test["ok"], true);
        assert_eq!(test["status"], 200);
        assert!(test["latency_ms"].is_i64());
        assert_eq!(test["summary"], r#"{"shop":"Acme","token":"[redacted]"}"#);
        assert_eq!(good.seen()[0].target, "/admin/api/2025-01/shop.json", "the preset's check request");
        let failing = create(&app, &key, json!({"provider": "shopify", "name": "Old shop", "base_url": bad.url(), "credential": {"token": "expired"}})).await;
        let res = app.api("POST", &format!("/integrations/{}/test", failing["id"].as_str().expect("id")), &key, None).await;
        assert_eq!(res.json()["last_test"]["ok"], false);
        assert_eq!(res.json()["last_test"]["status"], 401);
        let actions: Vec<String> = app.db(|c| audit_events::table.order(audit_events::id.asc()).select(audit_events::action).load(c).expect("events"));
        assert!(actions.contains(&"integration.tested".to_owned()), "{actions:?}");
        assert!(actions.contains(&"integration.test_failed".to_owned()), "{actions:?}");
    })
    .await;
}

#[actix_web::test]
async fn replacing_a_credential_changes_its_fingerprint_and_version_and_is_audited() {
    each_db(|app| async move {
        let key = admin(&app).await;
        let receiver = Receiver::ok().await;
        let int = create(&app, &key, json!({"provider": "stripe", "name": "Pay", "base_url": receiver.url(), "credential": {"token": "tok_old_1"}})).await;
        let id = int["id"].as_str().expect("id");
        let twin = create(&app, &key, json!({"provider": "stripe", "name": "Pay 2", "base_url": receiver.url(), "credential": {"token": "tok_new_2"}})).await;
        let res = app.api("PATCH", &format!("/integrations/{id}"), &key, Some(json!({"credential": {"token": "tok_new_2"}}))).await;
        res.assert_status(200);
        let fp = res.json()["credential"]["fingerprint"].clone();
        assert_ne!(fp, int["credential"]["fingerprint"]);
        assert_eq!(fp, twin["credential"]["fingerprint"], "the same value shows the same fingerprint");
        app.api("POST", &format!("/integrations/{id}/requests"), &key, Some(json!({"path": "/x"}))).await.assert_status(200);
        assert_eq!(receiver.seen()[0].header("authorization"), Some("Bearer tok_new_2"));
        let (version, action): (i64, String) = app.db(|c| {
            (
                integrations::table.find(id).select(integrations::credential_version).first(c).expect("v"),
                audit_events::table.order(audit_events::created_at.desc()).then_order_by(audit_events::id.desc()).select(audit_events::action).first(c).expect("a"),
            )
        });
        assert_eq!(version, 2);
        assert_eq!(action, "integration.credential_replaced");
        // Switching a custom integration to basic auth needs the new pair.
        let custom = create(&app, &key, json!({"provider": "custom", "name": "CRM", "base_url": receiver.url(), "credential": {"token": "t_1"}})).await;
        let res = app.api("PATCH", &format!("/integrations/{}", custom["id"].as_str().expect("id")), &key,
                          Some(json!({"credential_placement": {"type": "basic"}}))).await;
        res.assert_status(422);
        assert!(res.json()["error"]["fields"]["credential"].is_string());
    })
    .await;
}

#[actix_web::test]
async fn calls_are_counted_in_memory_and_flushed_not_written_per_request() {
    each_db(|app| async move {
        let key = admin(&app).await;
        let receiver = Receiver::ok().await;
        let int = create(&app, &key, json!({"provider": "stripe", "name": "Pay", "base_url": receiver.url(), "credential": {"token": "tok_1"}})).await;
        let id = int["id"].as_str().expect("id").to_owned();
        let (count, audits) = rows(&app);
        for _ in 0..3 {
            app.api("POST", &format!("/integrations/{id}/requests"), &key, Some(json!({"path": "/x"}))).await.assert_status(200);
        }
        let last_used: Option<i64> = app.db(|c| integrations::table.find(&id).select(integrations::last_used_at).first(c).expect("row"));
        assert_eq!(last_used, None, "a call wrote nothing to the database");
        assert_eq!(rows(&app), (count, audits), "a call is not an audited change");
        let state = app.state.clone();
        latchkey::db::with_write(&state.pool, move |c| Ok(state.integration_usage.flush(c)?)).await.expect("flush");
        let (last_used, hours): (Option<i64>, Vec<(i64, i64)>) = app.db(|c| {
            (
                integrations::table.find(&id).select(integrations::last_used_at).first(c).expect("row"),
                integration_usage::table.filter(integration_usage::integration_id.eq(&id)).select((integration_usage::hour, integration_usage::requests)).load(c).expect("usage"),
            )
        });
        assert_eq!(last_used, Some(app.clock().now()));
        assert_eq!(hours.iter().map(|(_, n)| n).sum::<i64>(), 3);
        let shown = app.api("GET", &format!("/integrations/{id}"), &key, None).await.json();
        assert!(shown["last_used_at"].is_string());
        let page = app.get("/teams/acme/settings/integrations").await;
        assert!(page.body.contains("3 calls in 24 h"), "the list shows the day's calls");
    })
    .await;
}

#[actix_web::test]
async fn without_the_allowlist_loopback_targets_are_refused_at_save_and_at_send() {
    each_db_with(|c| c.outbound_allow.clear(), |app| async move {
        let key = admin(&app).await;
        let receiver = Receiver::ok().await;
        let port = receiver.addr.port();
        for url in [
            receiver.url(),
            format!("https://127.0.0.1:{port}"),
            format!("https://[::1]:{port}"),
            format!("https://localhost:{port}"),
            format!("https://2130706433:{port}"),
            "https://169.254.169.254/latest".to_owned(),
        ] {
            let res = app.api("POST", "/integrations", &key, Some(json!({"provider": "custom", "name": "X", "base_url": url, "credential": {"token": "t"}}))).await;
            res.assert_status(422);
            assert!(res.json()["error"]["fields"]["base_url"].is_string(), "{url}");
        }
        // A row that points at loopback anyway (say, saved before the allowlist was narrowed)
        // is refused at send time too.
        let int = create(&app, &key, json!({"provider": "stripe", "name": "Pay", "credential": {"token": "t"}})).await;
        let id = int["id"].as_str().expect("id").to_owned();
        let url = receiver.url();
        app.db(|c| diesel::update(integrations::table.find(&id)).set(integrations::base_url.eq(url)).execute(c).expect("point at loopback"));
        let res = app.api("POST", &format!("/integrations/{id}/requests"), &key, Some(json!({"path": "/x"}))).await;
        res.assert_status(502);
        assert_eq!(res.json()["error"]["code"], "UPSTREAM_FAILED");
        assert!(res.json()["error"]["reason"].as_str().expect("reason").contains("private"));
        assert_eq!(receiver.seen().len(), 0);
    })
    .await;
}

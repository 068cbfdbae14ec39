//! OAuth 2.0 connections of integrations against a real authorization server (oidc-provider,
//! started per test from tests/oauth/server.mjs): client credentials obtained by Latchkey
//! itself, renewed before they expire and once after a 401, one renewal however many calls find
//! the token due (in one node, and across two nodes on one PostgreSQL database), and a refused
//! grant recorded once as "needs reconnecting" with its audit and webhook events.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use diesel::prelude::*;
use latchkey::db::schema::{audit_events, integrations, oauth_connections, outbox_events};
use serde_json::{Value, json};

use crate::helpers::{Backend, KeySpec, TestApp, backends, each_db};

/// The authorization server, killed when dropped.
pub(crate) struct Provider {
    child: Child,
    pub(crate) base: String,
}

impl Provider {
    pub(crate) fn start(redirects: &[&str]) -> Provider {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oauth/server.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .args(redirects)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the OAuth server (node, with tests/oauth's npm packages: .ci/run installs them)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("its address");
        let base = line.trim().to_owned();
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "the OAuth server did not start: {line:?}"
        );
        Provider { child, base }
    }

    async fn counts(&self) -> Value {
        let text = reqwest::get(format!("{}/_counts", self.base))
            .await
            .expect("counts")
            .text()
            .await
            .expect("body");
        serde_json::from_str(&text).expect("json")
    }

    async fn control(&self, what: &str) {
        reqwest::Client::new()
            .post(format!("{}/{what}", self.base))
            .send()
            .await
            .expect("control")
            .error_for_status()
            .expect("accepted");
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn admin_key(app: &TestApp) -> String {
    let slug = app.set_up("ada@example.com", "Acme").await;
    app.make_key(KeySpec {
        team: &slug,
        scopes: &["admin"],
        mode: "live",
    })
    .1
}

/// A client-credentials integration whose API is the provider's own `/api`.
async fn connect(app: &TestApp, key: &str, provider: &Provider, secret: &str) -> Value {
    let res = app
        .api(
            "POST",
            "/integrations",
            key,
            Some(json!({
                "provider": "custom",
                "name": "CRM",
                "base_url": format!("{}/api", provider.base),
                "check_path": "/me",
                "oauth": {
                    "grant_type": "client_credentials",
                    "token_url": format!("{}/token", provider.base),
                    "client_id": "latchkey-test",
                    "client_secret": secret,
                    "scopes": ["contacts.read"],
                },
            })),
        )
        .await;
    res.assert_status(201);
    res.json()
}

async fn call(app: &TestApp, key: &str, id: &str) -> crate::helpers::Resp {
    app.api(
        "POST",
        &format!("/integrations/{id}/requests"),
        key,
        Some(json!({"path": "/me"})),
    )
    .await
}

fn token_requests(counts: &Value) -> i64 {
    counts["client_credentials"].as_i64().expect("count")
}

#[actix_web::test]
async fn client_credentials_get_tokens_by_themselves_and_renew_them_before_they_expire_or_after_a_401()
 {
    each_db(|app| async move {
        let provider = Provider::start(&[]);
        let key = admin_key(&app).await;
        let created = connect(&app, &key, &provider, "latchkey-test-secret").await;
        let id = created["id"].as_str().expect("id").to_owned();
        assert_eq!(created["oauth"]["grant_type"], "client_credentials");
        assert_eq!(created["oauth"]["status"], "connected");
        assert_eq!(created["oauth"]["scopes"], json!(["contacts.read"]));
        assert!(!created.to_string().contains("latchkey-test-secret"));

        // The first call gets a token; the next ones use it.
        for _ in 0..3 {
            let res = call(&app, &key, &id).await;
            res.assert_status(200);
            assert_eq!(res.json()["status"], 200);
            assert!(res.body.contains("latchkey-test"), "{}", res.body);
        }
        assert_eq!(token_requests(&provider.counts().await), 1);
        let shown = app
            .api("GET", &format!("/integrations/{id}"), &key, None)
            .await
            .json();
        assert!(shown["oauth"]["token_expires_at"].is_string(), "{shown}");
        assert!(shown["oauth"]["token_renewed_at"].is_string());

        // A minute before it expires (3600 s), it is renewed before the call.
        app.clock().advance(3600 - 50);
        call(&app, &key, &id).await.assert_status(200);
        assert_eq!(token_requests(&provider.counts().await), 2);
        call(&app, &key, &id).await.assert_status(200);
        assert_eq!(token_requests(&provider.counts().await), 2);

        // The provider ends its tokens early: the 401 gets one renewal and the call goes through.
        provider.control("_expire").await;
        let res = call(&app, &key, &id).await;
        res.assert_status(200);
        assert_eq!(res.json()["status"], 200);
        assert_eq!(token_requests(&provider.counts().await), 3);

        // "Test connection" uses the same tokens.
        let tested = app
            .api("POST", &format!("/integrations/{id}/test"), &key, None)
            .await;
        tested.assert_status(200);
        assert_eq!(token_requests(&provider.counts().await), 3);

        // Its tokens are Latchkey's: a pasted one is refused, and nothing changes.
        let pasted = app
            .api(
                "PATCH",
                &format!("/integrations/{id}"),
                &key,
                Some(json!({"credential": {"token": "pasted"}})),
            )
            .await;
        pasted.assert_status(422);
        assert!(
            pasted.body.contains("connects with OAuth"),
            "{}",
            pasted.body
        );
        call(&app, &key, &id).await.assert_status(200);
        assert_eq!(token_requests(&provider.counts().await), 3);

        // The tokens are sealed: no answer and no column holds one.
        let stored: String = app.db(|c| {
            integrations::table
                .select(integrations::credential.assume_not_null())
                .first(c)
                .expect("sealed")
        });
        assert!(!stored.contains("latchkey-test-secret"));
        let refreshes: i64 = app.db(|c| {
            oauth_connections::table
                .select(oauth_connections::refreshes)
                .first(c)
                .expect("row")
        });
        assert_eq!(refreshes, 3);
    })
    .await;
}

#[actix_web::test]
async fn fifty_calls_that_find_the_token_expired_make_one_token_request() {
    each_db(|app| async move {
        let provider = Provider::start(&[]);
        let key = admin_key(&app).await;
        let id = connect(&app, &key, &provider, "latchkey-test-secret").await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        call(&app, &key, &id).await.assert_status(200);
        app.clock().advance(3600);
        let calls = (0..50).map(|_| call(&app, &key, &id));
        for res in futures_util::future::join_all(calls).await {
            res.assert_status(200);
        }
        assert_eq!(token_requests(&provider.counts().await), 2);
    })
    .await;
}

#[actix_web::test]
async fn a_refused_grant_needs_reconnecting_answers_502_and_is_announced_once() {
    each_db(|app| async move {
        let provider = Provider::start(&[]);
        let key = admin_key(&app).await;
        let id = connect(&app, &key, &provider, "not-the-secret").await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        for _ in 0..2 {
            let res = call(&app, &key, &id).await;
            res.assert_status(502);
            let body = res.json();
            assert_eq!(body["error"]["code"], "UPSTREAM_FAILED", "{body}");
            assert!(
                body["error"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("needs reconnecting")),
                "{body}"
            );
        }
        // One token request: the second call failed fast, without asking the provider.
        let counts = provider.counts().await;
        assert_eq!(token_requests(&counts), 0);
        let shown = app
            .api("GET", &format!("/integrations/{id}"), &key, None)
            .await
            .json();
        assert_eq!(shown["oauth"]["status"], "needs_reconnecting");
        assert!(
            shown["oauth"]["status_reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("invalid_client")),
            "{shown}"
        );
        let (audits, events): (i64, i64) = app.db(|c| {
            (
                audit_events::table
                    .filter(audit_events::action.eq("integration.disconnected"))
                    .count()
                    .get_result(c)
                    .expect("n"),
                outbox_events::table
                    .filter(outbox_events::event_type.eq("integration.disconnected"))
                    .count()
                    .get_result(c)
                    .expect("n"),
            )
        });
        assert_eq!((audits, events), (1, 1));
    })
    .await;
}

#[actix_web::test]
async fn two_nodes_on_one_postgresql_database_renew_an_expired_token_once() {
    let Some(pg) = backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)))
    else {
        panic!("set TEST_DATABASE_URL (CI does) to run the several-nodes tests");
    };
    let provider = Provider::start(&[]);
    let a = TestApp::spawn(pg).await;
    let b = TestApp::spawn_on(&a.state.config.database_url, |_| {}).await;
    let key = admin_key(&a).await;
    let id = connect(&a, &key, &provider, "latchkey-test-secret").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    call(&a, &key, &id).await.assert_status(200);
    a.clock().advance(3600);
    b.clock().advance(3600);
    let on_a = (0..25).map(|_| call(&a, &key, &id));
    let on_b = (0..25).map(|_| call(&b, &key, &id));
    let (ra, rb) = futures_util::future::join(
        futures_util::future::join_all(on_a),
        futures_util::future::join_all(on_b),
    )
    .await;
    for res in ra.iter().chain(rb.iter()) {
        res.assert_status(200);
    }
    assert_eq!(token_requests(&provider.counts().await), 2);
}

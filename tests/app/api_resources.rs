//! Channels, integrations, conversations, agent loops, key management by API and leak
//! revocation.

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, audit_events};
use serde_json::json;

use crate::helpers::{KeySpec, TestApp, each_db};

const INVALID: &str =
    r#"{"error":{"code":"INVALID_API_KEY","message":"The provided API key is invalid"}}"#;

async fn admin(app: &TestApp, mode: &'static str) -> (String, String) {
    let slug = if app.get("/").await.location() == "/login" {
        app.set_up("ada@example.com", "Acme").await
    } else {
        "acme".into()
    };
    let (_, key) = app.make_key(KeySpec {
        team: &slug,
        scopes: &["admin"],
        mode,
    });
    (slug, key)
}

#[actix_web::test]
async fn channels_belong_to_a_bot_and_take_a_known_kind() {
    each_db(|app| async move {
        let (_, key) = admin(&app, "live").await;
        let bot = app
            .api("POST", "/bots", &key, Some(json!({"name": "B"})))
            .await
            .json()["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let bad = app
            .api(
                "POST",
                "/channels",
                &key,
                Some(json!({"bot_id": "bot_AAAAAAAAAAAAAAAAAAAA", "kind": "pager", "name": ""})),
            )
            .await;
        bad.assert_status(422);
        let fields = &bad.json()["error"]["fields"];
        assert_eq!(fields["bot_id"], "No such bot.");
        assert!(
            fields["kind"]
                .as_str()
                .expect("kind")
                .starts_with("Must be one of: web, whatsapp, telegram")
        );
        assert_eq!(fields["name"], "Must not be empty.");
        let ch = app
            .api(
                "POST",
                "/channels",
                &key,
                Some(json!({"bot_id": bot, "kind": "whatsapp", "name": "Support line"})),
            )
            .await;
        ch.assert_status(201);
        let id = ch.json()["id"].as_str().expect("id").to_owned();
        let patched = app
            .api(
                "PATCH",
                &format!("/channels/{id}"),
                &key,
                Some(json!({"kind": "telegram"})),
            )
            .await;
        assert_eq!(patched.json()["kind"], "telegram");
        assert_eq!(patched.json()["name"], "Support line");
        // Deleting the bot removes its channels.
        app.api("DELETE", &format!("/bots/{bot}"), &key, None)
            .await
            .assert_status(200);
        app.api("GET", &format!("/channels/{id}"), &key, None)
            .await
            .assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn integrations_require_an_https_base_url_and_a_known_provider() {
    each_db(|app| async move {
        let (_, key) = admin(&app, "live").await;
        let token = json!({"token": "shpat_x"});
        for (url, message) in [
            ("javascript:alert(1)", "Use an https:// URL (http:// only reaches addresses your operator allowlisted)."),
            ("http://evil.example", "evil.example does not resolve; http:// only reaches allowlisted addresses."),
            ("https://user:pw@x.example", "Leave credentials out of the URL: enter them below, where they are encrypted."),
            ("ftp://x", "Use an https:// URL (http:// only reaches addresses your operator allowlisted)."),
        ] {
            let res = app.api("POST", "/integrations", &key, Some(json!({"provider": "shopify", "name": "S", "base_url": url, "credential": token}))).await;
            res.assert_status(422);
            assert_eq!(res.json()["error"]["fields"]["base_url"], message, "{url}");
        }
        let res = app.api("POST", "/integrations", &key, Some(json!({"provider": "Shop ify", "name": "S", "base_url": "https://x.example", "credential": token}))).await;
        assert_eq!(res.json()["error"]["fields"]["provider"], "Choose one of: shopify, woocommerce, stripe, hubspot, zoho_crm, calendly, google_calendar, google_sheets, microsoft_graph, salesforce, custom.");
        let ok = app.api("POST", "/integrations", &key, Some(json!({"provider": "shopify", "name": "Store", "base_url": "https://acme.myshopify.com/admin/api/2024-01", "credential": token}))).await;
        ok.assert_status(201);
        let id = ok.json()["id"].as_str().expect("id").to_owned();
        let p = app.api("PATCH", &format!("/integrations/{id}"), &key, Some(json!({"base_url": "https://acme2.myshopify.com"}))).await;
        assert_eq!(p.json()["base_url"], "https://acme2.myshopify.com");
        assert_eq!(p.json()["provider"], "shopify");
    })
    .await;
}

#[actix_web::test]
async fn conversations_import_with_messages_and_read_back_in_order() {
    each_db(|app| async move {
        let (_, key) = admin(&app, "live").await;
        let res = app
            .api(
                "POST",
                "/conversations",
                &key,
                Some(json!({"title": "Order #1001", "messages": [
                    {"role": "user", "content": "Where is my order?"},
                    {"role": "assistant", "content": "It ships today."}
                ]})),
            )
            .await;
        res.assert_status(201);
        let id = res.json()["id"].as_str().expect("id").to_owned();
        let got = app
            .api("GET", &format!("/conversations/{id}"), &key, None)
            .await
            .json();
        assert_eq!(got["messages"][0]["content"], "Where is my order?");
        assert_eq!(got["messages"][1]["role"], "assistant");
        let list = app.api("GET", "/conversations", &key, None).await.json();
        assert!(
            list["data"][0].get("messages").is_none(),
            "lists stay light"
        );
        let bad = app
            .api(
                "POST",
                "/conversations",
                &key,
                Some(json!({"messages": [{"role": "robot", "content": "x"}]})),
            )
            .await;
        bad.assert_status(422);
        assert!(bad.json()["error"]["fields"]["messages[0]"].is_string());
        let count = app.api("GET", "/conversations", &key, None).await.json()["data"]
            .as_array()
            .map(Vec::len);
        assert_eq!(count, Some(1), "nothing written for the bad import");
        app.api("DELETE", &format!("/conversations/{id}"), &key, None)
            .await
            .assert_status(200);
        app.api("GET", &format!("/conversations/{id}"), &key, None)
            .await
            .assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn agent_loop_runs_are_recorded_as_queued_requests() {
    each_db(|app| async move {
        let (_, key) = admin(&app, "live").await;
        let lp = app
            .api(
                "POST",
                "/agent-loops",
                &key,
                Some(json!({"name": "Refund checker", "instructions": "Check refunds"})),
            )
            .await;
        lp.assert_status(201);
        let id = lp.json()["id"].as_str().expect("id").to_owned();
        let run = app
            .api(
                "POST",
                &format!("/agent-loops/{id}/runs"),
                &key,
                Some(json!({"input": {"order": 1001}})),
            )
            .await;
        run.assert_status(202);
        assert_eq!(run.json()["status"], "queued");
        assert_eq!(run.json()["input"], json!({"order": 1001}));
        let bad = app
            .api(
                "POST",
                &format!("/agent-loops/{id}/runs"),
                &key,
                Some(json!({"input": [1]})),
            )
            .await;
        assert_eq!(
            bad.json()["error"]["fields"]["input"],
            "Must be a JSON object."
        );
        let runs = app
            .api("GET", &format!("/agent-loops/{id}/runs"), &key, None)
            .await
            .json();
        assert_eq!(runs["data"].as_array().map(Vec::len), Some(1));
    })
    .await;
}

#[actix_web::test]
async fn keys_can_be_managed_by_api_with_the_secret_shown_once() {
    each_db(|app| async move {
        let (_, key) = admin(&app, "live").await;
        let created = app.api("POST", "/api-keys", &key, Some(json!({"name": "CI deploy", "scopes": ["bots:read"], "environment": "ci", "expires_in_days": 30, "rate_limit_per_minute": 100, "ip_allowlist": ["203.0.113.0/24"]}))).await;
        created.assert_status(201);
        assert_eq!(created.header("cache-control"), "no-store");
        let body = created.json();
        let secret = body["secret"].as_str().expect("secret").to_owned();
        assert!(secret.starts_with("sk_live_ci_"));
        let id = body["id"].as_str().expect("id").to_owned();
        assert_eq!(body["scopes"], json!(["bots:read"]));
        assert_eq!(body["ip_allowlist"], json!(["203.0.113.0/24"]));
        // The new key works and is limited as asked.
        let me = app.api("GET", "/me", &secret, None).await;
        me.assert_status(200);
        assert_eq!(me.header("x-ratelimit-limit"), "100");
        // Listing never shows secrets.
        let list = app.api("GET", "/api-keys", &key, None).await;
        assert!(!list.body.contains(&secret[11..]));
        assert!(list.body.contains("CI deploy"));
        // One key reads as the list shows it, masked, never with its secret.
        let one = app.api("GET", &format!("/api-keys/{id}"), &key, None).await;
        one.assert_status(200);
        let listed = list.json()["data"]
            .as_array()
            .and_then(|d| d.iter().find(|k| k["id"] == id.as_str()).cloned())
            .expect("listed");
        assert_eq!(one.json(), listed);
        assert!(!one.body.contains(&secret[11..]) && one.json().get("secret").is_none());
        app.api("GET", "/api-keys/key_00000000000000000000", &key, None)
            .await
            .assert_status(404);
        // Rename and widen.
        let p = app.api("PATCH", &format!("/api-keys/{id}"), &key, Some(json!({"name": "CI", "scopes": ["bots:write"], "ip_allowlist": []}))).await;
        p.assert_status(200);
        assert_eq!(p.json()["scopes"], json!(["bots:write"]));
        assert_eq!(p.json()["ip_allowlist"], serde_json::Value::Null);
        // Bad input.
        let bad = app.api("POST", "/api-keys", &key, Some(json!({"name": "CI", "scopes": ["bots:fly"], "ip_allowlist": ["not-an-ip"]}))).await;
        bad.assert_status(422);
        let f = &bad.json()["error"]["fields"];
        assert_eq!(f["scopes"], "Unknown scope: bots:fly.");
        assert_eq!(f["ip_allowlist"], "Each entry must be an IP address or CIDR, like 203.0.113.0/24.");
        // Rotate with a grace period, then delete: the next request fails.
        let rot = app.api("POST", &format!("/api-keys/{id}/rotate"), &key, Some(json!({"grace_period_seconds": 0}))).await;
        rot.assert_status(201);
        let successor = rot.json()["secret"].as_str().expect("secret").to_owned();
        assert_eq!(app.api("GET", "/me", &secret, None).await.body, INVALID);
        let sid = rot.json()["id"].as_str().expect("id").to_owned();
        app.api("DELETE", &format!("/api-keys/{sid}"), &key, None).await.assert_status(200);
        assert_eq!(app.api("GET", "/me", &successor, None).await.body, INVALID);
        app.api("GET", &format!("/api-keys/{sid}"), &key, None)
            .await
            .assert_status(404);
        let actions: Vec<String> = app.db(|c| audit_events::table.select(audit_events::action).order(audit_events::created_at).load(c)).expect("audit");
        assert!(actions.iter().filter(|a| a.starts_with("api_key.")).count() >= 4);
    })
    .await;
}

#[actix_web::test]
async fn test_keys_manage_only_test_keys() {
    each_db(|app| async move {
        let (slug, live) = admin(&app, "live").await;
        let (_, test) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "test",
        });
        let live_id = app.api("GET", "/me", &live, None).await.json()["api_key"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let list = app.api("GET", "/api-keys", &test, None).await.json();
        assert!(
            list["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|k| k["mode"] == "test")
        );
        app.api("DELETE", &format!("/api-keys/{live_id}"), &test, None)
            .await
            .assert_status(404);
        // A live key is not even there for a test key to read.
        app.api("GET", &format!("/api-keys/{live_id}"), &test, None)
            .await
            .assert_status(404);
        let made = app
            .api("POST", "/api-keys", &test, Some(json!({"name": "Sandbox"})))
            .await
            .json();
        assert!(
            made["secret"]
                .as_str()
                .expect("secret")
                .starts_with("sk_test_")
        );
        app.api("GET", "/me", &live, None).await.assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn whoever_holds_a_leaked_key_can_revoke_it_without_other_credentials() {
    each_db(|app| async move {
        let (slug, key) = admin(&app, "live").await;
        let revoke = |body: serde_json::Value| {
            actix_web::test::TestRequest::post()
                .uri("/v1/revoke")
                .insert_header(("content-type", "application/json"))
                .set_payload(body.to_string())
        };
        let res = app.send(revoke(json!({"key": key}))).await;
        res.assert_status(200);
        assert_eq!(res.json()["revoked"], true);
        assert!(!res.body.contains(&key[8..]));
        assert_eq!(app.api("GET", "/me", &key, None).await.body, INVALID);
        let (leaked, reports): (Option<i64>, i64) = app.db(|c| {
            let leaked = api_keys::table
                .select(api_keys::reported_leaked_at)
                .first(c)
                .expect("row");
            let reports = audit_events::table
                .filter(audit_events::action.eq("api_key.leaked"))
                .count()
                .get_result(c)
                .expect("audit");
            (leaked, reports)
        });
        assert_eq!(leaked, Some(app.clock().now()));
        assert_eq!(reports, 1);
        // Idempotent; unknown and malformed keys are told apart from it.
        app.send(revoke(json!({"key": key})))
            .await
            .assert_status(200);
        let (_, other) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        app.db(|c| {
            diesel::delete(
                api_keys::table
                    .filter(api_keys::secret_digest.eq(latchkey::models::sha256_hex(&other))),
            )
            .execute(c)
        })
        .expect("delete row");
        app.send(revoke(json!({"key": other})))
            .await
            .assert_status(404);
        let bad = app.send(revoke(json!({"key": "sk_live_nope"}))).await;
        bad.assert_status(422);
        assert_eq!(
            bad.json()["error"]["fields"]["key"],
            "This is not a Latchkey API key."
        );
    })
    .await;
}

#[actix_web::test]
async fn request_edge_cases_follow_the_documented_schema() {
    each_db(|app| async move {
        let (_, key) = admin(&app, "live").await;
        // 405 says which methods the resource has.
        let m = app.api("PUT", "/bots", &key, None).await;
        m.assert_status(405);
        assert_eq!(m.header("allow"), "GET, POST");
        // An optional body may be left out entirely.
        let lp = app
            .api("POST", "/agent-loops", &key, Some(json!({"name": "L"})))
            .await
            .json();
        let run = app
            .api(
                "POST",
                &format!("/agent-loops/{}/runs", lp["id"].as_str().expect("id")),
                &key,
                None,
            )
            .await;
        run.assert_status(202);
        assert_eq!(run.json()["input"], json!({}));
        // JSON Schema integers include 3600.0.
        let made = app
            .api(
                "POST",
                "/api-keys",
                &key,
                Some(json!({"name": "Float", "expires_in_days": 30.0})),
            )
            .await;
        made.assert_status(201);
        let half = app
            .api(
                "POST",
                "/api-keys",
                &key,
                Some(json!({"name": "Half", "expires_in_days": 30.5})),
            )
            .await;
        assert_eq!(
            half.json()["error"]["fields"]["expires_in_days"],
            "Must be an integer from 1 to 1825."
        );
        // null is "not given" for optional fields, an error for lists of scopes.
        app.api(
            "POST",
            "/bots",
            &key,
            Some(json!({"name": "N", "description": null})),
        )
        .await
        .assert_status(201);
        let nul = app
            .api(
                "POST",
                "/api-keys",
                &key,
                Some(json!({"name": "S", "scopes": null})),
            )
            .await;
        assert_eq!(
            nul.json()["error"]["fields"]["scopes"],
            "Must be an array of scope names."
        );
        // Names are single-line; descriptions may have lines. Length counts what was sent.
        let nl = app
            .api("POST", "/bots", &key, Some(json!({"name": "a\nb"})))
            .await;
        assert_eq!(
            nl.json()["error"]["fields"]["name"],
            "Must not contain control characters."
        );
        app.api(
            "POST",
            "/bots",
            &key,
            Some(json!({"name": "ok", "description": "line 1\nline 2"})),
        )
        .await
        .assert_status(201);
        let long = app
            .api(
                "POST",
                "/bots",
                &key,
                Some(json!({"name": format!(" {}", "x".repeat(64))})),
            )
            .await;
        assert_eq!(
            long.json()["error"]["fields"]["name"],
            "Must be at most 64 characters."
        );
    })
    .await;
}

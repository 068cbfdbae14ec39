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

/// An integration "CRM" whose API is the provider's own `/api`, connecting with `oauth`.
async fn create_oauth(app: &TestApp, key: &str, provider: &Provider, oauth: Value) -> Value {
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
                "oauth": oauth,
            })),
        )
        .await;
    res.assert_status(201);
    res.json()
}

/// A client-credentials integration of the provider.
async fn connect(app: &TestApp, key: &str, provider: &Provider, secret: &str) -> Value {
    let oauth = json!({
        "grant_type": "client_credentials",
        "token_url": format!("{}/token", provider.base),
        "client_id": "latchkey-test",
        "client_secret": secret,
        "scopes": ["contacts.read"],
    });
    create_oauth(app, key, provider, oauth).await
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

/// A person at the provider's own pages (oidc-provider's development sign-in and consent
/// pages), with the provider's cookies: follows its redirects until one leaves for `until`.
pub(crate) struct Browser {
    http: reqwest::Client,
    cookies: std::cell::RefCell<Vec<(String, String)>>,
}

impl Browser {
    pub(crate) fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Default::default(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, String, String) {
        let jar = self
            .cookies
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let res = req
            .header("cookie", jar)
            .send()
            .await
            .expect("provider answers");
        for c in res.headers().get_all("set-cookie") {
            let pair = c
                .to_str()
                .expect("ascii")
                .split(';')
                .next()
                .unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                let mut jar = self.cookies.borrow_mut();
                jar.retain(|(n, _)| n != k);
                jar.push((k.to_owned(), v.to_owned()));
            }
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        (status, location, res.text().await.unwrap_or_default())
    }

    /// Signs in as `login` and consents, starting at the authorization URL; returns the URL the
    /// provider sends the browser back to (Latchkey's callback with the code).
    pub(crate) async fn consent(
        &self,
        provider: &Provider,
        authorize: &str,
        login: &str,
    ) -> String {
        let absolute = |l: &str| {
            if l.starts_with('/') {
                format!("{}{l}", provider.base)
            } else {
                l.to_owned()
            }
        };
        let mut url = authorize.to_owned();
        for _ in 0..12 {
            // Back at Latchkey's callback (on whichever host it registered).
            if url.contains("/oauth/callback?") {
                return url;
            }
            let (status, location, body) = self.send(self.http.get(&url)).await;
            if status == 303 || status == 302 {
                url = absolute(&location);
                continue;
            }
            assert_eq!(status, 200, "{url}: {body}");
            let form = if body.contains("name=\"login\"") {
                vec![("prompt", "login"), ("login", login), ("password", "any")]
            } else {
                vec![("prompt", "consent")]
            };
            let (status, location, body) = self.send(self.http.post(&url).form(&form)).await;
            assert!(status == 303 || status == 302, "{url}: {status} {body}");
            url = absolute(&location);
        }
        panic!("the provider never sent the browser back");
    }
}

/// An authorization-code integration of the provider, with its consent pages.
pub(crate) async fn consent_integration(app: &TestApp, key: &str, provider: &Provider) -> String {
    let oauth = json!({
        "grant_type": "authorization_code",
        "authorize_url": format!("{}/auth", provider.base),
        "token_url": format!("{}/token", provider.base),
        "revoke_url": format!("{}/token/revocation", provider.base),
        "client_id": "latchkey-test",
        "client_secret": "latchkey-test-secret",
        "scopes": "openid offline_access contacts.read",
    });
    let shown = create_oauth(app, key, provider, oauth).await;
    assert_eq!(shown["oauth"]["status"], "pending");
    shown["id"].as_str().expect("id").to_owned()
}

/// Presses Connect on the integrations page: the provider's authorization URL.
pub(crate) async fn press_connect(app: &TestApp, slug: &str, id: &str) -> String {
    let page = app
        .get(&format!("/teams/{slug}/settings/integrations"))
        .await;
    page.assert_status(200);
    let res = app
        .post(
            &format!("/teams/{slug}/settings/integrations/{id}/connect"),
            &[("csrf_token", &page.csrf())],
        )
        .await;
    // A page that goes on to the provider (forms may only post to the dashboard itself).
    res.assert_status(200);
    assert!(res.body.contains("http-equiv=\"refresh\""));
    let marker = "<a class=\"button button-primary button-block\" href=\"";
    let start = res.body.find(marker).expect("the link to the provider") + marker.len();
    let end = res.body[start..].find('"').expect("end") + start;
    res.body[start..end]
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn counted(counts: &Value, grant: &str) -> i64 {
    counts[grant].as_i64().expect("count")
}

#[actix_web::test]
async fn a_person_consents_at_the_provider_and_the_refresh_token_keeps_it_connected_until_the_grant_is_revoked()
 {
    each_db(|app| async move {
        let provider = Provider::start(&["http://localhost:8080/oauth/callback"]);
        let key = admin_key(&app).await;
        let id = consent_integration(&app, &key, &provider).await;
        // Not connected yet: calls say so.
        let res = call(&app, &key, &id).await;
        res.assert_status(502);
        assert!(res.body.contains("not connected yet"), "{}", res.body);

        let page = app.get("/teams/acme/settings/integrations").await;
        assert!(page.body.contains("Not connected"));
        assert!(page.body.contains("aria-label=\"Connect CRM\""));
        let authorize = press_connect(&app, "acme", &id).await;
        let url = url::Url::parse(&authorize).expect("authorization URL");
        let param = |k: &str| {
            url.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        assert!(authorize.starts_with(&format!("{}/auth?", provider.base)));
        assert_eq!(param("code_challenge_method"), "S256");
        assert_eq!(param("code_challenge").len(), 43);
        assert_eq!(
            param("redirect_uri"),
            "http://localhost:8080/oauth/callback"
        );
        assert!(param("state").len() >= 16);

        let back = Browser::new()
            .consent(&provider, &authorize, "ada@crm.example")
            .await;
        let path = &back["http://localhost:8080".len()..];
        let done = app.get(path).await;
        done.assert_status(303);
        assert_eq!(done.location(), "/teams/acme/settings/integrations");
        let page = app.get(done.location()).await;
        assert!(page.body.contains("is connected"));
        assert!(page.body.contains("Token renewed"));
        assert!(!page.body.contains("aria-label=\"Connect CRM\""));
        // The same callback again: the consent is used up.
        app.get(path).await.assert_status(404);
        assert_eq!(counted(&provider.counts().await, "authorization_code"), 1);

        let shown = app
            .api("GET", &format!("/integrations/{id}"), &key, None)
            .await
            .json();
        assert_eq!(shown["oauth"]["status"], "connected", "{shown}");
        assert!(shown["oauth"]["connected_at"].is_string());
        let res = call(&app, &key, &id).await;
        res.assert_status(200);
        assert!(res.body.contains("ada@crm.example"), "{}", res.body);

        // The access token ends early: renewed with the refresh token (rotated by the provider).
        provider.control("_expire").await;
        call(&app, &key, &id).await.assert_status(200);
        app.clock().advance(3600);
        call(&app, &key, &id).await.assert_status(200);
        assert_eq!(counted(&provider.counts().await, "refresh_token"), 2);

        // The provider forgets the grant (the app removed there): invalid_grant, once.
        provider.control("_break").await;
        app.clock().advance(3600);
        for _ in 0..2 {
            let res = call(&app, &key, &id).await;
            res.assert_status(502);
            assert!(res.body.contains("needs reconnecting"), "{}", res.body);
        }
        let counts = provider.counts().await;
        assert_eq!(counted(&counts, "invalid_grant"), 1);
        let shown = app
            .api("GET", &format!("/integrations/{id}"), &key, None)
            .await
            .json();
        assert_eq!(shown["oauth"]["status"], "needs_reconnecting");

        // Reconnecting is a new consent (hours later: signed in again).
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let page = app.get("/teams/acme/settings/integrations").await;
        assert!(page.body.contains("Needs reconnecting"));
        assert!(page.body.contains("The provider answered: invalid_grant"));
        assert!(page.body.contains("aria-label=\"Reconnect CRM\""));
        let authorize = press_connect(&app, "acme", &id).await;
        let back = Browser::new()
            .consent(&provider, &authorize, "ada@crm.example")
            .await;
        app.get(&back["http://localhost:8080".len()..])
            .await
            .assert_status(303);
        call(&app, &key, &id).await.assert_status(200);
        let events: Vec<String> = app.db(|c| {
            audit_events::table
                .filter(audit_events::action.like("integration.%connected"))
                .select(audit_events::action)
                .order(audit_events::id.asc())
                .load(c)
                .expect("events")
        });
        assert_eq!(
            events,
            [
                "integration.connected",
                "integration.disconnected",
                "integration.connected"
            ]
        );

        // Deleting it revokes the grant at the provider first (RFC 7009).
        assert_eq!(counted(&provider.counts().await, "revoked"), 0);
        app.api("DELETE", &format!("/integrations/{id}"), &key, None)
            .await
            .assert_status(200);
        assert_eq!(counted(&provider.counts().await, "revoked"), 1);
        let deleted: String = app.db(|c| {
            audit_events::table
                .filter(audit_events::action.eq("integration.deleted"))
                .select(audit_events::detail.assume_not_null())
                .first(c)
                .expect("event")
        });
        assert!(
            deleted.contains("\"revoked_at_provider\":true"),
            "{deleted}"
        );
    })
    .await;
}

#[actix_web::test]
async fn a_callback_with_another_state_or_in_another_session_connects_nothing() {
    each_db(|app| async move {
        let provider = Provider::start(&["http://localhost:8080/oauth/callback"]);
        let key = admin_key(&app).await;
        let id = consent_integration(&app, &key, &provider).await;
        let authorize = press_connect(&app, "acme", &id).await;
        let back = Browser::new()
            .consent(&provider, &authorize, "mallory@crm.example")
            .await;
        let path = &back["http://localhost:8080".len()..];
        // The state changed on the way: refused, and the consent is used up.
        let url = url::Url::parse(&back).expect("url");
        let forged: String = url
            .query_pairs()
            .map(|(k, v)| {
                if k == "state" {
                    format!("state={}x", v)
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        app.get(&format!("/oauth/callback?{forged}"))
            .await
            .assert_status(404);
        app.get(path).await.assert_status(404);
        // Another person's session (no consent of theirs waiting): refused too.
        let authorize = press_connect(&app, "acme", &id).await;
        let back = Browser::new()
            .consent(&provider, &authorize, "mallory@crm.example")
            .await;
        let mine = app.swap_cookies(Default::default());
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        app.get(&back["http://localhost:8080".len()..])
            .await
            .assert_status(404);
        app.swap_cookies(mine);
        assert_eq!(counted(&provider.counts().await, "authorization_code"), 0);

        // A code bound to another PKCE challenge (code injection: right state, someone else's
        // code) is refused by the provider when Latchkey sends its own verifier.
        let authorize = press_connect(&app, "acme", &id).await;
        let mut injected = url::Url::parse(&authorize).expect("url");
        let pairs: Vec<(String, String)> = injected
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "code_challenge" {
                    // The S256 challenge of a verifier Latchkey never saw.
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        injected.query_pairs_mut().clear().extend_pairs(pairs);
        let back = Browser::new()
            .consent(&provider, injected.as_str(), "mallory@crm.example")
            .await;
        let refused = app.get(&back["http://localhost:8080".len()..]).await;
        refused.assert_status(303);
        let page = app.get(refused.location()).await;
        assert!(
            page.body.contains(
                "Not connected: the provider refused to exchange the code (invalid_grant"
            ),
            "{}",
            page.body
        );
        assert_eq!(counted(&provider.counts().await, "authorization_code"), 0);
        let shown = app
            .api("GET", &format!("/integrations/{id}"), &key, None)
            .await
            .json();
        assert_eq!(shown["oauth"]["status"], "pending");
    })
    .await;
}

/// The link on the page that goes on to the provider's consent page.
fn continue_link(body: &str) -> String {
    let marker = "<a class=\"button button-primary button-block\" href=\"";
    let start = body.find(marker).expect("the link to the provider") + marker.len();
    let end = body[start..].find('"').expect("end") + start;
    body[start..end].replace("&#38;", "&").replace("&amp;", "&")
}

#[actix_web::test]
async fn the_dashboard_offers_oauth_presets_shows_the_redirect_uri_to_register_and_refuses_bad_input_without_saving()
 {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let new = format!("/teams/{slug}/settings/integrations/new");
        let chooser = app.get(&new).await;
        chooser.assert_status(200);
        for offered in [
            "Connect with OAuth 2.0",
            "With an API key or token",
            "Google Calendar",
            "Google Sheets",
            "Microsoft Graph",
            "Salesforce",
            "Custom OAuth 2.0",
        ] {
            assert!(chooser.body.contains(offered), "{offered}");
        }
        // Every OAuth form shows the exact redirect URI to register at the provider.
        for provider in [
            "hubspot",
            "zoho_crm",
            "calendly",
            "google_calendar",
            "google_sheets",
            "microsoft_graph",
            "salesforce",
            "custom",
        ] {
            let form = app
                .get(&format!("{new}?provider={provider}&connect=oauth"))
                .await;
            form.assert_status(200);
            assert!(
                form.body
                    .contains("value=\"http://localhost:8080/oauth/callback\""),
                "{provider}"
            );
            assert!(form.body.contains("Redirect URI to register"), "{provider}");
        }
        // An OAuth-only provider needs no `connect=oauth`; its preset is filled in.
        let google = app.get(&format!("{new}?provider=google_calendar")).await;
        assert!(
            google
                .body
                .contains("https://www.googleapis.com/auth/calendar.events")
        );
        assert!(google.body.contains("https://oauth2.googleapis.com/token"));
        let zoho = app
            .get(&format!("{new}?provider=zoho_crm&connect=oauth"))
            .await;
        assert!(zoho.body.contains("Data centre"));
        assert!(zoho.body.contains("Europe (zoho.eu)"));
        app.get(&format!("{new}?provider=stripe&connect=oauth"))
            .await
            .assert_status(404);

        // Bad input: a 422 naming each field, the client secret not echoed, nothing saved.
        let csrf = zoho.csrf();
        let bad = app
            .post(
                &format!("/teams/{slug}/settings/integrations"),
                &[
                    ("csrf_token", &csrf),
                    ("provider", "custom"),
                    ("connect", "oauth"),
                    ("name", "CRM"),
                    ("mode", "live"),
                    ("grant_type", "authorization_code"),
                    ("token_url", "ftp://auth.example.com/token"),
                    ("client_id", ""),
                    ("client_secret", "s3cr3t-never-shown"),
                    ("base_url", "https://api.example.com"),
                ],
            )
            .await;
        bad.assert_status(422);
        for message in [
            "Enter the provider&#39;s URL for this.",
            "Enter the client id of your app.",
        ] {
            assert!(bad.body.contains(message), "{message}: {}", bad.body);
        }
        assert!(!bad.body.contains("s3cr3t-never-shown"));
        let region = app
            .post(
                &format!("/teams/{slug}/settings/integrations"),
                &[
                    ("csrf_token", &csrf),
                    ("provider", "zoho_crm"),
                    ("connect", "oauth"),
                    ("name", "Zoho"),
                    ("mode", "live"),
                    ("region", "mars"),
                    ("client_id", "1000.ABC"),
                    ("client_secret", ""),
                ],
            )
            .await;
        region.assert_status(422);
        assert!(
            region
                .body
                .contains("Choose one of: us, eu, in, au, jp, ca, sa, cn.")
        );
        assert!(region.body.contains("Enter the client secret of your app."));
        let stored: i64 = app.db(|c| integrations::table.count().get_result(c).expect("n"));
        assert_eq!(stored, 0);

        // A preset in another data centre: its endpoints and API host follow, and the person
        // goes straight on to the consent page, asked for a refresh token.
        let added = app
            .post(
                &format!("/teams/{slug}/settings/integrations"),
                &[
                    ("csrf_token", &csrf),
                    ("provider", "zoho_crm"),
                    ("connect", "oauth"),
                    ("name", "Zoho"),
                    ("mode", "live"),
                    ("region", "eu"),
                    ("client_id", "1000.ABC"),
                    ("client_secret", "zoho-secret"),
                    ("scopes", ""),
                ],
            )
            .await;
        added.assert_status(200);
        let consent = url::Url::parse(&continue_link(&added.body)).expect("url");
        assert_eq!(consent.host_str(), Some("accounts.zoho.eu"));
        assert_eq!(consent.path(), "/oauth/v2/auth");
        let query: Vec<(String, String)> = consent.query_pairs().into_owned().collect();
        for (k, v) in [
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("client_id", "1000.ABC"),
            ("scope", "ZohoCRM.modules.ALL ZohoCRM.org.READ"),
            ("redirect_uri", "http://localhost:8080/oauth/callback"),
            ("code_challenge_method", "S256"),
        ] {
            assert!(
                query.contains(&(k.to_owned(), v.to_owned())),
                "{k}: {query:?}"
            );
        }
        let (base, token_url, client_auth): (String, String, String) = app.db(|c| {
            integrations::table
                .inner_join(oauth_connections::table)
                .select((
                    integrations::base_url,
                    oauth_connections::token_url,
                    oauth_connections::client_auth,
                ))
                .first(c)
                .expect("row")
        });
        assert_eq!(base, "https://www.zohoapis.eu/crm/v5");
        assert_eq!(token_url, "https://accounts.zoho.eu/oauth/v2/token");
        assert_eq!(client_auth, "post");

        // A pasted token for a provider whose tokens expire within the hour: refused.
        let key = app
            .make_key(KeySpec {
                team: &slug,
                scopes: &["admin"],
                mode: "live",
            })
            .1;
        let pasted = app
            .api(
                "POST",
                "/integrations",
                &key,
                Some(json!({"provider": "google_calendar", "name": "Calendar",
                            "credential": {"token": "ya29.pasted"}})),
            )
            .await;
        pasted.assert_status(422);
        assert!(
            pasted.body.contains("connects with OAuth 2.0"),
            "{}",
            pasted.body
        );
        // Through the API a preset needs only the app's client id and secret.
        let api = app
            .api(
                "POST",
                "/integrations",
                &key,
                Some(json!({"provider": "microsoft_graph", "name": "Graph",
                            "oauth": {"region": "contoso.onmicrosoft.com", "client_id": "abc",
                                      "client_secret": "def"}})),
            )
            .await;
        api.assert_status(201);
        let shown = api.json();
        assert_eq!(
            shown["oauth"]["authorize_url"],
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        assert_eq!(shown["oauth"]["client_auth"], "post");
        assert_eq!(shown["base_url"], "https://graph.microsoft.com/v1.0");
        assert!(!shown.to_string().contains("def\""));
    })
    .await;
}

#[actix_web::test]
async fn added_in_the_dashboard_it_shows_who_connected_it_and_disconnect_revokes_and_forgets_the_grant()
 {
    each_db(|app| async move {
        let provider = Provider::start(&["http://localhost:8080/oauth/callback"]);
        let slug = app.set_up("ada@example.com", "Acme").await;
        let key = app
            .make_key(KeySpec {
                team: &slug,
                scopes: &["admin"],
                mode: "live",
            })
            .1;
        let form = app
            .get(&format!(
                "/teams/{slug}/settings/integrations/new?provider=custom&connect=oauth"
            ))
            .await;
        let api = format!("{}/api", provider.base);
        let (authorize, token, revoke) = (
            format!("{}/auth", provider.base),
            format!("{}/token", provider.base),
            format!("{}/token/revocation", provider.base),
        );
        let added = app
            .post(
                &format!("/teams/{slug}/settings/integrations"),
                &[
                    ("csrf_token", &form.csrf()),
                    ("provider", "custom"),
                    ("connect", "oauth"),
                    ("name", "CRM"),
                    ("mode", "live"),
                    ("grant_type", "authorization_code"),
                    ("authorize_url", &authorize),
                    ("token_url", &token),
                    ("revoke_url", &revoke),
                    ("client_auth", "basic"),
                    ("client_id", "latchkey-test"),
                    ("client_secret", "latchkey-test-secret"),
                    ("scopes", "openid offline_access contacts.read"),
                    ("base_url", &api),
                    ("check_path", "/me"),
                ],
            )
            .await;
        added.assert_status(200);
        let back = Browser::new()
            .consent(&provider, &continue_link(&added.body), "ada@crm.example")
            .await;
        let done = app.get(&back["http://localhost:8080".len()..]).await;
        done.assert_status(303);
        let page = app.get(done.location()).await;
        assert!(
            page.body.contains(
                "Connected</span> <span data-testid=\"oauth-account\">as ada@crm.example</span>"
            ),
            "{}",
            page.body
        );
        // A custom provider is named for what it is: an OAuth 2.0 connection, not a pasted key.
        assert!(
            page.body
                .contains("<span class=\"badge\">Custom OAuth 2.0</span>"),
            "{}",
            page.body
        );
        // What the provider granted (it does not echo offline_access), not what was asked.
        assert!(
            page.body.contains("Scopes: openid contacts.read"),
            "{}",
            page.body
        );
        let id: String = app.db(|c| {
            integrations::table
                .select(integrations::id)
                .first(c)
                .expect("row")
        });
        call(&app, &key, &id).await.assert_status(200);
        let shown = app
            .api("GET", &format!("/integrations/{id}"), &key, None)
            .await
            .json();
        assert_eq!(shown["oauth"]["account"], "ada@crm.example");

        // Disconnect: a confirmation that says what breaks, then the grant is revoked at the
        // provider and the tokens forgotten; the integration waits for a Connect.
        let confirm = app
            .get(&format!(
                "/teams/{slug}/settings/integrations/{id}/disconnect"
            ))
            .await;
        confirm.assert_status(200);
        assert!(confirm.body.contains("Disconnect CRM?"));
        assert!(
            confirm.body.contains("asks CRM to revoke the grant"),
            "the custom provider goes by the integration's name: {}",
            confirm.body
        );
        let gone = app
            .post(
                &format!("/teams/{slug}/settings/integrations/{id}/disconnect"),
                &[("csrf_token", &confirm.csrf())],
            )
            .await;
        gone.assert_status(303);
        let page = app.get(gone.location()).await;
        assert!(
            page.body
                .contains("revoked the grant and forgot its tokens"),
            "{}",
            page.body
        );
        assert!(page.body.contains("Not connected"));
        assert!(page.body.contains("aria-label=\"Connect CRM\""));
        assert!(!page.body.contains("ada@crm.example"));
        assert_eq!(counted(&provider.counts().await, "revoked"), 1);
        let res = call(&app, &key, &id).await;
        res.assert_status(502);
        assert!(res.body.contains("not connected yet"), "{}", res.body);
        let (detail, events): (String, i64) = app.db(|c| {
            (
                audit_events::table
                    .filter(audit_events::action.eq("integration.disconnected"))
                    .select(audit_events::detail.assume_not_null())
                    .first(c)
                    .expect("event"),
                outbox_events::table
                    .filter(outbox_events::event_type.eq("integration.disconnected"))
                    .count()
                    .get_result(c)
                    .expect("n"),
            )
        });
        assert!(detail.contains("\"revoked_at_provider\":true"), "{detail}");
        assert_eq!(events, 1);
        // Nothing left to disconnect.
        app.get(&format!(
            "/teams/{slug}/settings/integrations/{id}/disconnect"
        ))
        .await
        .assert_status(404);
        // Connect brings it back.
        let authorize = press_connect(&app, &slug, &id).await;
        let back = Browser::new()
            .consent(&provider, &authorize, "ada@crm.example")
            .await;
        app.get(&back["http://localhost:8080".len()..])
            .await
            .assert_status(303);
        call(&app, &key, &id).await.assert_status(200);

        // The API disconnects the same way; a second time answers it as it is, changing nothing.
        let off = app
            .api(
                "POST",
                &format!("/integrations/{id}/disconnect"),
                &key,
                None,
            )
            .await;
        off.assert_status(200);
        assert_eq!(off.json()["oauth"]["status"], "pending");
        assert_eq!(off.json()["oauth"]["account"], Value::Null);
        assert_eq!(counted(&provider.counts().await, "revoked"), 2);
        let again = app
            .api(
                "POST",
                &format!("/integrations/{id}/disconnect"),
                &key,
                None,
            )
            .await;
        again.assert_status(200);
        assert_eq!(again.json()["oauth"]["status"], "pending");
        assert_eq!(counted(&provider.counts().await, "revoked"), 2);
        let events: i64 = app.db(|c| {
            audit_events::table
                .filter(audit_events::action.eq("integration.disconnected"))
                .count()
                .get_result(c)
                .expect("n")
        });
        assert_eq!(
            events, 2,
            "the second disconnect changed and recorded nothing"
        );
    })
    .await;
}

#[actix_web::test]
async fn an_idle_connection_is_renewed_by_the_daily_keep_alive_sweep_and_a_forgotten_grant_is_recorded_once()
 {
    use latchkey::jobs::oauth_keepalive::{IDLE_AFTER, run_once};
    each_db(|app| async move {
        let provider = Provider::start(&["http://localhost:8080/oauth/callback"]);
        let key = admin_key(&app).await;
        let id = consent_integration(&app, &key, &provider).await;
        // Waiting for its consent: nothing to keep alive.
        app.clock().advance(IDLE_AFTER + 60);
        assert_eq!(run_once(&app.state).await.expect("sweep"), 0);
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let authorize = press_connect(&app, "acme", &id).await;
        let back = Browser::new()
            .consent(&provider, &authorize, "ada@crm.example")
            .await;
        app.get(&back["http://localhost:8080".len()..])
            .await
            .assert_status(303);
        // Just connected: nothing to do.
        assert_eq!(run_once(&app.state).await.expect("sweep"), 0);
        // A day without calls: its refresh token is used once.
        app.clock().advance(IDLE_AFTER + 60);
        assert_eq!(run_once(&app.state).await.expect("sweep"), 1);
        assert_eq!(counted(&provider.counts().await, "refresh_token"), 1);
        assert_eq!(run_once(&app.state).await.expect("sweep"), 0);
        // The token it got is the calls' token: no renewal for the next call.
        call(&app, &key, &id).await.assert_status(200);
        assert_eq!(counted(&provider.counts().await, "refresh_token"), 1);

        // The provider forgets the grant: the sweep finds out and records it once.
        provider.control("_break").await;
        app.clock().advance(IDLE_AFTER + 60);
        assert_eq!(run_once(&app.state).await.expect("sweep"), 0);
        assert_eq!(run_once(&app.state).await.expect("sweep"), 0);
        assert_eq!(counted(&provider.counts().await, "invalid_grant"), 1);
        let shown = app
            .api("GET", &format!("/integrations/{id}"), &key, None)
            .await
            .json();
        assert_eq!(shown["oauth"]["status"], "needs_reconnecting");
        let audits: i64 = app.db(|c| {
            audit_events::table
                .filter(audit_events::action.eq("integration.disconnected"))
                .count()
                .get_result(c)
                .expect("n")
        });
        assert_eq!(audits, 1);
    })
    .await;
}

#[actix_web::test]
async fn on_an_agency_host_the_redirect_uri_and_the_callback_are_the_agencys_and_its_dashboard_counts_what_needs_reconnecting()
 {
    use latchkey::jobs::oauth_keepalive::{IDLE_AFTER, run_once};
    each_db(|app| async move {
        let callback = "http://dash.northstar.test:8080/oauth/callback";
        let provider = Provider::start(&[callback]);
        app.set_up("ada@example.com", "Ada Home").await;
        let agency = crate::agencies::create_agency(&app, "Northstar").await;
        let harbor = crate::agencies::create_client(&app, &agency, "Harbor").await;
        let brand = app.get(&format!("/agencies/{agency}/brand")).await;
        crate::agencies::post_brand(
            &app,
            &agency,
            &[
                ("csrf_token", &brand.csrf()),
                ("product_name", "NorthDesk"),
                ("hosts", "dash.northstar.test"),
            ],
            None,
        )
        .await
        .assert_status(303);
        app.set_host("dash.northstar.test");
        let form = app
            .get(&format!(
                "/teams/{harbor}/settings/integrations/new?provider=custom&connect=oauth"
            ))
            .await;
        assert!(
            form.body.contains(&format!("value=\"{callback}\"")),
            "{}",
            form.body
        );
        assert!(form.body.contains("NorthDesk gets access tokens"));
        let api = format!("{}/api", provider.base);
        let (authorize, token) = (
            format!("{}/auth", provider.base),
            format!("{}/token", provider.base),
        );
        let added = app
            .post(
                &format!("/teams/{harbor}/settings/integrations"),
                &[
                    ("csrf_token", &form.csrf()),
                    ("provider", "custom"),
                    ("connect", "oauth"),
                    ("name", "Harbor CRM"),
                    ("mode", "live"),
                    ("grant_type", "authorization_code"),
                    ("authorize_url", &authorize),
                    ("token_url", &token),
                    ("client_id", "latchkey-test"),
                    ("client_secret", "latchkey-test-secret"),
                    ("scopes", "openid offline_access contacts.read"),
                    ("base_url", &api),
                ],
            )
            .await;
        added.assert_status(200);
        let consent = continue_link(&added.body);
        let redirect: String = url::Url::parse(&consent)
            .expect("url")
            .query_pairs()
            .find(|(k, _)| k == "redirect_uri")
            .map(|(_, v)| v.into_owned())
            .expect("redirect_uri");
        assert_eq!(redirect, callback);
        let back = Browser::new()
            .consent(&provider, &consent, "ops@harbor.example")
            .await;
        let done = app.get(&back[back.find("/oauth/").expect("path")..]).await;
        done.assert_status(303);
        let page = app.get(done.location()).await;
        assert!(page.body.contains("as ops@harbor.example"), "{}", page.body);

        // The provider forgets the grant; the agency dashboard says so for that client.
        let dashboard = app.get(&format!("/agencies/{agency}")).await;
        assert!(!dashboard.body.contains("reconnecting"));
        provider.control("_break").await;
        app.clock().advance(IDLE_AFTER + 60);
        assert_eq!(run_once(&app.state).await.expect("sweep"), 0);
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let dashboard = app.get(&format!("/agencies/{agency}")).await;
        assert!(
            dashboard.body.contains("1 needs reconnecting"),
            "{}",
            dashboard.body
        );
    })
    .await;
}

#[actix_web::test]
async fn two_latchkey_processes_on_one_postgresql_database_renew_a_token_the_provider_ended_once() {
    use crate::process::{PgDatabase, Server, http};
    let db = PgDatabase::create()
        .expect("set TEST_DATABASE_URL (CI does) to run the several-nodes tests");
    let provider = Provider::start(&[]);
    let key = crate::process::seed_admin_key(&db.url());
    let dir = tempfile::tempdir().expect("dir");
    let env = [("LATCHKEY_OUTBOUND_ALLOW_CIDRS", "127.0.0.1/32")];
    let nodes = [
        Server::spawn(dir.path(), &db.url(), &env),
        Server::spawn(dir.path(), &db.url(), &env),
    ];
    for n in &nodes {
        n.wait_until_up();
    }
    let body = json!({
        "provider": "custom", "name": "CRM", "base_url": format!("{}/api", provider.base),
        "oauth": {"grant_type": "client_credentials", "token_url": format!("{}/token", provider.base),
                  "client_id": "latchkey-test", "client_secret": "latchkey-test-secret"},
    });
    let created = http(
        nodes[0].port,
        "POST",
        "/v1/integrations",
        Some(&key),
        Some(&body.to_string()),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = serde_json::from_str::<Value>(&created.body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/v1/integrations/{id}/requests");
    let call = |port: u16| http(port, "POST", &path, Some(&key), Some(r#"{"path":"/me"}"#));
    assert_eq!(call(nodes[0].port).status, 200);
    assert_eq!(token_requests(&provider.counts().await), 1);

    // The provider ends its tokens: 25 calls on each node meet the 401 together, and the two
    // processes renew once between them (the row lock); every call then goes through. (The
    // calls are blocking: this test's runtime waits on them, the nodes are other processes.)
    provider.control("_expire").await;
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let port = nodes[i % 2].port;
                s.spawn(move || call(port).status)
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("call"))
            .collect()
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        token_requests(&provider.counts().await),
        2,
        "one renewal across both processes"
    );
}

//! Every change writes exactly one audit event and one outbox event, through every surface
//! that offers it. The table below performs each change; it fails when an audit action or a
//! `/v1` write route has no row, so a new operation cannot arrive without its events.

use std::collections::HashSet;

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, audit_events, invitations, outbox_events, users};
use latchkey::domain::audit::AuditAction;
use latchkey::domain::role::Role;
use serde_json::{Value, json};

use crate::agencies::{create_agency, create_client, post_brand};
use crate::helpers::{KeySpec, PASSWORD, TestApp, each_db};

/// The newest (audit, outbox) ids: ids are time-ordered, so what a change wrote is what sorts
/// after them (a count would miss events when a deleted client takes its own log with it).
fn marks(app: &TestApp) -> (String, String) {
    app.db(|c| {
        let audit: Option<String> = audit_events::table
            .select(diesel::dsl::max(audit_events::id))
            .first(c)
            .expect("audit");
        let outbox: Option<String> = outbox_events::table
            .select(diesel::dsl::max(outbox_events::id))
            .first(c)
            .expect("outbox");
        (audit.unwrap_or_default(), outbox.unwrap_or_default())
    })
}

/// (audit events, outbox events) written after `marks`.
fn written_since(app: &TestApp, marks: &(String, String)) -> (i64, i64) {
    app.db(|c| {
        (
            audit_events::table
                .filter(audit_events::id.gt(&marks.0))
                .count()
                .get_result(c)
                .expect("audit"),
            outbox_events::table
                .filter(outbox_events::id.gt(&marks.1))
                .count()
                .get_result(c)
                .expect("outbox"),
        )
    })
}

/// The newest audit event: (id, action, actor kind, target id).
fn newest_event(app: &TestApp) -> (String, String, String, Option<String>) {
    app.db(|c| {
        audit_events::table
            .order(audit_events::id.desc())
            .select((
                audit_events::id,
                audit_events::action,
                audit_events::actor_kind,
                audit_events::target_id,
            ))
            .first(c)
            .expect("an audit event")
    })
}

/// The newest outbox event: (type, payload, audit event id).
fn newest_outbox(app: &TestApp) -> (String, String, String) {
    app.db(|c| {
        outbox_events::table
            .order(outbox_events::id.desc())
            .select((
                outbox_events::event_type,
                outbox_events::payload,
                outbox_events::audit_event_id,
            ))
            .first(c)
            .expect("an outbox event")
    })
}

/// What one row of the table checked.
struct Seen {
    actions: HashSet<AuditAction>,
    routes: HashSet<(&'static str, &'static str)>,
}

/// Runs `$body` (one change) and asserts it wrote one audit event and one outbox event with
/// `$action`, by an actor of kind `$actor`, about `$target` (when given).
macro_rules! change {
    ($app:expr, $seen:expr, $action:expr, $actor:expr, $target:expr, $body:expr) => {{
        let before = marks(&$app);
        let out = $body;
        let action: AuditAction = $action;
        assert_eq!(
            written_since(&$app, &before),
            (1, 1),
            "{action} writes exactly one audit event and one outbox event"
        );
        let (id, name, actor, target) = newest_event(&$app);
        assert_eq!(name, action.as_str());
        assert_eq!(actor, $actor, "{action} is recorded with the right actor");
        let expected: Option<String> = $target;
        if let Some(expected) = expected {
            assert_eq!(
                target.as_deref(),
                Some(expected.as_str()),
                "{action} target"
            );
        }
        let (kind, payload, audit_id) = newest_outbox(&$app);
        assert_eq!(kind, action.as_str());
        assert_eq!(audit_id, id, "the outbox event belongs to the audit event");
        let body: Value = serde_json::from_str(&payload).expect("payload is JSON");
        assert_eq!(body["type"], action.as_str());
        assert_eq!(body["actor"]["type"], $actor);
        assert_eq!(
            serde_json::to_string(&body).expect("json"),
            payload,
            "the payload is compact, with sorted keys (re-serialising gives the same bytes)"
        );
        $seen.actions.insert(action);
        out
    }};
}

/// An API write through the route template `$path` (recorded for the coverage check).
macro_rules! api_change {
    ($app:expr, $seen:expr, $action:expr, $method:literal, $path:literal, $url:expr, $key:expr, $body:expr, $status:expr) => {{
        $seen.routes.insert(($method, $path));
        change!($app, $seen, $action, "api_key", None, {
            let url: String = $url.into();
            let res = $app.api($method, &url, &$key, $body).await;
            res.assert_status($status);
            res
        })
    }};
}

fn user_id(app: &TestApp, email: &str) -> String {
    app.db(|c| {
        users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(c)
            .expect("user")
    })
}

fn current_key_id(app: &TestApp, name: &str) -> String {
    app.db(|c| {
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::retiring_until.is_null())
            .select(api_keys::id)
            .first(c)
            .expect("key")
    })
}

/// The one-time invitation link's path in a response.
fn link_in(body: &str) -> String {
    let start = body.find("/invitations?token=").expect("a link");
    let tail = &body[start..];
    tail[..tail.find('"').expect("end")].to_owned()
}

/// Accepts `link` as a new account named `name` (in a fresh cookie jar), then restores the
/// previous jar.
async fn accept_as_new_user(app: &TestApp, link: &str, name: &str) {
    let saved = app.swap_cookies(Default::default());
    let page = app.get(link).await;
    page.assert_status(200);
    let token = link.split("token=").nth(1).expect("token");
    app.post(
        "/invitations",
        &[
            ("csrf_token", &page.csrf()),
            ("token", token),
            ("name", name),
            ("password", PASSWORD),
        ],
    )
    .await
    .assert_status(303);
    app.swap_cookies(saved);
}

#[actix_web::test]
async fn every_change_through_every_surface_writes_one_audit_event_and_one_outbox_event() {
    each_db(|app| async move {
        let mut seen = Seen {
            actions: HashSet::new(),
            routes: HashSet::new(),
        };
        let team = change!(app, seen, AuditAction::TeamCreated, "user", None, {
            app.set_up("ada@example.com", "Acme").await
        });
        let keys = format!("/teams/{team}/settings/api-keys");

        // ----- keys, in the dashboard ---------------------------------------------------
        change!(app, seen, AuditAction::ApiKeyCreated, "user", None, {
            app.create_key(&team, &[("name", "Web"), ("scopes", "admin"), ("mode", "live")])
                .await
        });
        let web_key = current_key_id(&app, "Web");
        let csrf = app.csrf_of_session(&team).await;
        change!(app, seen, AuditAction::ApiKeyUpdated, "user", Some(web_key.clone()), {
            app.post(
                &format!("{keys}/{web_key}"),
                &[("csrf_token", &csrf), ("name", "Web 2"), ("scopes", "bots:read")],
            )
            .await
            .assert_status(303);
        });
        change!(app, seen, AuditAction::ApiKeyRotated, "user", Some(web_key.clone()), {
            app.post(
                &format!("{keys}/{web_key}/rotate"),
                &[("csrf_token", &csrf), ("grace", "3600")],
            )
            .await
            .assert_status(200);
        });
        change!(app, seen, AuditAction::ApiKeyGraceEnded, "user", Some(web_key.clone()), {
            app.post(&format!("{keys}/{web_key}/end-grace"), &[("csrf_token", &csrf)])
                .await
                .assert_status(303);
        });
        let successor = current_key_id(&app, "Web 2");
        change!(app, seen, AuditAction::ApiKeyDeleted, "user", Some(successor.clone()), {
            app.post(&format!("{keys}/{successor}/delete"), &[("csrf_token", &csrf)])
                .await
                .assert_status(303);
        });
        change!(app, seen, AuditAction::TeamUpdated, "user", None, {
            app.post(
                &format!("/teams/{team}/settings"),
                &[
                    ("csrf_token", &csrf),
                    ("name", "Acme Inc"),
                    ("rate_limit", "900"),
                    ("audit_retention_days", "90"),
                ],
            )
            .await
            .assert_status(303);
        });

        // ----- members and invitations --------------------------------------------------
        let members = format!("/teams/{team}/settings/members");
        let invite = |email: &'static str, role: &'static str| {
            let (app, members, csrf) = (&app, members.clone(), csrf.clone());
            async move {
                let res = app
                    .post(
                        &format!("{members}/invitations"),
                        &[("csrf_token", &csrf), ("email", email), ("role", role)],
                    )
                    .await;
                res.assert_status(200);
                link_in(&res.body)
            }
        };
        let bob_link = change!(app, seen, AuditAction::MemberInvited, "user", None, {
            invite("bob@example.com", "developer").await
        });
        change!(app, seen, AuditAction::MemberInvited, "user", None, {
            invite("carol@example.com", "viewer").await
        });
        let carol_invitation: String = app
            .db(|c| {
                invitations::table
                    .filter(invitations::email.eq("carol@example.com"))
                    .select(invitations::id)
                    .first(c)
            })
            .expect("invitation");
        change!(app, seen, AuditAction::InvitationRevoked, "user", Some(carol_invitation.clone()), {
            app.post(
                &format!("{members}/invitations/{carol_invitation}/revoke"),
                &[("csrf_token", &csrf)],
            )
            .await
            .assert_status(303);
        });
        change!(app, seen, AuditAction::MemberJoined, "user", None, {
            accept_as_new_user(&app, &bob_link, "Bob").await
        });
        let bob = user_id(&app, "bob@example.com");
        change!(app, seen, AuditAction::MemberRoleChanged, "user", Some(bob.clone()), {
            app.post(
                &format!("{members}/{bob}/role"),
                &[("csrf_token", &csrf), ("role", "admin")],
            )
            .await
            .assert_status(303);
        });
        app.add_member(&team, "dan@example.com", Role::Viewer).await;
        let dan = user_id(&app, "dan@example.com");
        change!(app, seen, AuditAction::MemberRemoved, "user", Some(dan.clone()), {
            app.post(&format!("{members}/{dan}/remove"), &[("csrf_token", &csrf)])
                .await
                .assert_status(303);
        });

        // ----- every /v1 write, the key as the actor -----------------------------------
        let (_, admin) = app.make_key(KeySpec {
            team: &team,
            scopes: &["admin"],
            mode: "live",
        });
        let created = api_change!(app, seen, AuditAction::ApiKeyCreated, "POST", "/api-keys",
            "/api-keys", admin, Some(json!({"name": "Automation"})), 201);
        let id = created.json()["id"].as_str().expect("id").to_owned();
        api_change!(app, seen, AuditAction::ApiKeyUpdated, "PATCH", "/api-keys/{id}",
            format!("/api-keys/{id}"), admin, Some(json!({"name": "Automation 2"})), 200);
        let rotated = api_change!(app, seen, AuditAction::ApiKeyRotated, "POST", "/api-keys/{id}/rotate",
            format!("/api-keys/{id}/rotate"), admin, Some(json!({"grace_period_seconds": 60})), 201);
        let next = rotated.json()["id"].as_str().expect("id").to_owned();
        let leaked = rotated.json()["secret"].as_str().expect("secret").to_owned();
        api_change!(app, seen, AuditAction::ApiKeyDeleted, "DELETE", "/api-keys/{id}",
            format!("/api-keys/{id}"), admin, None, 200);
        let (_, spare) = app.make_key(KeySpec {
            team: &team,
            scopes: &["bots:read"],
            mode: "live",
        });
        // Possession is the authority: the reported key itself is the actor.
        api_change!(app, seen, AuditAction::ApiKeyLeaked, "POST", "/revoke",
            "/revoke", spare, Some(json!({"key": leaked})), 200);
        assert_eq!(newest_event(&app).3.as_deref(), Some(next.as_str()));

        let bot = api_change!(app, seen, AuditAction::BotCreated, "POST", "/bots",
            "/bots", admin, Some(json!({"name": "Support"})), 201);
        let bot = bot.json()["id"].as_str().expect("id").to_owned();
        api_change!(app, seen, AuditAction::BotUpdated, "PATCH", "/bots/{id}",
            format!("/bots/{bot}"), admin, Some(json!({"name": "Support 2"})), 200);
        let ch = api_change!(app, seen, AuditAction::ChannelCreated, "POST", "/channels",
            "/channels", admin, Some(json!({"bot_id": bot, "kind": "web", "name": "Site"})), 201);
        let ch = ch.json()["id"].as_str().expect("id").to_owned();
        api_change!(app, seen, AuditAction::ChannelUpdated, "PATCH", "/channels/{id}",
            format!("/channels/{ch}"), admin, Some(json!({"name": "Site 2"})), 200);
        api_change!(app, seen, AuditAction::ChannelDeleted, "DELETE", "/channels/{id}",
            format!("/channels/{ch}"), admin, None, 200);
        let int = api_change!(app, seen, AuditAction::IntegrationCreated, "POST", "/integrations",
            "/integrations", admin,
            Some(json!({"provider": "shopify", "name": "Shop", "base_url": "https://shop.example.com", "credential": {"token": "shpat_x"}})), 201);
        let int = int.json()["id"].as_str().expect("id").to_owned();
        api_change!(app, seen, AuditAction::IntegrationUpdated, "PATCH", "/integrations/{id}",
            format!("/integrations/{int}"), admin, Some(json!({"name": "Shop 2"})), 200);
        api_change!(app, seen, AuditAction::IntegrationCredentialReplaced, "PATCH", "/integrations/{id}",
            format!("/integrations/{int}"), admin, Some(json!({"credential": {"token": "shpat_y"}})), 200);
        api_change!(app, seen, AuditAction::IntegrationDeleted, "DELETE", "/integrations/{id}",
            format!("/integrations/{int}"), admin, None, 200);
        let up = crate::receiver::Receiver::ok().await;
        let down = crate::receiver::Receiver::start(|_| crate::receiver::json_reply(500, "{}")).await;
        for (receiver, action) in [(&up, AuditAction::IntegrationTested), (&down, AuditAction::IntegrationTestFailed)] {
            let res = app.api("POST", "/integrations", &admin, Some(json!({"provider": "stripe", "name": "Pay", "base_url": receiver.url(), "credential": {"token": "sk_1"}}))).await;
            let int = res.json()["id"].as_str().expect("id").to_owned();
            api_change!(app, seen, action, "POST", "/integrations/{id}/test",
                format!("/integrations/{int}/test"), admin, None, 200);
            // A bot flow's call through it is not a change: no audit or outbox event.
            let before = marks(&app);
            app.api("POST", &format!("/integrations/{int}/requests"), &admin, Some(json!({"path": "/x"}))).await.assert_status(200);
            assert_eq!(written_since(&app, &before), (0, 0), "a call writes no event");
            seen.routes.insert(("POST", "/integrations/{id}/requests"));
        }
        // An OAuth connection whose provider refuses the grant needs reconnecting: announced
        // once, by Latchkey, on the call that found it out.
        {
            let provider = crate::oauth::Provider::start(&["http://localhost:8080/oauth/callback"]);
            let res = app.api("POST", "/integrations", &admin, Some(json!({"provider": "custom", "name": "CRM", "base_url": format!("{}/api", provider.base),
                "oauth": {"grant_type": "client_credentials", "token_url": format!("{}/token", provider.base), "client_id": "latchkey-test", "client_secret": "wrong"}}))).await;
            let int = res.json()["id"].as_str().expect("id").to_owned();
            change!(app, seen, AuditAction::IntegrationDisconnected, "system", None, {
                app.api("POST", &format!("/integrations/{int}/requests"), &admin, Some(json!({"path": "/me"}))).await.assert_status(502);
            });
            // A person connects one at the provider's consent page.
            let int = crate::oauth::consent_integration(&app, &admin, &provider).await;
            let authorize = crate::oauth::press_connect(&app, &team, &int).await;
            let back = crate::oauth::Browser::new().consent(&provider, &authorize, "ada@crm.example").await;
            change!(app, seen, AuditAction::IntegrationConnected, "user", None, {
                app.get(&back["http://localhost:8080".len()..]).await.assert_status(303);
            });
            // And disconnects it (revoked at the provider, tokens forgotten).
            api_change!(app, seen, AuditAction::IntegrationDisconnected, "POST", "/integrations/{id}/disconnect",
                format!("/integrations/{int}/disconnect"), admin, None, 200);
        }
        // The lifecycle sweep announces a key a week before expiry, and once it expired.
        {
            use latchkey::db::schema::api_keys;
            let (soon, _) = app.make_key(KeySpec {
                team: &team,
                scopes: &["bots:read"],
                mode: "live",
            });
            let expire = |at: i64| {
                app.db(|c| {
                    diesel::update(api_keys::table.find(&soon))
                        .set(api_keys::expires_at.eq(at))
                        .execute(c)
                        .expect("expiry")
                })
            };
            expire(app.clock().now() + 3 * 86_400);
            change!(app, seen, AuditAction::ApiKeyExpiring, "system", Some(soon.clone()), {
                latchkey::jobs::key_notices::run_once(&app.state).await.expect("sweep")
            });
            expire(app.clock().now() - 60);
            change!(app, seen, AuditAction::ApiKeyExpired, "system", Some(soon.clone()), {
                latchkey::jobs::key_notices::run_once(&app.state).await.expect("sweep")
            });
            // The usage flush announces a key's use from a second address.
            let tally = app.state.key_tallies.of(&soon);
            tally.record("192.0.2.10".parse().ok(), app.clock().now());
            let flush = |app: &crate::helpers::TestApp| {
                app.db(|c| app.state.key_tallies.flush(c, latchkey::ops::api_keys::record_addresses))
                    .expect("flush")
            };
            flush(&app);
            tally.record("192.0.2.11".parse().ok(), app.clock().now());
            change!(app, seen, AuditAction::ApiKeyNewAddress, "system", Some(soon.clone()), {
                flush(&app)
            });
        }
        // Webhook endpoints through /v1; the delivery job disables one that answers 410.
        let gone = crate::receiver::Receiver::start(|_| crate::receiver::json_reply(410, "{}")).await;
        let hook = api_change!(app, seen, AuditAction::WebhookEndpointCreated, "POST", "/webhook-endpoints",
            "/webhook-endpoints", admin, Some(json!({"url": gone.url(), "event_types": ["bot.updated"]})), 201);
        let hook = hook.json()["id"].as_str().expect("id").to_owned();
        api_change!(app, seen, AuditAction::WebhookEndpointUpdated, "PATCH", "/webhook-endpoints/{id}",
            format!("/webhook-endpoints/{hook}"), admin, Some(json!({"description": "CRM"})), 200);
        api_change!(app, seen, AuditAction::WebhookSecretRotated, "POST", "/webhook-endpoints/{id}/rotate-secret",
            format!("/webhook-endpoints/{hook}/rotate-secret"), admin, Some(json!({"overlap_seconds": 0})), 200);
        // The test event is a change (audited) and one more outbox row: the event itself.
        seen.routes.insert(("POST", "/webhook-endpoints/{id}/test"));
        app.api("POST", &format!("/webhook-endpoints/{hook}/test"), &admin, None).await.assert_status(202);
        seen.actions.insert(AuditAction::WebhookEndpointTested);
        latchkey::jobs::webhooks::run_once(&app.state).await.expect("the 410 disables it");
        app.api("PATCH", &format!("/webhook-endpoints/{hook}"), &admin, Some(json!({"enabled": true}))).await.assert_status(200);
        app.api("PATCH", &format!("/bots/{bot}"), &admin, Some(json!({"name": "Support 3"}))).await.assert_status(200);
        change!(app, seen, AuditAction::WebhookEndpointDisabled, "system", None, {
            latchkey::jobs::webhooks::run_once(&app.state).await.expect("round")
        });
        // The 410'd delivery, replayed from the endpoint's page (one event for the batch).
        change!(app, seen, AuditAction::WebhookDeliveriesReplayed, "user", Some(hook.clone()), {
            app.post(
                &format!("/teams/{team}/settings/webhooks/{hook}/replay"),
                &[("csrf_token", &csrf), ("window", "86400")],
            )
            .await
            .assert_status(303);
        });
        // The same through /v1: retry now, and one delivery replayed.
        api_change!(app, seen, AuditAction::WebhookDeliveriesReplayed, "POST", "/webhook-endpoints/{id}/retry",
            format!("/webhook-endpoints/{hook}/retry"), admin, Some(json!({"window_seconds": 86400})), 202);
        let delivery = app.api("GET", &format!("/webhook-endpoints/{hook}/deliveries"), &admin, None).await.json()
            ["data"][0]["id"].as_str().expect("a delivery").to_owned();
        api_change!(app, seen, AuditAction::WebhookDeliveriesReplayed, "POST",
            "/webhook-endpoints/{id}/deliveries/{delivery_id}/replay",
            format!("/webhook-endpoints/{hook}/deliveries/{delivery}/replay"), admin, None, 202);
        api_change!(app, seen, AuditAction::WebhookEndpointDeleted, "DELETE", "/webhook-endpoints/{id}",
            format!("/webhook-endpoints/{hook}"), admin, None, 200);
        // `latchkey vault forget`: a credential sealed by a lost master key is discarded, and
        // its team's log says so (Latchkey itself is the actor).
        let int = app.api("GET", "/integrations", &admin, None).await.json()["data"][0]["id"]
            .as_str()
            .expect("an integration")
            .to_owned();
        app.db(|c| {
            use latchkey::db::schema::integrations;
            diesel::update(integrations::table.find(&int))
                .set(integrations::credential.eq("v1.10570ca11ed0.AAAA.AAAA"))
                .execute(c)
                .expect("seal with a lost key")
        });
        change!(app, seen, AuditAction::IntegrationCredentialDiscarded, "system", None, {
            let now = app.clock().now();
            let n = app.db(|c| latchkey::ops::integrations::forget_master_key(c, "10570ca11ed0", now)).expect("forget");
            assert_eq!(n, 1);
        });
        let conv = api_change!(app, seen, AuditAction::ConversationCreated, "POST", "/conversations",
            "/conversations", admin,
            Some(json!({"title": "Hello", "messages": [{"role": "user", "content": "Hi"}]})), 201);
        let conv = conv.json()["id"].as_str().expect("id").to_owned();
        api_change!(app, seen, AuditAction::ConversationDeleted, "DELETE", "/conversations/{id}",
            format!("/conversations/{conv}"), admin, None, 200);
        let lp = api_change!(app, seen, AuditAction::AgentLoopCreated, "POST", "/agent-loops",
            "/agent-loops", admin, Some(json!({"name": "Nightly"})), 201);
        let lp = lp.json()["id"].as_str().expect("id").to_owned();
        let run = api_change!(app, seen, AuditAction::AgentLoopRunQueued, "POST", "/agent-loops/{id}/runs",
            format!("/agent-loops/{lp}/runs"), admin, Some(json!({"input": {}})), 202);
        let run = run.json()["id"].as_str().expect("run id").to_owned();
        api_change!(app, seen, AuditAction::AgentLoopRunStarted, "PATCH", "/agent-loops/{id}/runs/{run_id}",
            format!("/agent-loops/{lp}/runs/{run}"), admin, Some(json!({"status": "running"})), 200);
        api_change!(app, seen, AuditAction::AgentLoopRunFinished, "PATCH", "/agent-loops/{id}/runs/{run_id}",
            format!("/agent-loops/{lp}/runs/{run}"), admin, Some(json!({"status": "succeeded"})), 200);
        api_change!(app, seen, AuditAction::BotDeleted, "DELETE", "/bots/{id}",
            format!("/bots/{bot}"), admin, None, 200);

        // A refused write writes nothing.
        let before = marks(&app);
        app.api("POST", "/bots", &admin, Some(json!({"name": ""})))
            .await
            .assert_status(422);
        assert_eq!(
            written_since(&app, &before),
            (0, 0),
            "a refused write leaves no event"
        );

        // ----- agencies: the agency's own log, and operators inside a client -------------
        let agency = change!(app, seen, AuditAction::AgencyCreated, "user", None, {
            create_agency(&app, "Acme Agency").await
        });
        let client = change!(app, seen, AuditAction::ClientCreated, "user", None, {
            create_client(&app, &agency, "Northwind").await
        });
        change!(app, seen, AuditAction::ApiKeyCreated, "operator", None, {
            app.create_key(&client, &[("name", "Relay"), ("scopes", "bots:read"), ("mode", "live")])
                .await
        });
        let page = app.get(&format!("/agencies/{agency}")).await;
        let csrf = page.csrf();
        change!(app, seen, AuditAction::ClientSuspended, "user", None, {
            app.post(
                &format!("/agencies/{agency}/clients/{client}/suspend"),
                &[("csrf_token", &csrf)],
            )
            .await
            .assert_status(303);
        });
        change!(app, seen, AuditAction::ClientResumed, "user", None, {
            app.post(
                &format!("/agencies/{agency}/clients/{client}/resume"),
                &[("csrf_token", &csrf)],
            )
            .await
            .assert_status(303);
        });
        change!(app, seen, AuditAction::BrandUpdated, "user", None, {
            post_brand(
                &app,
                &agency,
                &[("csrf_token", &csrf), ("product_name", "AcmeDesk")],
                None,
            )
            .await
            .assert_status(303);
        });
        let erin_link = change!(app, seen, AuditAction::OperatorInvited, "user", None, {
            let res = app
                .post(
                    &format!("/agencies/{agency}/operators/invitations"),
                    &[("csrf_token", &csrf), ("email", "erin@example.com")],
                )
                .await;
            res.assert_status(200);
            link_in(&res.body)
        });
        change!(app, seen, AuditAction::OperatorJoined, "user", None, {
            accept_as_new_user(&app, &erin_link, "Erin").await
        });
        let erin = user_id(&app, "erin@example.com");
        change!(app, seen, AuditAction::OperatorRemoved, "user", Some(erin.clone()), {
            app.post(
                &format!("/agencies/{agency}/operators/{erin}/remove"),
                &[("csrf_token", &csrf)],
            )
            .await
            .assert_status(303);
        });
        change!(app, seen, AuditAction::ClientDeleted, "user", None, {
            app.post(
                &format!("/agencies/{agency}/clients/{client}/delete"),
                &[("csrf_token", &csrf), ("confirm", "Northwind")],
            )
            .await
            .assert_status(303);
        });

        // ----- two-factor policies (the owner has a second factor first) -----------------
        crate::two_factor::enrol_as(&app, "ada@example.com").await;
        for (required, action) in [
            ("true", AuditAction::TeamTwoFactorRequired),
            ("false", AuditAction::TeamTwoFactorOptional),
        ] {
            change!(app, seen, action, "user", None, {
                app.post(
                    &format!("{members}/two-factor"),
                    &[("csrf_token", &csrf), ("required", required)],
                )
                .await
                .assert_status(303);
            });
        }
        for (required, action) in [
            ("true", AuditAction::AgencyTwoFactorRequired),
            ("false", AuditAction::AgencyTwoFactorOptional),
        ] {
            change!(app, seen, action, "user", None, {
                app.post(
                    &format!("/agencies/{agency}/operators/two-factor"),
                    &[("csrf_token", &csrf), ("required", required)],
                )
                .await
                .assert_status(303);
            });
        }

        // ----- the last owner hands over, then leaves ------------------------------------
        change!(app, seen, AuditAction::OwnershipTransferred, "user", Some(bob.clone()), {
            app.post(
                &format!("{members}/transfer"),
                &[("csrf_token", &csrf), ("user_id", &bob)],
            )
            .await
            .assert_status(303);
        });
        change!(app, seen, AuditAction::MemberLeft, "user", None, {
            app.post(&format!("{members}/leave"), &[("csrf_token", &csrf)])
                .await
                .assert_status(303);
        });

        // Coverage: every action has a row, and so has every /v1 write route.
        let missing: Vec<&str> = AuditAction::ALL
            .iter()
            .filter(|a| !seen.actions.contains(a))
            .map(|a| a.as_str())
            .collect();
        assert!(missing.is_empty(), "no row performs: {missing:?}");
        let unwritten: Vec<String> = latchkey::api::ROUTES
            .iter()
            .filter(|r| r.method != "GET")
            .filter(|r| !seen.routes.contains(&(r.method, r.path)))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(unwritten.is_empty(), "no row calls: {unwritten:?}");

        // Every event type's payload survives Node's JSON.parse → JSON.stringify byte for
        // byte, and seed 004's verifier, verbatim, accepts its X-Chatbot-Signature.
        let payloads: Vec<String> = app.db(|c| {
            outbox_events::table
                .select(outbox_events::payload)
                .load(c)
                .expect("payloads")
        });
        assert!(payloads.len() >= AuditAction::ALL.len());
        node_accepts_every_payload(&payloads);
    })
    .await;
}

/// Seed 004's `verifySignature`, character for character.
const SEED_VERIFIER: &str = r#"const crypto = require('crypto');

function verifySignature(payload, signature, secret) {
  const hmac = crypto.createHmac('sha256', secret);
  const computed = 'sha256=' + hmac.update(payload).digest('hex');
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(computed)
  );
}"#;

/// Runs every payload through `node`: `JSON.stringify(JSON.parse(body)) === body`, and the
/// seed's verifier on `JSON.stringify(req.body)` (what an express.json() receiver hands it)
/// with our signature. Also that a one-byte change, a missing prefix and upper-case hex fail.
fn node_accepts_every_payload(payloads: &[String]) {
    use latchkey::domain::webhook::{SigningSecret, chatbot_signature};
    let secret = SigningSecret::generate();
    let cases: Vec<Value> = payloads
        .iter()
        .map(|p| json!({"body": p, "signature": chatbot_signature(&secret, p.as_bytes())}))
        .collect();
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("cases.json");
    std::fs::write(&input, serde_json::to_string(&cases).expect("json")).expect("write");
    let script = format!(
        r#"{SEED_VERIFIER}
const cases = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
const secret = process.env.WEBHOOK_SECRET;
let bad = [];
const rejects = (payload, signature) => {{
  try {{ return !verifySignature(payload, signature, secret); }} catch (e) {{ return true; }}
}};
for (const c of cases) {{
  const payload = JSON.stringify(JSON.parse(c.body));
  if (payload !== c.body) bad.push('re-serialised differently: ' + c.body);
  if (!verifySignature(payload, c.signature, secret)) bad.push('signature refused: ' + c.body);
  const flipped = c.body.slice(0, -2) + (c.body.slice(-2, -1) === 'a' ? 'b' : 'a') + c.body.slice(-1);
  if (!rejects(flipped, c.signature)) bad.push('a changed byte was accepted');
  if (!rejects(payload, c.signature.slice(7))) bad.push('no sha256= prefix was accepted');
  if (!rejects(payload, 'sha256=' + c.signature.slice(7).toUpperCase())) bad.push('upper-case hex was accepted');
}}
if (bad.length) {{ console.error(bad.join('\n')); process.exit(1); }}
console.log(cases.length + ' payloads ok');
"#
    );
    let out = std::process::Command::new("node")
        .arg("-e")
        .arg(&script)
        .arg(&input)
        .env("WEBHOOK_SECRET", secret.expose())
        .output()
        .expect("node runs (CI installs nodejs)");
    assert!(
        out.status.success(),
        "node refused payloads:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

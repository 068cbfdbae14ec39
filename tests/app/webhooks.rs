//! Webhook delivery: a change reaches the endpoints that want it, signed both ways over the
//! outbox's exact bytes; retries follow the schedule (an injected clock) with the same bytes;
//! `410` disables; events of other tenants never arrive; agency endpoints get their clients'.

use diesel::prelude::*;
use latchkey::db::schema::{
    outbox_events, webhook_attempts, webhook_deliveries, webhook_endpoints,
};
use latchkey::domain::audit::{Actor, Owner, Who};
use latchkey::domain::ids::{AgencyId, TeamId};
use latchkey::domain::webhook::{SigningSecret, chatbot_signature, standard_signature};
use latchkey::jobs::webhooks::run_once;
use latchkey::ops::webhooks::{EndpointSettings, create_endpoint};
use serde_json::{Value, json};

use crate::helpers::{KeySpec, TestApp, each_db};
use crate::receiver::{Receiver, Seen, json_reply};

fn team_id(app: &TestApp, slug: &str) -> String {
    use latchkey::db::schema::teams;
    app.db(|c| {
        teams::table
            .filter(teams::slug.eq(slug))
            .select(teams::id)
            .first(c)
            .expect("team")
    })
}

/// Adds an endpoint for `owner` at `url` wanting `events` (none: all); returns its id and secret.
pub async fn endpoint(
    app: &TestApp,
    owner: Owner,
    url: &str,
    events: &[&str],
) -> (String, SigningSecret) {
    let actor = Actor {
        who: Who::System,
        ip: None,
        at: app.clock().now(),
    };
    let (e, secret) = create_endpoint(
        &app.state,
        &actor,
        &owner,
        EndpointSettings {
            url: url::Url::parse(url).expect("url"),
            description: "test".into(),
            event_types: events.iter().map(|s| (*s).to_owned()).collect(),
        },
    )
    .await
    .unwrap_or_else(|e| panic!("endpoint: {e:?}"));
    (e.id.into(), secret)
}

fn payload_of(app: &TestApp, event_id: &str) -> String {
    app.db(|c| {
        outbox_events::table
            .find(event_id)
            .select(outbox_events::payload)
            .first(c)
            .expect("event")
    })
}

/// Asserts `seen` is a delivery signed by `secret` over the outbox payload of its webhook-id.
fn assert_signed(app: &TestApp, seen: &Seen, secret: &SigningSecret) -> Value {
    let id = seen.header("webhook-id").expect("webhook-id");
    let body = payload_of(app, id);
    assert_eq!(seen.body, body.as_bytes(), "the outbox's exact bytes");
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.header("x-chatbot-signature"),
        Some(chatbot_signature(secret, body.as_bytes()).as_str())
    );
    let ts: i64 = seen
        .header("webhook-timestamp")
        .expect("timestamp")
        .parse()
        .expect("seconds");
    assert_eq!(
        seen.header("webhook-signature"),
        Some(standard_signature(secret, id, ts, body.as_bytes()).as_str())
    );
    serde_json::from_str(&body).expect("json")
}

#[actix_web::test]
async fn a_change_is_delivered_to_the_endpoints_that_want_it_signed_over_the_outbox_bytes() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let all = Receiver::ok().await;
        let keys_only = Receiver::ok().await;
        endpoint(
            &app,
            Owner::Team(team.clone()),
            &keys_only.url(),
            &["api_key.created"],
        )
        .await;
        let (_, secret) = endpoint(&app, Owner::Team(team.clone()), &all.url(), &[]).await;
        // Events from before an endpoint existed are not sent to it: nothing yet.
        assert_eq!(run_once(&app.state).await.expect("round").attempted, 0);

        let (_, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        app.api("POST", "/bots", &key, Some(json!({"name": "Support"})))
            .await
            .assert_status(201);
        let round = run_once(&app.state).await.expect("round");
        assert_eq!(
            (round.fanned_out, round.attempted, round.succeeded),
            (1, 1, 1)
        );
        let seen = all.seen();
        assert_eq!(seen.len(), 1);
        let body = assert_signed(&app, &seen[0], &secret);
        assert_eq!(body["type"], "bot.created");
        assert_eq!(body["data"]["object"]["name"], "Support");
        assert_eq!(keys_only.seen().len(), 0, "it did not ask for bot events");
        // Delivered once: a second round sends nothing.
        assert_eq!(run_once(&app.state).await.expect("round").attempted, 0);
        let status: String = app.db(|c| {
            webhook_deliveries::table
                .select(webhook_deliveries::status)
                .first(c)
                .expect("d")
        });
        assert_eq!(status, "succeeded");
    })
    .await;
}

#[actix_web::test]
async fn failures_are_retried_on_the_schedule_with_the_same_bytes_until_an_answer_comes() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n = calls.clone();
        // 500, then silence (the client times out), then 200.
        let flaky =
            Receiver::start(
                move |_| match n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                    0 => json_reply(500, r#"{"error":"boom"}"#),
                    1 => String::new(),
                    _ => json_reply(200, "{}"),
                },
            )
            .await;
        let (_, secret) = endpoint(&app, Owner::Team(team), &flaky.url(), &[]).await;
        let (_, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        app.api("POST", "/bots", &key, Some(json!({"name": "Support"})))
            .await
            .assert_status(201);

        let next = |app: &TestApp| -> (String, i64, Option<i64>) {
            app.db(|c| {
                webhook_deliveries::table
                    .select((
                        webhook_deliveries::status,
                        webhook_deliveries::attempts,
                        webhook_deliveries::next_attempt_at,
                    ))
                    .first(c)
                    .expect("delivery")
            })
        };
        let t0 = app.clock().now();
        assert_eq!(run_once(&app.state).await.expect("round").succeeded, 0);
        let (status, attempts, at) = next(&app);
        assert_eq!((status.as_str(), attempts), ("pending", 1));
        let wait = at.expect("a retry") - t0;
        assert!((4..=6).contains(&wait), "5 s ± 10 %: {wait}");
        // Not before it is due.
        assert_eq!(run_once(&app.state).await.expect("round").attempted, 0);
        app.clock().advance(wait);
        let t1 = app.clock().now();
        assert_eq!(
            run_once(&app.state).await.expect("round").succeeded,
            0,
            "timed out"
        );
        let (_, attempts, at) = next(&app);
        assert_eq!(attempts, 2);
        let wait = at.expect("a retry") - t1;
        assert!((270..=330).contains(&wait), "5 min ± 10 %: {wait}");
        app.clock().advance(wait);
        assert_eq!(run_once(&app.state).await.expect("round").succeeded, 1);
        assert_eq!(next(&app), ("succeeded".into(), 3, None));

        let seen = flaky.seen();
        assert_eq!(seen.len(), 3);
        for s in &seen {
            assert_signed(&app, s, &secret);
            assert_eq!(s.body, seen[0].body, "every attempt sends the same bytes");
            assert_eq!(s.header("webhook-id"), seen[0].header("webhook-id"));
        }
        let errors: Vec<(Option<i32>, Option<String>)> = app.db(|c| {
            webhook_attempts::table
                .order(webhook_attempts::attempt.asc())
                .select((webhook_attempts::status_code, webhook_attempts::error))
                .load(c)
                .expect("attempts")
        });
        assert_eq!(errors[0].0, Some(500));
        assert!(
            errors[1]
                .1
                .as_deref()
                .unwrap_or_default()
                .contains("did not answer"),
            "{errors:?}"
        );
        assert_eq!(errors[2].0, Some(200));
    })
    .await;
}

#[actix_web::test]
async fn a_410_disables_the_endpoint_and_later_events_wait_for_nobody() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let gone = Receiver::start(|_| json_reply(410, "{}")).await;
        let (id, _) = endpoint(&app, Owner::Team(team), &gone.url(), &[]).await;
        let (_, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        app.api("POST", "/bots", &key, Some(json!({"name": "One"})))
            .await
            .assert_status(201);
        run_once(&app.state).await.expect("round");
        let (enabled, reason): (bool, Option<String>) = app.db(|c| {
            webhook_endpoints::table
                .find(&id)
                .select((
                    webhook_endpoints::enabled,
                    webhook_endpoints::disabled_reason,
                ))
                .first(c)
                .expect("e")
        });
        assert!(!enabled);
        assert_eq!(reason.as_deref(), Some("The endpoint answered 410 Gone."));
        let status: String = app.db(|c| {
            webhook_deliveries::table
                .select(webhook_deliveries::status)
                .first(c)
                .expect("d")
        });
        assert_eq!(status, "failed", "a 410 is not retried");
        app.api("POST", "/bots", &key, Some(json!({"name": "Two"})))
            .await
            .assert_status(201);
        run_once(&app.state).await.expect("round");
        assert_eq!(
            gone.seen().len(),
            1,
            "nothing more is sent to a disabled endpoint"
        );
        let actions: Vec<String> = app.db(|c| {
            use latchkey::db::schema::audit_events;
            audit_events::table
                .select(audit_events::action)
                .load(c)
                .expect("audit")
        });
        assert!(actions.contains(&"webhook_endpoint.disabled".to_owned()));
    })
    .await;
}

#[actix_web::test]
async fn a_team_never_receives_another_teams_events_and_an_agency_receives_only_its_clients() {
    each_db(|app| async move {
        let home = app.set_up("ada@example.com", "Ada Home").await;
        let agency = crate::agencies::create_agency(&app, "Northstar").await;
        let client = crate::agencies::create_client(&app, &agency, "Harbor").await;
        let other = app.team_owned_by("ada@example.com", "Globex");
        let agency_id = {
            use latchkey::db::schema::agencies;
            app.db(|c| {
                agencies::table
                    .filter(agencies::slug.eq(&agency))
                    .select(agencies::id)
                    .first::<String>(c)
                    .expect("agency")
            })
        };
        let home_rx = Receiver::ok().await;
        let other_rx = Receiver::ok().await;
        let agency_rx = Receiver::ok().await;
        endpoint(
            &app,
            Owner::Team(TeamId::from_db(team_id(&app, &home))),
            &home_rx.url(),
            &[],
        )
        .await;
        endpoint(
            &app,
            Owner::Team(TeamId::from_db(team_id(&app, &other))),
            &other_rx.url(),
            &[],
        )
        .await;
        let (_, agency_secret) = endpoint(
            &app,
            Owner::Agency(AgencyId::from_db(agency_id)),
            &agency_rx.url(),
            &[],
        )
        .await;
        for slug in [&home, &client] {
            let (_, key) = app.make_key(KeySpec {
                team: slug,
                scopes: &["admin"],
                mode: "live",
            });
            app.api(
                "POST",
                "/bots",
                &key,
                Some(json!({"name": format!("{slug} bot")})),
            )
            .await
            .assert_status(201);
        }
        run_once(&app.state).await.expect("round");
        assert_eq!(home_rx.seen().len(), 1, "its own event");
        assert_eq!(other_rx.seen().len(), 0, "no other team's event");
        let got = agency_rx.seen();
        assert_eq!(got.len(), 1, "only its client's event: {got:?}");
        let body = assert_signed(&app, &got[0], &agency_secret);
        assert_eq!(
            body["team_id"],
            team_id(&app, &client),
            "each event names its client"
        );
    })
    .await;
}

#[actix_web::test]
async fn a_delivery_claimed_by_a_worker_that_died_is_sent_once_its_lease_runs_out() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let rx = Receiver::ok().await;
        let (_, secret) = endpoint(&app, Owner::Team(team), &rx.url(), &[]).await;
        let (_, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        app.api("POST", "/bots", &key, Some(json!({"name": "Support"})))
            .await
            .assert_status(201);
        // Fan out, then a "worker" claims the delivery and dies before sending it.
        let now = app.clock().now();
        let claimed = app.db(|c| {
            latchkey::db::write_tx(c, |c| {
                latchkey::models::outbox::claim_events(c, 10).and_then(|events| {
                    let ids: Vec<_> = events.iter().map(|e| e.id.clone()).collect();
                    let ev = events
                        .iter()
                        .find(|e| e.event_type == "bot.created")
                        .expect("the bot's event");
                    let eps = latchkey::models::webhook::endpoints_for(
                        c,
                        ev.team_id.as_deref(),
                        None,
                        &ev.id,
                    )?;
                    let rows: Vec<latchkey::models::webhook::Delivery> = eps
                        .iter()
                        .map(|ep| {
                            latchkey::models::webhook::Delivery::pending(
                                latchkey::domain::ids::DeliveryId::generate_ordered(),
                                &ep.id,
                                &ev.id,
                                &ev.event_type,
                                now,
                            )
                        })
                        .collect();
                    latchkey::models::webhook::Delivery::insert_new(c, &rows)?;
                    latchkey::models::outbox::mark_fanned_out(c, &ids, now)?;
                    latchkey::models::webhook::Delivery::claim_due(c, now, 10, 60)
                })
            })
            .expect("claim")
        });
        assert_eq!(claimed.len(), 1);
        // Held by the dead worker: nobody sends it during the lease…
        assert_eq!(run_once(&app.state).await.expect("round").attempted, 0);
        app.clock().advance(61);
        // …and once it runs out, the next round does, exactly once.
        assert_eq!(run_once(&app.state).await.expect("round").succeeded, 1);
        assert_eq!(rx.seen().len(), 1);
        assert_signed(&app, &rx.seen()[0], &secret);
    })
    .await;
}

#[actix_web::test]
async fn signing_secrets_are_sealed_in_the_vault_and_survive_a_rewrap_to_a_new_master_key() {
    use latchkey::vault::{Keyring, MasterKey, stores};
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let rx = Receiver::ok().await;
        let (id, secret) = endpoint(&app, Owner::Team(team), &rx.url(), &[]).await;
        let stored: String = app.db(|c| {
            webhook_endpoints::table
                .find(&id)
                .select(webhook_endpoints::secret)
                .first(c)
                .expect("row")
        });
        assert!(stored.starts_with("v1."), "sealed: {stored}");
        assert!(!stored.contains(&secret.expose()[6..]));
        // The test app's key is [9; 32]: rotate to a new one, rewrap, then the new key alone.
        let both = Keyring::new(vec![
            MasterKey::from_bytes([4u8; 32]),
            MasterKey::from_bytes([9u8; 32]),
        ])
        .expect("ring");
        let report = app.db(|c| stores::rewrap_all(c, &both)).expect("rewrap");
        assert_eq!(report.rewrapped, 1);
        let alone = Keyring::new(vec![MasterKey::from_bytes([4u8; 32])]).expect("ring");
        let row = app
            .db(|c| latchkey::models::webhook::WebhookEndpoint::find(c, &id))
            .expect("find")
            .expect("row");
        let (opened, previous) =
            latchkey::ops::webhooks::secrets(&alone, &row, app.clock().now()).expect("opens");
        assert_eq!(opened.expose(), secret.expose());
        assert!(previous.is_none());
        let census = app.db(stores::census).expect("census");
        assert_eq!(census.get(MasterKey::from_bytes([4u8; 32]).id()), Some(&1));
    })
    .await;
}

#[actix_web::test]
async fn endpoints_are_managed_through_the_api_with_the_secret_shown_once_and_bad_input_refused() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app.make_key(KeySpec { team: &slug, scopes: &["admin"], mode: "live" });
        let rx = Receiver::ok().await;
        let before: i64 = app.db(|c| webhook_endpoints::table.count().get_result(c).expect("count"));
        for (body, field) in [
            (json!({"url": "http://example.com/hook"}), "url"),
            (json!({"url": "https://10.0.0.9/hook"}), "url"),
            (json!({"url": "https://169.254.169.254/latest"}), "url"),
            (json!({"url": "ftp://x.example/"}), "url"),
            (json!({}), "url"),
            (json!({"url": rx.url(), "event_types": ["api_key.exploded"]}), "event_types"),
            (json!({"url": rx.url(), "event_types": ["client.suspended"]}), "event_types"),
            (json!({"url": rx.url(), "colour": "red"}), "colour"),
        ] {
            let res = app.api("POST", "/webhook-endpoints", &key, Some(body.clone())).await;
            res.assert_status(422);
            assert!(res.json()["error"]["fields"][field].is_string(), "{body}: {}", res.body);
        }
        let after: i64 = app.db(|c| webhook_endpoints::table.count().get_result(c).expect("count"));
        assert_eq!(before, after, "nothing stored");

        let res = app.api("POST", "/webhook-endpoints", &key, Some(json!({"url": format!("{}/hooks", rx.url()), "description": "CRM sync", "event_types": ["bot.created", "webhook.test"]}))).await;
        res.assert_status(201);
        assert_eq!(res.header("cache-control"), "no-store");
        let created = res.json();
        let secret = created["secret"].as_str().expect("secret").to_owned();
        assert!(secret.starts_with("whsec_"));
        let id = created["id"].as_str().expect("id").to_owned();
        let shown = app.api("GET", &format!("/webhook-endpoints/{id}"), &key, None).await;
        assert!(shown.json()["secret"].is_null());
        assert!(!shown.body.contains(&secret[6..]));
        assert_eq!(shown.json()["event_types"], json!(["bot.created", "webhook.test"]));
        let listed = app.api("GET", "/webhook-endpoints", &key, None).await;
        assert!(!listed.body.contains(&secret[6..]));

        // A test event reaches it, signed with the revealed secret.
        let res = app.api("POST", &format!("/webhook-endpoints/{id}/test"), &key, None).await;
        res.assert_status(202);
        run_once(&app.state).await.expect("round");
        let secret = SigningSecret::parse(&secret).expect("parses");
        let body = assert_signed(&app, &rx.seen()[0], &secret);
        assert_eq!(body["type"], "webhook.test");
        assert_eq!(body["actor"]["type"], "api_key", "the shape every payload has: {body}");
        assert_eq!(body["data"]["object"]["type"], "webhook_endpoint");
        assert_eq!(rx.seen()[0].target, "/hooks");

        // Rotation with a 24-hour overlap: both secrets sign the Standard Webhooks header, the
        // old one still signs X-Chatbot-Signature; after the overlap only the new one.
        let res = app.api("POST", &format!("/webhook-endpoints/{id}/rotate-secret"), &key, Some(json!({"overlap_seconds": 86400}))).await;
        res.assert_status(200);
        let fresh = SigningSecret::parse(res.json()["secret"].as_str().expect("secret")).expect("parses");
        app.api("POST", "/bots", &key, Some(json!({"name": "Support"}))).await.assert_status(201);
        run_once(&app.state).await.expect("round");
        let seen = rx.seen().pop().expect("delivered");
        let payload = payload_of(&app, seen.header("webhook-id").expect("id"));
        assert_eq!(seen.header("x-chatbot-signature"), Some(chatbot_signature(&secret, payload.as_bytes()).as_str()));
        let ts: i64 = seen.header("webhook-timestamp").expect("ts").parse().expect("n");
        let both = format!(
            "{} {}",
            standard_signature(&fresh, seen.header("webhook-id").expect("id"), ts, payload.as_bytes()),
            standard_signature(&secret, seen.header("webhook-id").expect("id"), ts, payload.as_bytes())
        );
        assert_eq!(seen.header("webhook-signature"), Some(both.as_str()));
        app.clock().advance(86_401);
        app.api("POST", &format!("/webhook-endpoints/{id}/test"), &key, None).await.assert_status(202);
        run_once(&app.state).await.expect("round");
        assert_signed(&app, &rx.seen().pop().expect("delivered"), &fresh);

        // Disabled: nothing is sent; another team's key and a test key cannot see it.
        let res = app.api("PATCH", &format!("/webhook-endpoints/{id}"), &key, Some(json!({"enabled": false}))).await;
        assert_eq!(res.json()["enabled"], false);
        let count = rx.seen().len();
        app.api("POST", "/bots", &key, Some(json!({"name": "Two"}))).await.assert_status(201);
        run_once(&app.state).await.expect("round");
        assert_eq!(rx.seen().len(), count);
        let other = app.team_owned_by("ada@example.com", "Globex");
        let (_, foreign) = app.make_key(KeySpec { team: &other, scopes: &["admin"], mode: "live" });
        let missing = format!("/webhook-endpoints/whe_{}", "0".repeat(20));
        let theirs = app.api("GET", &format!("/webhook-endpoints/{id}"), &foreign, None).await;
        theirs.assert_status(404);
        assert_eq!(theirs.body, app.api("GET", &missing, &foreign, None).await.body);
        app.api("DELETE", &format!("/webhook-endpoints/{id}"), &foreign, None).await.assert_status(404);
        let (_, test_key) = app.make_key(KeySpec { team: &slug, scopes: &["admin"], mode: "test" });
        app.api("GET", "/webhook-endpoints", &test_key, None).await.assert_status(403);
        app.api("DELETE", &format!("/webhook-endpoints/{id}"), &key, None).await.assert_status(200);
        app.api("GET", &format!("/webhook-endpoints/{id}"), &key, None).await.assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn the_seed_verifier_under_express_and_the_standard_webhooks_library_accept_every_delivery() {
    use std::io::BufRead;
    each_db(|app| async move {
        // Real time: the Standard Webhooks library refuses timestamps five minutes off.
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        app.clock()
            .advance(i64::try_from(real).expect("secs") - app.clock().now());
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let (_, seed_secret) = endpoint(
            &app,
            Owner::Team(team.clone()),
            &format!("{base}/webhook"),
            &[],
        )
        .await;
        let (_, std_secret) =
            endpoint(&app, Owner::Team(team), &format!("{base}/standard"), &[]).await;
        let mut node = NodeReceiver(
            std::process::Command::new("node")
                .arg("tests/webhooks/receiver.js")
                .env("PORT", port.to_string())
                .env("WEBHOOK_SECRET", seed_secret.expose())
                .env("STANDARD_SECRET", std_secret.expose())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("node runs the receiver (CI runs npm ci in tests/webhooks)"),
        );
        let mut line = String::new();
        std::io::BufReader::new(node.0.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("receiver starts");
        assert_eq!(line.trim(), "listening");

        // Changes of many event types, through the API.
        let (_, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        let bot = app
            .api(
                "POST",
                "/bots",
                &key,
                Some(json!({"name": "Support \u{e9}\u{1f600} \"quoted\""})),
            )
            .await
            .json()["id"]
            .as_str()
            .expect("bot")
            .to_owned();
        app.api(
            "PATCH",
            &format!("/bots/{bot}"),
            &key,
            Some(json!({"description": "<b>line\nbreak</b> & \\ back"})),
        )
        .await
        .assert_status(200);
        let ch = app
            .api(
                "POST",
                "/channels",
                &key,
                Some(json!({"bot_id": bot, "kind": "web", "name": "Site"})),
            )
            .await
            .json()["id"]
            .as_str()
            .expect("ch")
            .to_owned();
        app.api(
            "PATCH",
            &format!("/channels/{ch}"),
            &key,
            Some(json!({"name": "Site 2"})),
        )
        .await
        .assert_status(200);
        app.api("DELETE", &format!("/channels/{ch}"), &key, None)
            .await
            .assert_status(200);
        let created = app
            .api(
                "POST",
                "/api-keys",
                &key,
                Some(json!({"name": "CI", "scopes": ["bots:read"]})),
            )
            .await;
        let new_key = created.json()["id"].as_str().expect("key").to_owned();
        app.api(
            "PATCH",
            &format!("/api-keys/{new_key}"),
            &key,
            Some(json!({"name": "CI 2"})),
        )
        .await
        .assert_status(200);
        app.api(
            "POST",
            &format!("/api-keys/{new_key}/rotate"),
            &key,
            Some(json!({"grace_period_seconds": 3600})),
        )
        .await
        .assert_status(201);
        app.api("DELETE", &format!("/bots/{bot}"), &key, None)
            .await
            .assert_status(200);
        let conv = app
            .api(
                "POST",
                "/conversations",
                &key,
                Some(json!({"title": "Hi", "messages": [{"role": "user", "content": "Hello"}]})),
            )
            .await
            .json()["id"]
            .as_str()
            .expect("conv")
            .to_owned();
        app.api("DELETE", &format!("/conversations/{conv}"), &key, None)
            .await
            .assert_status(200);

        let mut sent = 0;
        for _ in 0..10 {
            let round = run_once(&app.state).await.expect("round");
            sent += round.attempted;
            if round.attempted == 0 && round.fanned_out == 0 {
                break;
            }
        }
        let stats = receiver_stats(&base).await;
        assert_eq!(stats["seed"]["rejected"], 0, "{stats}");
        assert_eq!(stats["standard"]["rejected"], 0, "{stats}");
        let seed = stats["seed"]["accepted"].as_array().expect("list").len();
        let standard = stats["standard"]["accepted"]
            .as_array()
            .expect("list")
            .len();
        assert_eq!(seed + standard, sent, "every delivery verified: {stats}");
        assert_eq!(seed, standard);
        let types: std::collections::BTreeSet<&str> = stats["seed"]["accepted"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for t in [
            "bot.created",
            "bot.updated",
            "bot.deleted",
            "channel.created",
            "channel.updated",
            "channel.deleted",
            "api_key.created",
            "api_key.updated",
            "api_key.rotated",
            "conversation.created",
            "conversation.deleted",
        ] {
            assert!(
                types.contains(t),
                "{t} was delivered and verified: {types:?}"
            );
        }

        // The verifiers refuse what is not a real delivery: one changed byte, the signature
        // without `sha256=`, upper-case hex, and (Standard Webhooks) a stale timestamp.
        let body = app.db(|c| {
            outbox_events::table
                .filter(outbox_events::event_type.eq("bot.created"))
                .select(outbox_events::payload)
                .first::<String>(c)
                .expect("payload")
        });
        let good = chatbot_signature(&seed_secret, body.as_bytes());
        let hex = good.trim_start_matches("sha256=").to_owned();
        let changed = body.replacen("\"type\":\"bot", "\"type\":\"Bot", 1);
        assert_eq!(changed.len(), body.len());
        let client = reqwest::Client::new();
        let post_seed = |b: String, sig: String| {
            client
                .post(format!("{base}/webhook"))
                .header("content-type", "application/json")
                .header("x-chatbot-signature", sig)
                .body(b)
                .send()
        };
        assert_eq!(
            post_seed(body.clone(), good.clone())
                .await
                .expect("post")
                .status(),
            200,
            "the genuine article passes"
        );
        for (b, sig) in [
            (changed, good.clone()),
            (body.clone(), hex.clone()),
            (body.clone(), format!("sha256={}", hex.to_uppercase())),
        ] {
            assert_eq!(post_seed(b, sig).await.expect("post").status(), 401);
        }
        let stale = app.clock().now() - 600;
        let resp = client
            .post(format!("{base}/standard"))
            .header("content-type", "application/json")
            .header("webhook-id", "evt_stale")
            .header("webhook-timestamp", stale.to_string())
            .header(
                "webhook-signature",
                standard_signature(&std_secret, "evt_stale", stale, body.as_bytes()),
            )
            .body(body.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), 401, "a stale timestamp is refused");
        let stats = receiver_stats(&base).await;
        assert_eq!(stats["seed"]["rejected"], 3, "{stats}");
        assert_eq!(stats["standard"]["rejected"], 1, "{stats}");
    })
    .await;
}

/// The Node receiver, killed when the test ends (also on a panic, so it never outlives the
/// test holding its output pipe).
struct NodeReceiver(std::process::Child);

impl Drop for NodeReceiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn receiver_stats(base: &str) -> Value {
    let text = reqwest::get(format!("{base}/stats"))
        .await
        .expect("stats")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&text).expect("json")
}

#[actix_web::test]
async fn keys_announce_expiring_expired_and_a_grace_period_s_end_once_each() {
    use latchkey::db::schema::api_keys;
    use latchkey::jobs::key_notices;
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let rx = Receiver::ok().await;
        endpoint(&app, Owner::Team(team), &rx.url(), &[]).await;
        let day = 86_400;
        let now = app.clock().now();
        let spec = || KeySpec {
            team: &slug,
            scopes: &["bots:read"],
            mode: "live",
        };
        let set_expiry = |id: &str, at: Option<i64>| {
            app.db(|c| {
                diesel::update(api_keys::table.find(id))
                    .set(api_keys::expires_at.eq(at))
                    .execute(c)
                    .expect("expiry")
            })
        };
        let (soon, _) = app.make_key(spec());
        set_expiry(&soon, Some(now + 6 * day));
        let (later, _) = app.make_key(spec());
        set_expiry(&later, Some(now + 30 * day));
        let (long_gone, _) = app.make_key(spec());
        set_expiry(&long_gone, Some(now - 10 * day));
        let (_, admin) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        let (rotated, _) = app.make_key(spec());
        app.api(
            "POST",
            &format!("/api-keys/{rotated}/rotate"),
            &admin,
            Some(json!({"grace_period_seconds": 3600})),
        )
        .await
        .assert_status(201);

        // Now: the seven-day notice for `soon`, nothing for the others; once.
        assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
        assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 0);
        // Two hours on: the rotated key's grace period ended by itself.
        app.clock().advance(2 * 3600);
        assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
        // Five and a half days on: within a day of expiry; then past it.
        app.clock().advance(5 * day + 12 * 3600 - 2 * 3600);
        assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
        app.clock().advance(day);
        assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
        assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 0);

        for _ in 0..5 {
            run_once(&app.state).await.expect("round");
        }
        // Deliveries may arrive in any order; event ids sort by time.
        let mut bodies: Vec<Value> = rx
            .seen()
            .iter()
            .map(|s| serde_json::from_slice(&s.body).expect("json"))
            .filter(|b: &Value| b["type"] != "api_key.rotated")
            .collect();
        bodies.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let summary: Vec<(String, String, Value)> = bodies
            .iter()
            .map(|b| {
                (
                    b["type"].as_str().unwrap_or_default().to_owned(),
                    b["data"]["object"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    b["data"]["detail"]["days"].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("api_key.expiring".to_owned(), soon.clone(), json!(7)),
                (
                    "api_key.grace_ended".to_owned(),
                    rotated.clone(),
                    Value::Null
                ),
                ("api_key.expiring".to_owned(), soon.clone(), json!(1)),
                ("api_key.expired".to_owned(), soon.clone(), Value::Null),
            ]
        );
        assert_eq!(bodies[0]["actor"]["type"], "system");
        assert_eq!(
            bodies[0]["data"]["detail"]["expires_at"],
            json!(now + 6 * day)
        );
        assert!(
            bodies[0]["data"]["detail"]["masked"]
                .as_str()
                .is_some_and(|m| m.starts_with("sk_live_") && m.contains('…')),
            "a masked key, never the secret: {}",
            bodies[0]
        );
        let _ = (later, long_gone);
    })
    .await;
}

#[actix_web::test]
async fn the_platform_s_executor_reports_runs_and_endpoints_hear_them_start_and_finish() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let other = app.team_owned_by("ada@example.com", "Globex");
        let team = TeamId::from_db(team_id(&app, &slug));
        let rx = Receiver::ok().await;
        endpoint(
            &app,
            Owner::Team(team),
            &rx.url(),
            &["agent_loop.run.started", "agent_loop.run.finished"],
        )
        .await;
        let (_, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["agent-loops:write"],
            mode: "live",
        });
        let lp = app
            .api(
                "POST",
                "/agent-loops",
                &key,
                Some(json!({"name": "Nightly"})),
            )
            .await
            .json()["id"]
            .as_str()
            .expect("loop")
            .to_owned();
        let queued = app
            .api(
                "POST",
                &format!("/agent-loops/{lp}/runs"),
                &key,
                Some(json!({})),
            )
            .await;
        queued.assert_status(202);
        assert_eq!(queued.json()["started_at"], Value::Null);
        let run = queued.json()["id"].as_str().expect("run").to_owned();
        let url = format!("/agent-loops/{lp}/runs/{run}");

        // Bad reports: 422 with the field's message, nothing written.
        for body in [
            json!({}),
            json!({"status": "queued"}),
            json!({"status": "done"}),
            json!({"status": 1}),
        ] {
            let res = app.api("PATCH", &url, &key, Some(body.clone())).await;
            res.assert_status(422);
            assert!(res.body.contains("\"status\""), "{body}: {}", res.body);
        }
        // Another team's key, a run id that is not one: 404.
        let (_, foreign) = app.make_key(KeySpec {
            team: &other,
            scopes: &["agent-loops:write"],
            mode: "live",
        });
        app.api("PATCH", &url, &foreign, Some(json!({"status": "running"})))
            .await
            .assert_status(404);
        app.api(
            "PATCH",
            &format!("/agent-loops/{lp}/runs/nope"),
            &key,
            Some(json!({"status": "running"})),
        )
        .await
        .assert_status(404);

        let running = app
            .api("PATCH", &url, &key, Some(json!({"status": "running"})))
            .await;
        running.assert_status(200);
        assert_eq!(running.json()["status"], "running");
        assert!(running.json()["started_at"].is_string());
        // The same report twice is one event.
        app.api("PATCH", &url, &key, Some(json!({"status": "running"})))
            .await
            .assert_status(200);
        let done = app
            .api("PATCH", &url, &key, Some(json!({"status": "failed"})))
            .await;
        done.assert_status(200);
        assert!(done.json()["finished_at"].is_string());
        let refused = app
            .api("PATCH", &url, &key, Some(json!({"status": "succeeded"})))
            .await;
        refused.assert_status(422);
        assert!(
            refused.body.contains("The run already failed"),
            "{}",
            refused.body
        );

        for _ in 0..3 {
            run_once(&app.state).await.expect("round");
        }
        let mut bodies: Vec<Value> = rx
            .seen()
            .iter()
            .map(|s| serde_json::from_slice(&s.body).expect("json"))
            .collect();
        bodies.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let got: Vec<(&str, &str)> = bodies
            .iter()
            .map(|b| {
                (
                    b["type"].as_str().unwrap_or_default(),
                    b["data"]["detail"]["status"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("agent_loop.run.started", "running"),
                ("agent_loop.run.finished", "failed")
            ]
        );
        assert_eq!(bodies[0]["data"]["detail"]["run_id"], run.as_str());
    })
    .await;
}

#[actix_web::test]
async fn the_delivery_log_replay_and_retry_now_are_on_v1_as_in_the_dashboard() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let team = TeamId::from_db(team_id(&app, &slug));
        let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let f = failing.clone();
        let rx = Receiver::start(move |_| {
            if f.load(std::sync::atomic::Ordering::SeqCst) {
                json_reply(500, r#"{"error":"down"}"#)
            } else {
                json_reply(200, "{}")
            }
        })
        .await;
        let (ep, _) = endpoint(&app, Owner::Team(team.clone()), &rx.url(), &[]).await;
        let (_, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        for name in ["One", "Two"] {
            app.api("POST", "/bots", &key, Some(json!({"name": name})))
                .await
                .assert_status(201);
        }
        run_once(&app.state).await.expect("round");
        let base = format!("/webhook-endpoints/{ep}/deliveries");

        // The log: newest first, both retrying after one 500 each.
        let list = app.api("GET", &base, &key, None).await;
        list.assert_status(200);
        let v = list.json();
        let data = v["data"].as_array().expect("list");
        assert_eq!(data.len(), 2, "{v}");
        assert!(
            data.iter()
                .all(|d| d["status"] == "pending" && d["attempts"] == 1)
        );
        assert!(data.iter().all(|d| d["last_status_code"] == 500));
        assert!(data.iter().all(|d| d["event_type"] == "bot.created"));
        assert!(data[0]["next_attempt_at"].is_string());
        let (newest, oldest) = (
            data[0]["id"].as_str().expect("id").to_owned(),
            data[1]["id"].as_str().expect("id").to_owned(),
        );
        assert!(newest > oldest);
        // Pages and filters.
        let page = app
            .api(
                "GET",
                &format!("{base}?limit=1&starting_after={newest}"),
                &key,
                None,
            )
            .await
            .json();
        assert_eq!(page["data"][0]["id"], oldest.as_str());
        assert_eq!(page["has_more"], false);
        let none = app
            .api("GET", &format!("{base}?status=succeeded"), &key, None)
            .await
            .json();
        assert_eq!(none["data"], json!([]));
        for (query, field) in [
            ("status=lost", "status"),
            ("event_type=bot.exploded", "event_type"),
            ("starting_after=whd_00000000000000000000", "starting_after"),
            ("limit=0", "limit"),
        ] {
            let res = app.api("GET", &format!("{base}?{query}"), &key, None).await;
            res.assert_status(422);
            assert!(
                res.json()["error"]["fields"][field].is_string(),
                "{query}: {}",
                res.body
            );
        }

        // One delivery: its attempts and the exact bytes sent.
        let one = app
            .api("GET", &format!("{base}/{newest}"), &key, None)
            .await;
        one.assert_status(200);
        let d = one.json();
        let event = d["event_id"].as_str().expect("event");
        assert_eq!(d["body"], payload_of(&app, event).as_str());
        assert_eq!(d["attempt_log"][0]["status_code"], 500);
        assert_eq!(
            d["attempt_log"][0]["response_excerpt"],
            r#"{"error":"down"}"#
        );

        // The receiver is back: retry now sends both at once, without waiting for the schedule.
        failing.store(false, std::sync::atomic::Ordering::SeqCst);
        let bad = app
            .api(
                "POST",
                &format!("/webhook-endpoints/{ep}/retry"),
                &key,
                Some(json!({"window_seconds": 60})),
            )
            .await;
        bad.assert_status(422);
        assert!(bad.json()["error"]["fields"]["window_seconds"].is_string());
        let retry = app
            .api(
                "POST",
                &format!("/webhook-endpoints/{ep}/retry"),
                &key,
                Some(json!({})),
            )
            .await;
        retry.assert_status(202);
        assert_eq!(
            retry.json(),
            json!({"object": "webhook_replay", "count": 2})
        );
        assert_eq!(run_once(&app.state).await.expect("round").succeeded, 2);
        let done = app
            .api("GET", &format!("{base}?status=succeeded"), &key, None)
            .await
            .json();
        assert_eq!(done["data"].as_array().map(Vec::len), Some(2));

        // Replay one delivered delivery: sent again with the same event id.
        let replay = app
            .api("POST", &format!("{base}/{oldest}/replay"), &key, None)
            .await;
        replay.assert_status(202);
        assert_eq!(replay.json()["count"], 1);
        assert_eq!(run_once(&app.state).await.expect("round").succeeded, 1);
        let seen = rx.seen();
        let last = seen.last().expect("sent");
        let oldest_event = app
            .api("GET", &format!("{base}/{oldest}"), &key, None)
            .await
            .json()["event_id"]
            .as_str()
            .expect("event")
            .to_owned();
        assert_eq!(last.header("webhook-id"), Some(oldest_event.as_str()));

        // Audited like the dashboard's replays.
        let audited: i64 = app.db(|c| {
            latchkey::db::schema::audit_events::table
                .filter(latchkey::db::schema::audit_events::action.eq("webhook_endpoint.replayed"))
                .count()
                .get_result(c)
                .expect("count")
        });
        assert_eq!(audited, 2);

        // Another team's endpoint and deliveries are 404, as is a delivery of another endpoint.
        let other = app.team_owned_by("ada@example.com", "Evil");
        let (_, eve) = app.make_key(KeySpec {
            team: &other,
            scopes: &["admin"],
            mode: "live",
        });
        app.api("GET", &base, &eve, None).await.assert_status(404);
        app.api("GET", &format!("{base}/{newest}"), &eve, None)
            .await
            .assert_status(404);
        app.api("POST", &format!("{base}/{newest}/replay"), &eve, None)
            .await
            .assert_status(404);
        app.api(
            "POST",
            &format!("/webhook-endpoints/{ep}/retry"),
            &eve,
            Some(json!({})),
        )
        .await
        .assert_status(404);
        let (ep2, _) = endpoint(&app, Owner::Team(team), &rx.url(), &[]).await;
        app.api(
            "GET",
            &format!("/webhook-endpoints/{ep2}/deliveries/{newest}"),
            &key,
            None,
        )
        .await
        .assert_status(404);
        // A test-mode key does not manage webhooks.
        let (_, test_key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "test",
        });
        app.api("GET", &base, &test_key, None)
            .await
            .assert_status(403);
    })
    .await;
}

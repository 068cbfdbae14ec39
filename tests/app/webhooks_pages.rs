//! Team settings → Webhooks and the agency's Webhooks page: add an endpoint (the signing
//! secret shown once, `no-store`), bad input refused with messages and nothing written, the
//! delivery log with filters, test events, replay, rotation with an overlap, disable and
//! re-enable (also after a `410` or five days of failures), who may do what, and another
//! tenant's endpoint as a 404.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use diesel::prelude::*;
use latchkey::db::schema::{audit_events, webhook_deliveries, webhook_endpoints};
use latchkey::domain::role::Role;
use latchkey::jobs::webhooks::run_once;

use crate::helpers::{PASSWORD, TestApp, each_db};
use crate::receiver::{Receiver, json_reply};

fn endpoint_count(app: &TestApp) -> i64 {
    app.db(|c| {
        webhook_endpoints::table
            .count()
            .get_result(c)
            .expect("count")
    })
}

fn only_endpoint(app: &TestApp) -> String {
    app.db(|c| {
        webhook_endpoints::table
            .select(webhook_endpoints::id)
            .first(c)
            .expect("endpoint")
    })
}

/// Adds an endpoint through the no-JS form; returns the response (the secret page).
async fn add(app: &TestApp, list: &str, url: &str, extra: &[(&str, &str)]) -> crate::helpers::Resp {
    let form = app.get(&format!("{list}/new")).await;
    form.assert_status(200);
    let csrf = form.csrf();
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("url", url),
        ("description", "CRM sync"),
    ];
    fields.extend_from_slice(extra);
    app.post(list, &fields).await
}

/// A receiver that answers 500 `{"error":"down"}` until `healed` is set, then 200.
async fn down_until_healed() -> (Receiver, Arc<AtomicUsize>) {
    let healed = Arc::new(AtomicUsize::new(0));
    let flag = healed.clone();
    let rx = Receiver::start(move |_| {
        if flag.load(Ordering::SeqCst) == 0 {
            json_reply(500, r#"{"error":"down"}"#)
        } else {
            json_reply(200, "{}")
        }
    })
    .await;
    (rx, healed)
}

/// Runs delivery rounds until nothing is left to do now.
async fn drain(app: &TestApp) {
    for _ in 0..10 {
        let r = run_once(&app.state).await.expect("round");
        if r.attempted == 0 && r.fanned_out == 0 {
            break;
        }
    }
}

#[actix_web::test]
async fn an_admin_adds_an_endpoint_sees_its_secret_once_and_reads_its_delivery_log() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/webhooks");
        let page = app.get(&list).await;
        page.assert_status(200);
        assert!(page.body.contains("No endpoints yet"));
        assert!(page.body.contains("data-testid=\"nav-webhooks\""));
        let form = app.get(&format!("{list}/new")).await;
        for t in [
            "api_key.created",
            "member.invited",
            "bot.deleted",
            "webhook.test",
        ] {
            assert!(
                form.body.contains(&format!("value=\"{t}\"")),
                "{t} is offered"
            );
        }
        assert!(
            !form.body.contains("value=\"client.suspended\""),
            "agency-only types are not offered to a team"
        );

        // Bad input of every kind: 422 with the field's message, nothing written.
        let rx = Receiver::ok().await;
        for (url, extra, message) in [
            ("", vec![], "Enter the URL that receives the events."),
            (
                "not a url",
                vec![],
                "Enter an absolute https:// URL without credentials.",
            ),
            (
                "https://user:pw@example.com/x",
                vec![],
                "without credentials",
            ),
            ("http://10.0.0.8/hook", vec![], "private"),
            (
                "ftp://example.com/x",
                vec![],
                "Enter an absolute https:// URL",
            ),
            (
                rx.url().as_str(),
                vec![("events", "selected")],
                "Tick at least one event type, or choose All events.",
            ),
            (
                rx.url().as_str(),
                vec![("events", "selected"), ("event_types", "api_key.exploded")],
                "Unknown event type: api_key.exploded.",
            ),
            (
                rx.url().as_str(),
                vec![("events", "selected"), ("event_types", "client.suspended")],
                "client.suspended goes to agency endpoints only.",
            ),
        ] {
            let res = add(&app, &list, url, &extra).await;
            res.assert_status(422);
            assert!(res.body.contains(message), "{url}: {message}\n{}", res.body);
            assert!(res.body.contains("Nothing was saved"));
            assert_eq!(endpoint_count(&app), 0, "{url}: nothing written");
        }

        // Added: the secret on this page only, never cached.
        let res = add(
            &app,
            &list,
            &rx.url(),
            &[
                ("events", "selected"),
                ("event_types", "webhook.test"),
                ("event_types", "bot.created"),
            ],
        )
        .await;
        res.assert_status(200);
        assert_eq!(res.header("cache-control"), "no-store");
        let secret = res
            .body
            .split("value=\"whsec_")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(|s| format!("whsec_{s}"))
            .expect("the secret is shown");
        assert!(res.body.contains("Copy the signing secret now"));
        let id = only_endpoint(&app);
        let page = app.get(&list).await;
        assert!(page.body.contains(&rx.url()));
        assert!(page.body.contains("webhook.test, bot.created"));
        assert!(!page.body.contains(&secret), "never shown again");
        let show_url = format!("{list}/{id}");
        let show = app.get(&show_url).await;
        show.assert_status(200);
        assert!(!show.body.contains(&secret));
        assert!(show.body.contains("No deliveries yet"));

        // Send test event → delivered by the job → in the log with its attempt.
        let res = app
            .post(&format!("{show_url}/test"), &[("csrf_token", &show.csrf())])
            .await;
        res.assert_status(303);
        assert_eq!(res.location(), show_url);
        drain(&app).await;
        assert_eq!(rx.seen().len(), 1);
        let show = app.get(&show_url).await;
        assert!(show.body.contains("queued"), "the flash says so");
        assert!(show.body.contains("webhook.test"));
        assert!(show.body.contains("Succeeded"));
        assert!(show.body.contains("100 % of 1 attempt succeeded in 24 h"));
        assert!(show.body.contains("#1 · 200 ·"));

        // Filters: nothing failed yet; by event type.
        let failed = app.get(&format!("{show_url}?status=failed")).await;
        assert!(failed.body.contains("No deliveries match"));
        let by_type = app.get(&format!("{show_url}?event=webhook.test")).await;
        assert!(by_type.body.contains("data-testid=\"delivery-row\""));
        let other_type = app.get(&format!("{show_url}?event=bot.created")).await;
        assert!(other_type.body.contains("No deliveries match"));

        // Replay one: sent again with the same webhook-id and bytes.
        let delivery: String = app.db(|c| {
            webhook_deliveries::table
                .select(webhook_deliveries::id)
                .first(c)
                .expect("delivery")
        });
        app.post(
            &format!("{show_url}/deliveries/{delivery}/replay"),
            &[("csrf_token", &show.csrf())],
        )
        .await
        .assert_status(303);
        drain(&app).await;
        let seen = rx.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].body, seen[1].body);
        assert_eq!(seen[0].header("webhook-id"), seen[1].header("webhook-id"));
        let replayed: i64 = app.db(|c| {
            audit_events::table
                .filter(audit_events::action.eq("webhook_endpoint.replayed"))
                .count()
                .get_result(c)
                .expect("count")
        });
        assert_eq!(replayed, 1);

        // Edit: URL and events, bad input refused the same way.
        let edit = app.get(&format!("{show_url}/edit")).await;
        edit.assert_status(200);
        assert!(edit.body.contains("value=\"bot.created\" checked"));
        let res = app
            .post(
                &show_url,
                &[
                    ("csrf_token", &edit.csrf()),
                    ("url", "http://192.168.1.1/x"),
                    ("events", "all"),
                ],
            )
            .await;
        res.assert_status(422);
        let res = app
            .post(
                &show_url,
                &[
                    ("csrf_token", &edit.csrf()),
                    ("url", &rx.url()),
                    ("description", "All of it"),
                    ("events", "all"),
                ],
            )
            .await;
        res.assert_status(303);
        let types: String = app.db(|c| {
            webhook_endpoints::table
                .select(webhook_endpoints::event_types)
                .first(c)
                .expect("types")
        });
        assert_eq!(types, "*");

        // Delete: gone, and so is its log.
        let confirm = app.get(&format!("{show_url}/delete")).await;
        assert!(confirm.body.contains("Delete this endpoint?"));
        app.post(
            &format!("{show_url}/delete"),
            &[("csrf_token", &confirm.csrf())],
        )
        .await
        .assert_status(303);
        assert_eq!(endpoint_count(&app), 0);
        app.get(&show_url).await.assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn rotation_shows_the_new_secret_once_and_says_how_long_the_old_one_signs() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/webhooks");
        let rx = Receiver::ok().await;
        add(&app, &list, &rx.url(), &[("events", "all")])
            .await
            .assert_status(200);
        let show_url = format!("{list}/{}", only_endpoint(&app));
        let form = app.get(&format!("{show_url}/rotate")).await;
        form.assert_status(200);
        assert!(form.body.contains("In 24 hours"));
        assert!(
            form.body
                .contains("stays signed with the <strong>old</strong> secret")
        );
        let res = app
            .post(
                &format!("{show_url}/rotate"),
                &[("csrf_token", &form.csrf()), ("overlap", "3600")],
            )
            .await;
        res.assert_status(422);
        assert!(
            res.body
                .contains("Choose when the old secret stops signing")
        );
        let res = app
            .post(
                &format!("{show_url}/rotate"),
                &[("csrf_token", &form.csrf()), ("overlap", "86400")],
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.header("cache-control"), "no-store");
        assert!(res.body.contains("value=\"whsec_"));
        assert!(res.body.contains("the old secret keeps signing"));
        let until: Option<i64> = app.db(|c| {
            webhook_endpoints::table
                .select(webhook_endpoints::previous_until)
                .first(c)
                .expect("row")
        });
        assert_eq!(until, Some(app.clock().now() + 86_400));
        let show = app.get(&show_url).await;
        assert!(show.body.contains("Secret rotation in progress"));
        assert!(!show.body.contains("value=\"whsec_"));
        // The audit log says it in words (it once showed "secret_rotated webhook endpoint").
        let log = app.get(&format!("/teams/{slug}/settings/audit-log")).await;
        assert!(
            log.body
                .contains("Rotated the signing secret of webhook endpoint")
        );
        assert!(!log.body.contains("secret_rotated webhook endpoint"));
    })
    .await;
}

#[actix_web::test]
async fn a_disabled_endpoint_shows_why_holds_its_events_and_is_re_enabled_from_the_banner() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/webhooks");
        // 410 on the first call, 200 after.
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let rx = Receiver::start(move |_| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                json_reply(410, "{}")
            } else {
                json_reply(200, "{}")
            }
        })
        .await;
        add(&app, &list, &rx.url(), &[("events", "all")])
            .await
            .assert_status(200);
        let show_url = format!("{list}/{}", only_endpoint(&app));
        let show = app.get(&show_url).await;
        app.post(&format!("{show_url}/test"), &[("csrf_token", &show.csrf())])
            .await
            .assert_status(303);
        drain(&app).await;
        let show = app.get(&show_url).await;
        assert!(show.body.contains("data-testid=\"disabled-banner\""));
        assert!(show.body.contains("The endpoint answered 410 Gone."));
        assert!(show.body.contains("Re-enable endpoint"));
        let listed = app.get(&list).await;
        assert!(listed.body.contains("data-testid=\"endpoint-disabled\""));

        // While disabled, a test event waits (not attempted); enabling sends it.
        app.post(&format!("{show_url}/test"), &[("csrf_token", &show.csrf())])
            .await
            .assert_status(303);
        drain(&app).await;
        assert_eq!(rx.seen().len(), 1, "nothing is sent while disabled");
        app.post(
            &format!("{show_url}/enable"),
            &[("csrf_token", &show.csrf())],
        )
        .await
        .assert_status(303);
        drain(&app).await;
        assert_eq!(rx.seen().len(), 2);
        let show = app.get(&show_url).await;
        assert!(!show.body.contains("data-testid=\"disabled-banner\""));

        // Disable by hand, and the button to undo it.
        app.post(
            &format!("{show_url}/disable"),
            &[("csrf_token", &show.csrf())],
        )
        .await
        .assert_status(303);
        let show = app.get(&show_url).await;
        assert!(show.body.contains("Disabled by a person."));
    })
    .await;
}

#[actix_web::test]
async fn five_days_of_nothing_but_failures_disables_an_endpoint_and_replay_failed_sends_them_again()
{
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/webhooks");
        let (rx, healthy) = down_until_healed().await;
        add(&app, &list, &rx.url(), &[("events", "all")])
            .await
            .assert_status(200);
        let show_url = format!("{list}/{}", only_endpoint(&app));
        // A test event a day, the job running every four hours: every attempt fails and is
        // retried on the schedule (the oldest run out after about three days). The endpoint
        // stays enabled through under five days of failures; the first failure after five
        // days disables it.
        for day in 0..6 {
            // A day idle ends the session: sign in again.
            app.sign_in("ada@example.com", PASSWORD).await;
            let show = app.get(&show_url).await;
            app.post(&format!("{show_url}/test"), &[("csrf_token", &show.csrf())])
                .await
                .assert_status(303);
            for _ in 0..6 {
                drain(&app).await;
                app.clock().advance(4 * 3600);
            }
            let enabled: bool = app.db(|c| {
                webhook_endpoints::table
                    .select(webhook_endpoints::enabled)
                    .first(c)
                    .expect("row")
            });
            assert_eq!(enabled, day < 5, "day {day}");
        }
        app.sign_in("ada@example.com", PASSWORD).await;
        let show = app.get(&show_url).await;
        assert!(show.body.contains("Every delivery failed for five days."));
        assert!(show.body.contains("Failed") || show.body.contains("Retrying"));
        assert!(show.body.contains("500 ·"));
        assert!(show.body.contains("down"), "the excerpt: {}", show.body);

        // The receiver is fixed: re-enable, then replay what failed in the last 7 days.
        healthy.store(1, Ordering::SeqCst);
        app.post(
            &format!("{show_url}/enable"),
            &[("csrf_token", &show.csrf())],
        )
        .await
        .assert_status(303);
        drain(&app).await;
        let failed: i64 = app.db(|c| {
            webhook_deliveries::table
                .filter(webhook_deliveries::status.eq("failed"))
                .count()
                .get_result(c)
                .expect("count")
        });
        assert!(failed > 0, "the oldest ran out of retries");
        let undelivered: i64 = app.db(|c| {
            webhook_deliveries::table
                .filter(webhook_deliveries::status.ne("succeeded"))
                .count()
                .get_result(c)
                .expect("count")
        });
        let res = app
            .post(
                &format!("{show_url}/replay"),
                &[("csrf_token", &show.csrf()), ("window", "604800")],
            )
            .await;
        res.assert_status(303);
        drain(&app).await;
        let show = app.get(&show_url).await;
        assert!(
            show.body
                .contains(&format!("{undelivered} failed or retrying deliver")),
            "{}",
            show.body
        );
        let left: i64 = app.db(|c| {
            webhook_deliveries::table
                .filter(webhook_deliveries::status.ne("succeeded"))
                .count()
                .get_result(c)
                .expect("count")
        });
        assert_eq!(left, 0, "every delivery went through in the end");
        let bad = app
            .post(
                &format!("{show_url}/replay"),
                &[("csrf_token", &show.csrf()), ("window", "5")],
            )
            .await;
        bad.assert_status(303);
        let show = app.get(&show_url).await;
        assert!(show.body.contains("Choose how far back"));
    })
    .await;
}

#[actix_web::test]
async fn retry_now_sends_deliveries_still_retrying_without_waiting_for_their_schedule() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/webhooks");
        let (rx, healthy) = down_until_healed().await;
        add(&app, &list, &rx.url(), &[("events", "all")])
            .await
            .assert_status(200);
        let show_url = format!("{list}/{}", only_endpoint(&app));
        let show = app.get(&show_url).await;
        app.post(&format!("{show_url}/test"), &[("csrf_token", &show.csrf())])
            .await
            .assert_status(303);
        // Two attempts fail: the delivery is retrying, its next attempt minutes away.
        drain(&app).await;
        app.clock().advance(5);
        drain(&app).await;
        let (status, attempts, next): (String, i64, Option<i64>) = app.db(|c| {
            webhook_deliveries::table
                .select((
                    webhook_deliveries::status,
                    webhook_deliveries::attempts,
                    webhook_deliveries::next_attempt_at,
                ))
                .first(c)
                .expect("delivery")
        });
        assert_eq!((status.as_str(), attempts), ("pending", 2));
        assert!(next.is_some_and(|t| t > app.clock().now() + 60), "{next:?}");
        let show = app.get(&show_url).await;
        assert!(show.body.contains("Retrying"));

        // The receiver is back: "Retry now" sends it at once, without waiting for its turn.
        healthy.store(1, Ordering::SeqCst);
        let res = app
            .post(
                &format!("{show_url}/replay"),
                &[("csrf_token", &show.csrf()), ("window", "3600")],
            )
            .await;
        res.assert_status(303);
        drain(&app).await;
        let status: String = app.db(|c| {
            webhook_deliveries::table
                .select(webhook_deliveries::status)
                .first(c)
                .expect("delivery")
        });
        assert_eq!(status, "succeeded");
        let show = app.get(&show_url).await;
        assert!(
            show.body
                .contains("1 failed or retrying delivery from the last hour is sent again now."),
            "{}",
            show.body
        );
        // Nothing left: the same action says so.
        let again = app
            .post(
                &format!("{show_url}/replay"),
                &[("csrf_token", &show.csrf()), ("window", "3600")],
            )
            .await;
        again.assert_status(303);
        let show = app.get(&show_url).await;
        assert!(
            show.body
                .contains("No failed or retrying deliveries in the last hour.")
        );
    })
    .await;
}

#[actix_web::test]
async fn only_owners_and_admins_manage_webhooks_and_another_teams_endpoint_is_a_404() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/webhooks");
        let rx = Receiver::ok().await;
        add(&app, &list, &rx.url(), &[("events", "all")])
            .await
            .assert_status(200);
        let id = only_endpoint(&app);
        let other = app.team_owned_by("ada@example.com", "Globex");
        app.get(&format!("/teams/{other}/settings/webhooks/{id}"))
            .await
            .assert_status(404);
        app.get(&format!("/teams/{other}/settings/webhooks/{id}/edit"))
            .await
            .assert_status(404);
        let page = app.get(&list).await;
        app.post(
            &format!("/teams/{other}/settings/webhooks/{id}/delete"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(404);
        app.get(&format!("{list}/not-an-id"))
            .await
            .assert_status(404);
        app.post(
            &format!("{list}/{id}/deliveries/whd_00000000000000000000/replay"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(404);
        assert_eq!(endpoint_count(&app), 1);
        // Without the CSRF token: refused.
        app.post(&format!("{list}/{id}/delete"), &[])
            .await
            .assert_status(403);
        assert_eq!(endpoint_count(&app), 1);

        for role in [Role::Developer, Role::Viewer] {
            let email = format!("{}@example.com", role.as_str());
            app.add_member(&slug, &email, role).await;
            let jar = app.swap_cookies(Default::default());
            app.sign_in(&email, PASSWORD).await;
            let page = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
            assert!(
                !page.body.contains("data-testid=\"nav-webhooks\""),
                "{role:?}"
            );
            app.get(&list).await.assert_status(403);
            app.get(&format!("{list}/{id}")).await.assert_status(403);
            app.swap_cookies(jar);
        }
    })
    .await;
}

#[actix_web::test]
async fn an_agency_owner_adds_an_endpoint_for_every_client_with_the_agency_event_types() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = crate::agencies::create_agency(&app, "Northstar").await;
        let client = crate::agencies::create_client(&app, &agency, "Harbor").await;
        let list = format!("/agencies/{agency}/webhooks");
        let page = app.get(&list).await;
        page.assert_status(200);
        assert!(page.body.contains("every client of Northstar"));
        let form = app.get(&format!("{list}/new")).await;
        assert!(form.body.contains("value=\"client.suspended\""));
        let rx = Receiver::ok().await;
        add(
            &app,
            &list,
            &rx.url(),
            &[
                ("events", "selected"),
                ("event_types", "client.suspended"),
                ("event_types", "bot.created"),
            ],
        )
        .await
        .assert_status(200);
        let clients = app.get(&format!("/agencies/{agency}")).await;
        app.post(
            &format!("/agencies/{agency}/clients/{client}/suspend"),
            &[("csrf_token", &clients.csrf())],
        )
        .await
        .assert_status(303);
        drain(&app).await;
        let seen = rx.seen();
        assert_eq!(seen.len(), 1, "the client's suspension, nothing else");
        let body: serde_json::Value = serde_json::from_slice(&seen[0].body).expect("json");
        assert_eq!(body["type"], "client.suspended");
        let show = app.get(&format!("{list}/{}", only_endpoint(&app))).await;
        assert!(show.body.contains("client.suspended"));
        // The agency's log says which client an event is about, and shows the bytes sent.
        let client_name: String = app.db(|c| {
            use latchkey::db::schema::teams;
            teams::table
                .filter(teams::slug.eq(&client))
                .select(teams::name)
                .first(c)
                .expect("client")
        });
        assert!(show.body.contains(&format!("Client: {client_name}")));
        let sent = String::from_utf8(seen[0].body.clone()).expect("utf-8");
        assert!(
            show.body.contains(&sent.replace('"', "&#34;"))
                || show.body.contains(&sent.replace('"', "&quot;")),
            "the body as sent"
        );
        // The client's own settings do not list the agency's endpoint.
        let team_page = app.get(&format!("/teams/{client}/settings/webhooks")).await;
        assert!(team_page.body.contains("No endpoints yet"));
    })
    .await;
}

#[actix_web::test]
async fn the_webhook_guide_is_served_in_the_dashboard_to_everyone_in_the_team() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/webhooks");
        let page = app.get(&list).await;
        assert!(
            page.body.contains(&format!("href=\"{list}/guide\"")),
            "linked from the list"
        );
        let guide = app.get(&format!("{list}/guide")).await;
        guide.assert_status(200);
        assert!(guide.body.contains("<h1>Webhook guide</h1>"));
        // The guide itself: its sections, the verifier snippets and the event catalogue.
        for text in [
            "<h2>Verifying</h2>",
            "verifySignature",
            "<h2>Event types</h2>",
            "api_key.rotated",
            "<h2>Rotating the secret</h2>",
        ] {
            assert!(guide.body.contains(text), "{text}");
        }
        assert!(!guide.body.contains("docs/webhooks.md"));
        // A developer verifies deliveries too; another team's guide URL is a 404.
        app.add_member(&slug, "dev@example.com", Role::Developer)
            .await;
        app.swap_cookies(Default::default());
        app.sign_in("dev@example.com", PASSWORD)
            .await
            .assert_status(303);
        app.get(&format!("{list}/guide")).await.assert_status(200);
        app.get("/teams/nope/settings/webhooks/guide")
            .await
            .assert_status(404);
        // The agency's webhooks have it too.
        app.swap_cookies(Default::default());
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
        let agency = crate::agencies::create_agency(&app, "Acme Agency").await;
        app.get(&format!("/agencies/{agency}/webhooks/guide"))
            .await
            .assert_status(200);
    })
    .await;
}

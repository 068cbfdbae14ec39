//! Reading the audit log: the team page (filters, keyset pages, words, who may read it), the
//! CSV and NDJSON exports, `GET /v1/audit-events`, isolation between teams and agency
//! clients, retention, and the account's own security activity.

use diesel::prelude::*;
use latchkey::db::schema::{audit_events, teams};
use latchkey::domain::audit::{Actor, AuditAction, Change, Owner, Target, Who};
use latchkey::domain::ids::{TeamId, UserId};
use latchkey::domain::role::Role;
use serde_json::json;

use crate::agencies::{create_agency, create_client};
use crate::helpers::{KeySpec, PASSWORD, TestApp, each_db};

fn log_url(slug: &str) -> String {
    format!("/teams/{slug}/settings/audit-log")
}

fn team_id(app: &TestApp, slug: &str) -> TeamId {
    TeamId::from_db(
        app.db(|c| {
            teams::table
                .filter(teams::slug.eq(slug))
                .select(teams::id)
                .first::<String>(c)
        })
        .expect("team"),
    )
}

/// Writes `n` "bot created" events by Latchkey into `slug`'s log, one second apart, ending
/// `ago` seconds before now, named `{label} 1`…`{label} n` (oldest first).
fn seed_events(app: &TestApp, slug: &str, n: i64, ago: i64) {
    seed_named(app, slug, n, ago, "Bot");
}

fn seed_named(app: &TestApp, slug: &str, n: i64, ago: i64, label: &str) {
    let team = team_id(app, slug);
    let now = app.clock().now();
    app.db(|c| {
        for i in 1..=n {
            let actor = Actor {
                who: Who::System,
                ip: None,
                at: now - ago - (n - i),
            };
            let change = Change::new(
                AuditAction::BotCreated,
                Target::new("bot", format!("bot_{i}"), format!("{label} {i}")),
            );
            latchkey::ops::record(c, &Owner::Team(team.clone()), &actor, &change).expect("event");
        }
    });
}

#[actix_web::test]
async fn the_audit_log_shows_who_did_what_in_words_and_filters_by_action_actor_key_and_date() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.set_peer("203.0.113.7");
        let (_, _) = app
            .create_key(
                &slug,
                &[
                    ("name", "Production Server"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                ],
            )
            .await;
        let key: String = app
            .db(|c| {
                latchkey::db::schema::api_keys::table
                    .select(latchkey::db::schema::api_keys::id)
                    .first(c)
            })
            .expect("key");
        let csrf = app.csrf_of_session(&slug).await;
        app.post(
            &format!("/teams/{slug}/settings/api-keys/{key}/rotate"),
            &[("csrf_token", &csrf), ("grace", "86400")],
        )
        .await
        .assert_status(200);

        let page = app.get(&log_url(&slug)).await;
        page.assert_status(200);
        // Newest first: the rotation in words, with its grace period's end.
        let rotated = "Rotated key Production Server — the old key works until 16 Jan, 10:00 UTC";
        let created = "Created key Production Server";
        let (r, c) = (page.body.find(rotated), page.body.find(created));
        assert!(r.is_some() && c.is_some(), "{}", page.body);
        assert!(r < c, "newest first");
        assert!(page.body.contains("Ada Owner"));
        assert!(page.body.contains("203.0.113.7"));
        assert!(page.body.contains("Created the team Acme"));
        assert!(page.body.contains("data-testid=\"nav-audit-log\""));

        // Filters live in the URL.
        let only = app
            .get(&format!("{}?action=api_key.rotated", log_url(&slug)))
            .await;
        only.assert_status(200);
        assert_eq!(only.body.matches("data-testid=\"audit-row\"").count(), 1);
        assert!(only.body.contains(rotated));
        assert!(
            only.body
                .contains("<option value=\"api_key.rotated\" selected>")
        );
        let by_key = app.get(&format!("{}?key={key}", log_url(&slug))).await;
        assert_eq!(by_key.body.matches("data-testid=\"audit-row\"").count(), 2);
        let ada: String = app
            .db(|c| {
                latchkey::db::schema::users::table
                    .select(latchkey::db::schema::users::id)
                    .first(c)
            })
            .expect("user");
        let by_ada = app.get(&format!("{}?actor={ada}", log_url(&slug))).await;
        assert_eq!(by_ada.body.matches("data-testid=\"audit-row\"").count(), 3);
        // The actor and key fields are searches too: words of a name, or a key's last four.
        let by_name = app.get(&format!("{}?actor=ada+OWN", log_url(&slug))).await;
        by_name.assert_status(200);
        assert_eq!(by_name.body.matches("data-testid=\"audit-row\"").count(), 3);
        assert!(
            by_name.body.contains("<option value=\"Ada Owner\">"),
            "names are suggested"
        );
        let by_key_name = app.get(&format!("{}?key=production", log_url(&slug))).await;
        assert_eq!(
            by_key_name
                .body
                .matches("data-testid=\"audit-row\"")
                .count(),
            2
        );
        let tail: String = app
            .db(|c| {
                latchkey::db::schema::api_keys::table
                    .find(&key)
                    .select(latchkey::db::schema::api_keys::tail)
                    .first(c)
            })
            .expect("tail");
        let by_tail = app.get(&format!("{}?key={tail}", log_url(&slug))).await;
        assert!(by_tail.body.matches("data-testid=\"audit-row\"").count() >= 1);
        assert!(by_tail.body.contains("Created key Production Server"));
        let nobody = app.get(&format!("{}?actor=zzz", log_url(&slug))).await;
        assert!(nobody.body.contains("No events match"));
        // `%` is a character, not a wildcard.
        let percent = app.get(&format!("{}?key=%25", log_url(&slug))).await;
        assert!(percent.body.contains("No events match"));
        let later = app
            .get(&format!("{}?from=2026-01-16", log_url(&slug)))
            .await;
        later.assert_status(200);
        assert!(later.body.contains("No events match"));
        let today = app
            .get(&format!("{}?from=2026-01-15&to=2026-01-15", log_url(&slug)))
            .await;
        assert_eq!(today.body.matches("data-testid=\"audit-row\"").count(), 3);

        // Bad filters: 422 with a message at each field.
        let bad = app
            .get(&format!(
                "{}?action=api_key.exploded&actor={long}&key={long}&from=yesterday&to=2026-02-30",
                log_url(&slug),
                long = "x".repeat(101)
            ))
            .await;
        bad.assert_status(422);
        for id in [
            "f-action-error",
            "f-actor-error",
            "f-key-error",
            "f-from-error",
            "f-to-error",
        ] {
            assert!(bad.body.contains(&format!("id=\"{id}\"")), "{id}");
        }
        let backwards = app
            .get(&format!("{}?from=2026-01-15&to=2026-01-14", log_url(&slug)))
            .await;
        backwards.assert_status(422);
        assert!(
            backwards
                .body
                .contains("Choose a date on or after the start date.")
        );

        // htmx gets the fragment of the same URL.
        let fragment = app.get_htmx(&log_url(&slug)).await;
        fragment.assert_status(200);
        assert!(!fragment.body.contains("<html"));
        assert!(fragment.body.contains(rotated));
    })
    .await;
}

#[actix_web::test]
async fn only_owners_admins_and_operators_read_the_audit_log() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "dev@example.com", Role::Developer)
            .await;
        app.add_member(&slug, "admin@example.com", Role::Admin)
            .await;
        app.swap_cookies(Default::default());
        app.sign_in("dev@example.com", PASSWORD)
            .await
            .assert_status(303);
        let keys = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
        assert!(!keys.body.contains("nav-audit-log"), "not offered");
        app.get(&log_url(&slug)).await.assert_status(403);
        app.get(&format!("{}/export.csv", log_url(&slug)))
            .await
            .assert_status(403);
        app.swap_cookies(Default::default());
        app.sign_in("admin@example.com", PASSWORD)
            .await
            .assert_status(303);
        app.get(&log_url(&slug)).await.assert_status(200);
        app.swap_cookies(Default::default());
        app.get(&log_url(&slug)).await.assert_status(303);
    })
    .await;
}

#[actix_web::test]
async fn load_older_pages_through_the_log_by_keyset_without_gaps_or_repeats() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        // With the team.created event: 50 events fill exactly one page.
        seed_events(&app, &slug, 49, 10);
        let page = app.get(&log_url(&slug)).await;
        assert_eq!(page.body.matches("data-testid=\"audit-row\"").count(), 50);
        assert!(!page.body.contains("data-testid=\"load-older\""), "no more");

        seed_named(&app, &slug, 71, 1000, "Older");
        let mut url = format!("{}?action=bot.created", log_url(&slug));
        let mut names = vec![];
        let mut pages = 0;
        loop {
            let res = app.get(&url).await;
            res.assert_status(200);
            pages += 1;
            assert!(pages <= 3, "{url} pages on and on");
            for chunk in res.body.split("data-testid=\"audit-description\">").skip(1) {
                names.push(chunk[..chunk.find('<').expect("end")].to_owned());
            }
            let Some(at) = res.body.find("data-testid=\"load-older\"") else {
                break;
            };
            let href = &res.body[..at];
            let start = href.rfind("href=\"").expect("href") + 6;
            url = href[start..href[start..].find('"').expect("end") + start]
                .replace("&#38;", "&")
                .replace("&amp;", "&");
            assert!(
                url.contains("action=bot.created"),
                "the filter is kept: {url}"
            );
        }
        assert_eq!(pages, 3, "120 events: 50 + 50 + 20");
        assert_eq!(names.len(), 120);
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 120, "no event twice");
        assert_eq!(names[0], "Created bot Bot 49", "newest first");
        // A cursor of nothing in this log is a 404, not an empty page.
        app.get(&format!(
            "{}?before=aud_00000000000000000000",
            log_url(&slug)
        ))
        .await
        .assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn exports_stream_the_filtered_log_as_csv_and_ndjson_with_formula_cells_neutralised() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let evil = "=HYPERLINK(\"http://evil.test\",\"x\")";
        app.create_key(
            &slug,
            &[("name", evil), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        seed_events(&app, &slug, 1200, 100);

        let csv = app.get(&format!("{}/export.csv", log_url(&slug))).await;
        csv.assert_status(200);
        assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
        assert!(csv.header("content-disposition").starts_with(&format!(
            "attachment; filename=\"audit-log-{slug}-2026-01-15.csv\""
        )));
        let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header[..4], ["id", "created_at", "action", "description"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        assert_eq!(rows.len(), 1202, "every event, over several pages");
        let created = rows
            .iter()
            .find(|r| &r[2] == "api_key.created")
            .expect("the key's event");
        assert_eq!(&created[9], format!("'{evil}"), "the formula is text");
        assert_eq!(&created[3], format!("Created key {evil}"));
        assert!(
            rows.iter()
                .all(|r| !r[3].starts_with('=') && !r[9].starts_with('='))
        );

        let filtered = app
            .get(&format!(
                "{}/export.ndjson?action=api_key.created",
                log_url(&slug)
            ))
            .await;
        filtered.assert_status(200);
        assert_eq!(filtered.header("content-type"), "application/x-ndjson");
        let lines: Vec<serde_json::Value> = filtered
            .body
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["action"], "api_key.created");
        assert_eq!(
            lines[0]["target"]["name"], evil,
            "NDJSON keeps the name as it is"
        );
        assert_eq!(lines[0]["actor"]["name"], "Ada Owner");

        app.get(&format!("{}/export.xlsx", log_url(&slug)))
            .await
            .assert_status(404);
        app.get(&format!("{}/export.csv?from=nope", log_url(&slug)))
            .await
            .assert_status(400);
    })
    .await;
}

#[actix_web::test]
async fn the_api_lists_audit_events_with_the_same_filters_and_cursor_pagination() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, admin) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        app.set_peer("198.51.100.9");
        let bot = app
            .api("POST", "/bots", &admin, Some(json!({"name": "Support"})))
            .await;
        bot.assert_status(201);
        let bot_id = bot.json()["id"].as_str().expect("id").to_owned();
        let key_id: String = app
            .db(|c| {
                latchkey::db::schema::api_keys::table
                    .select(latchkey::db::schema::api_keys::id)
                    .first(c)
            })
            .expect("key");
        let key_name: String = app
            .db(|c| {
                latchkey::db::schema::api_keys::table
                    .select(latchkey::db::schema::api_keys::name)
                    .first(c)
            })
            .expect("name");

        let res = app
            .api("GET", "/audit-events?action=bot.created", &admin, None)
            .await;
        res.assert_status(200);
        let body = res.json();
        let event_id = body["data"][0]["id"].as_str().expect("id").to_owned();
        assert_eq!(
            body,
            json!({
                "object": "list",
                "has_more": false,
                "data": [{
                    "id": event_id,
                    "object": "audit_event",
                    "action": "bot.created",
                    "description": "Created bot Support",
                    "actor": {"type": "api_key", "id": key_id, "name": key_name, "agency_id": null, "agency_name": null},
                    "target": {"type": "bot", "id": bot_id, "name": "Support"},
                    "detail": {"mode": "live"},
                    "ip": "198.51.100.9",
                    "created_at": "2026-01-15T10:00:00Z"
                }]
            })
        );

        // Cursor pagination, newest first.
        let first = app.api("GET", "/audit-events?limit=1", &admin, None).await.json();
        assert_eq!(first["has_more"], true);
        assert_eq!(first["data"][0]["action"], "bot.created");
        let after = first["data"][0]["id"].as_str().expect("id").to_owned();
        let second = app
            .api("GET", &format!("/audit-events?limit=1&starting_after={after}"), &admin, None)
            .await
            .json();
        assert_eq!(second["data"][0]["action"], "team.created");
        assert_eq!(second["has_more"], false);

        // Bad filters: every field named, the envelope exact.
        let bad = app
            .api("GET", "/audit-events?action=nope&from=1%20Jan", &admin, None)
            .await;
        bad.assert_status(422);
        assert_eq!(
            bad.json(),
            json!({"error": {"code": "VALIDATION_FAILED", "message": "The request is invalid",
                "fields": {"action": "Choose an action from the list.", "from": "Enter a date as YYYY-MM-DD."}}})
        );
        let unknown = app
            .api("GET", "/audit-events?starting_after=aud_00000000000000000000", &admin, None)
            .await;
        unknown.assert_status(422);
        assert_eq!(unknown.json()["error"]["fields"]["starting_after"], "No such audit event.");

        let empty = app.api("GET", "/audit-events?to=", &admin, None).await;
        empty.assert_status(422);
        assert_eq!(
            empty.json()["error"]["fields"]["to"],
            "Must not be empty; leave the parameter out instead."
        );

        // A test-mode key never reads the live team's log; a key without admin neither.
        let (_, test_admin) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "test",
        });
        let refused = app.api("GET", "/audit-events", &test_admin, None).await;
        refused.assert_status(403);
        assert_eq!(refused.json()["error"]["code"], "INSUFFICIENT_PERMISSIONS");
        let (_, reader) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["bots:read"],
            mode: "live",
        });
        app.api("GET", "/audit-events", &reader, None)
            .await
            .assert_status(403);
    })
    .await;
}

#[actix_web::test]
async fn another_teams_events_never_appear_and_client_members_never_see_agency_events() {
    each_db(|app| async move {
        let acme = app.set_up("ada@example.com", "Acme").await;
        let other = app.team_owned_by("ada@example.com", "Other");
        seed_events(&app, &other, 3, 10);
        let (_, other_key) = app.make_key(KeySpec {
            team: &other,
            scopes: &["admin"],
            mode: "live",
        });
        let page = app.get(&log_url(&acme)).await;
        assert!(
            !page.body.contains("Created bot Bot"),
            "Other's events stay in Other's log"
        );
        let csv = app.get(&format!("{}/export.ndjson", log_url(&acme))).await;
        assert!(!csv.body.contains("bot.created"));
        let (_, acme_key) = app.make_key(KeySpec {
            team: &acme,
            scopes: &["admin"],
            mode: "live",
        });
        let api = app
            .api("GET", "/audit-events", &acme_key, None)
            .await
            .json();
        assert!(
            api["data"]
                .as_array()
                .expect("list")
                .iter()
                .all(|e| e["action"] != "bot.created")
        );
        // Another team's event id is no cursor here.
        let theirs = app
            .api("GET", "/audit-events", &other_key, None)
            .await
            .json();
        let foreign = theirs["data"][0]["id"].as_str().expect("id").to_owned();
        app.get(&format!("{}?before={foreign}", log_url(&acme)))
            .await
            .assert_status(404);
        app.api(
            "GET",
            &format!("/audit-events?starting_after={foreign}"),
            &acme_key,
            None,
        )
        .await
        .assert_status(422);

        // Agency-level events are the agency's; a client's members see their own log only.
        let agency = create_agency(&app, "Acme Agency").await;
        let north = create_client(&app, &agency, "Northwind").await;
        let south = create_client(&app, &agency, "Southwind").await;
        app.add_member(&north, "nina@example.com", Role::Owner)
            .await;
        let agency_log = app.get(&format!("/agencies/{agency}/audit-log")).await;
        agency_log.assert_status(200);
        assert!(agency_log.body.contains("Created client Northwind"));
        assert!(agency_log.body.contains("Created client Southwind"));
        app.get(&format!("/agencies/{agency}/audit-log/export.csv"))
            .await
            .assert_status(200);
        app.swap_cookies(Default::default());
        app.sign_in("nina@example.com", PASSWORD)
            .await
            .assert_status(303);
        let own = app.get(&log_url(&north)).await;
        own.assert_status(200);
        assert!(
            !own.body.contains("Created client"),
            "agency events are not the client's"
        );
        app.get(&log_url(&south)).await.assert_status(404);
        app.get(&format!("/agencies/{agency}/audit-log"))
            .await
            .assert_status(404);
        app.get(&format!("/agencies/{agency}/audit-log/export.ndjson"))
            .await
            .assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn retention_deletes_events_older_than_each_teams_setting_and_keeps_the_rest() {
    each_db(|app| async move {
        let acme = app.set_up("ada@example.com", "Acme").await;
        let other = app.team_owned_by("ada@example.com", "Other");
        let csrf = app.csrf_of_session(&acme).await;
        app.post(
            &format!("/teams/{acme}/settings"),
            &[
                ("csrf_token", &csrf),
                ("name", "Acme"),
                ("rate_limit", "600"),
                ("audit_retention_days", "30"),
            ],
        )
        .await
        .assert_status(303);
        let bad = app
            .post(
                &format!("/teams/{acme}/settings"),
                &[
                    ("csrf_token", &csrf),
                    ("name", "Acme"),
                    ("rate_limit", "600"),
                    ("audit_retention_days", "7"),
                ],
            )
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("Enter a number of days from 30 to 3650."));
        // 31 and 29 days old in both teams: Acme keeps 30 days, Other the default 365.
        seed_events(&app, &acme, 1, 31 * 86_400);
        seed_events(&app, &acme, 1, 29 * 86_400);
        seed_events(&app, &other, 1, 31 * 86_400);
        let count = |slug: &str| {
            let team = team_id(&app, slug);
            app.db(|c| {
                audit_events::table
                    .filter(audit_events::team_id.eq(team.as_str()))
                    .count()
                    .get_result::<i64>(c)
            })
            .expect("count")
        };
        let (acme_before, other_before) = (count(&acme), count(&other));
        let pruned = latchkey::jobs::retention::prune_once(&app.state)
            .await
            .expect("prune");
        assert_eq!(pruned.team_events, 1);
        assert_eq!(count(&acme), acme_before - 1);
        assert_eq!(count(&other), other_before);
        // Idempotent.
        let again = latchkey::jobs::retention::prune_once(&app.state)
            .await
            .expect("prune");
        assert_eq!(again.team_events, 0);
    })
    .await;
}

#[actix_web::test]
async fn your_account_shows_sign_ins_failures_and_sign_outs_of_your_own_account_only() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "bob@example.com", Role::Viewer).await;
        app.swap_cookies(Default::default());
        app.set_peer("192.0.2.44");
        let wrong = app.sign_in("ada@example.com", "wrong password!!").await;
        wrong.assert_status(422);
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
        let page = app.get("/account").await;
        page.assert_status(200);
        assert!(page.body.contains("Your account"));
        assert!(page.body.contains("ada@example.com"));
        assert!(page.body.contains("Failed sign-in (wrong password)"));
        assert!(page.body.contains("Signed in"));
        assert!(page.body.contains("192.0.2.44"));
        let csrf = page.csrf();
        app.post("/logout", &[("csrf_token", &csrf)])
            .await
            .assert_status(303);
        app.sign_in("bob@example.com", PASSWORD)
            .await
            .assert_status(303);
        let bobs = app.get("/account").await;
        assert!(
            !bobs.body.contains("Failed sign-in"),
            "Ada's activity is hers"
        );
        let ada = UserId::from_db(
            app.db(|c| {
                latchkey::db::schema::users::table
                    .filter(latchkey::db::schema::users::email.eq("ada@example.com"))
                    .select(latchkey::db::schema::users::id)
                    .first::<String>(c)
            })
            .expect("ada"),
        );
        let actions: Vec<String> = app
            .db(|c| {
                latchkey::db::schema::security_events::table
                    .filter(latchkey::db::schema::security_events::user_id.eq(ada.as_str()))
                    .order(latchkey::db::schema::security_events::id.asc())
                    .select(latchkey::db::schema::security_events::action)
                    .load(c)
            })
            .expect("events");
        assert_eq!(
            actions,
            [
                "account.signed_in", // at set-up
                "account.sign_in_failed",
                "account.signed_in",
                "account.signed_out"
            ]
        );
        app.swap_cookies(Default::default());
        app.get("/account").await.assert_status(303);
    })
    .await;
}

//! A key's own page: summary, lineage, activity, who may see what; usage counted by outcome
//! in memory and charted after a flush; the addresses a key is used from, a new one marked and
//! announced once.

use diesel::prelude::*;
use latchkey::db::schema::{
    api_key_addresses, api_key_usage, api_keys, audit_events, outbox_events,
};
use latchkey::domain::role::Role;

use crate::helpers::{KeySpec, TestApp, each_db};

fn keys_url(slug: &str) -> String {
    format!("/teams/{slug}/settings/api-keys")
}

fn id_of(app: &TestApp, name: &str) -> String {
    app.db(|c| {
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::retiring_until.is_null())
            .select(api_keys::id)
            .first(c)
            .expect("key id")
    })
}

fn flush(app: &TestApp) -> usize {
    app.db(|c| {
        app.state
            .key_tallies
            .flush(c, latchkey::ops::api_keys::record_addresses)
    })
    .expect("flush")
}

#[actix_web::test]
async fn a_key_page_shows_its_summary_lineage_and_trail_to_members_of_its_team_only() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.create_key(
            &slug,
            &[
                ("name", "Billing"),
                ("scopes", "bots:read"),
                ("mode", "live"),
                ("environment", "prod"),
                ("expiry", "never"),
                ("rate_limit", "120"),
                ("ip_allowlist", "203.0.113.0/24"),
            ],
        )
        .await;
        let old = id_of(&app, "Billing");
        let page = app.get(&format!("{}/{old}", keys_url(&slug))).await;
        page.assert_status(200);
        let b = &page.body;
        assert!(b.contains("<h1>Billing</h1>"));
        assert!(b.contains("sk_live_prod_"));
        assert!(b.contains("120 requests per minute (this key)"));
        assert!(b.contains("<code>203.0.113.0/24</code>"));
        assert!(b.contains("by Ada Owner"));
        assert!(b.contains("This key has not been rotated."));
        assert!(b.contains("Created key Billing"), "its audit trail");
        assert!(b.contains("data-testid=\"usage-empty\""));
        assert!(
            b.contains("data-testid=\"rotate-key\""),
            "an owner may act on it"
        );
        // Rotation: each page links the other.
        app.clock().advance(60);
        let rotate = app
            .post(
                &format!("{}/{old}/rotate", keys_url(&slug)),
                &[("csrf_token", &page.csrf()), ("grace", "3600")],
            )
            .await;
        rotate.assert_status(200);
        let new = id_of(&app, "Billing");
        let successor = app.get(&format!("{}/{new}", keys_url(&slug))).await;
        successor.assert_status(200);
        assert!(successor.body.contains("data-testid=\"predecessor\""));
        assert!(
            successor
                .body
                .contains(&format!("href=\"{}/{old}\"", keys_url(&slug)))
        );
        let before = app.get_htmx(&format!("{}/{old}", keys_url(&slug))).await;
        before.assert_status(200);
        assert!(!before.body.contains("<html"), "htmx gets the content only");
        assert!(before.body.contains("data-testid=\"successor\""));
        assert!(before.body.contains("Retiring"));
        assert!(before.body.contains("Rotated key Billing"));
        // After deletion the page still says what the key was, without actions.
        let delete = app
            .post(
                &format!("{}/{new}/delete", keys_url(&slug)),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        delete.assert_status(303);
        let gone = app.get(&format!("{}/{new}", keys_url(&slug))).await;
        gone.assert_status(200);
        assert!(gone.body.contains("Revoked"));
        assert!(!gone.body.contains("data-testid=\"rotate-key\""));

        // A viewer sees the key but neither its actions nor the audit trail.
        app.add_member(&slug, "vic@example.com", Role::Viewer).await;
        let owner_jar = app.swap_cookies(Default::default());
        app.sign_in("vic@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let viewer = app.get(&format!("{}/{old}", keys_url(&slug))).await;
        viewer.assert_status(200);
        assert!(!viewer.body.contains("data-testid=\"key-actions\""));
        assert!(!viewer.body.contains("data-testid=\"key-activity\""));
        app.swap_cookies(owner_jar);

        // Another team's key, and a malformed id, are 404s.
        let other = app.team_owned_by("ada@example.com", "Other");
        let (foreign, _) = app.make_key(KeySpec {
            team: &other,
            scopes: &["bots:read"],
            mode: "live",
        });
        app.get(&format!("{}/{foreign}", keys_url(&slug)))
            .await
            .assert_status(404);
        app.get(&format!("{}/not-a-key", keys_url(&slug)))
            .await
            .assert_status(404);
        app.get(&format!("{}/{foreign}", keys_url(&other)))
            .await
            .assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn a_key_made_through_the_api_names_the_key_that_made_it() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (admin_id, admin) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        let admin_name: String = app.db(|c| {
            api_keys::table
                .find(&admin_id)
                .select(api_keys::name)
                .first(c)
                .expect("name")
        });
        let made = app
            .api(
                "POST",
                "/api-keys",
                &admin,
                Some(serde_json::json!({"name": "Made by a key"})),
            )
            .await;
        made.assert_status(201);
        let id = made.json()["id"].as_str().expect("id").to_owned();
        let page = app.get(&format!("{}/{id}", keys_url(&slug))).await;
        page.assert_status(200);
        assert!(
            page.body
                .contains(&format!("by the key “{admin_name}”, through the API")),
            "{}",
            page.body
        );
    })
    .await;
}

#[actix_web::test]
async fn requests_are_counted_by_outcome_without_a_database_write_and_charted_after_a_flush() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["bots:read"],
            mode: "live",
        });
        app.db(|c| {
            diesel::update(api_keys::table.find(&id))
                .set(api_keys::rate_limit_per_minute.eq(Some(4)))
                .execute(c)
                .expect("limit")
        });
        app.set_peer("198.51.100.20");
        // 4 accepted, 1 refused for scope (checked before the limit: it uses no slot), then 2
        // over the limit of 4 a minute.
        for _ in 0..4 {
            app.api("GET", "/bots", &key, None).await.assert_status(200);
        }
        app.api(
            "POST",
            "/bots",
            &key,
            Some(serde_json::json!({"name": "x"})),
        )
        .await
        .assert_status(403);
        for _ in 0..2 {
            app.api("GET", "/bots", &key, None).await.assert_status(429);
        }
        // The hot path wrote nothing.
        let stored: i64 = app.db(|c| api_key_usage::table.count().get_result(c).expect("count"));
        assert_eq!(stored, 0);
        assert_eq!(flush(&app), 1);
        let row: (i64, i64, i64, i64, i64) = app.db(|c| {
            api_key_usage::table
                .filter(api_key_usage::api_key_id.eq(&id))
                .select((
                    api_key_usage::requests,
                    api_key_usage::refused_scope,
                    api_key_usage::refused_address,
                    api_key_usage::refused_rate,
                    api_key_usage::refused_expired,
                ))
                .first(c)
                .expect("usage row")
        });
        assert_eq!(
            row,
            (4, 1, 0, 2, 0),
            "accepted, scope, address, rate, expired"
        );
        // An allowlist refusal and an expired key.
        app.db(|c| {
            diesel::update(api_keys::table.find(&id))
                .set(api_keys::ip_allowlist.eq(Some("10.0.0.0/8")))
                .execute(c)
                .expect("allowlist")
        });
        app.state.key_cache.clear();
        app.clock().advance(120);
        app.api("GET", "/bots", &key, None).await.assert_status(403);
        app.db(|c| {
            diesel::update(api_keys::table.find(&id))
                .set((
                    api_keys::ip_allowlist.eq(None::<String>),
                    api_keys::expires_at.eq(Some(app.clock().now() - 1)),
                ))
                .execute(c)
                .expect("expire")
        });
        app.state.key_cache.clear();
        app.api("GET", "/bots", &key, None).await.assert_status(401);
        flush(&app);
        let totals: (i64, i64, i64, i64, i64) = app.db(|c| {
            let rows: Vec<(i64, i64, i64, i64, i64)> = api_key_usage::table
                .filter(api_key_usage::api_key_id.eq(&id))
                .select((
                    api_key_usage::requests,
                    api_key_usage::refused_scope,
                    api_key_usage::refused_address,
                    api_key_usage::refused_rate,
                    api_key_usage::refused_expired,
                ))
                .load(c)
                .expect("usage");
            rows.iter().fold((0, 0, 0, 0, 0), |a, r| {
                (a.0 + r.0, a.1 + r.1, a.2 + r.2, a.3 + r.3, a.4 + r.4)
            })
        });
        assert_eq!(totals, (4, 1, 1, 2, 1));
        // The page charts them, with the numbers in a table too.
        let page = app.get(&format!("{}/{id}", keys_url(&slug))).await;
        page.assert_status(200);
        assert!(page.body.contains("data-testid=\"chart-hourly\""));
        assert!(
            page.body.contains("4 accepted · 5 refused"),
            "{}",
            page.body
        );
        assert!(page.body.contains("class=\"bar-rate\""));
        assert!(
            page.body
                .contains("<caption>Requests per hour, last 48 hours</caption>")
        );
        // Only accepted requests move "last used".
        let last: Option<i64> = app.db(|c| {
            api_keys::table
                .find(&id)
                .select(api_keys::last_used_at)
                .first(c)
                .expect("last")
        });
        assert!(last.is_some_and(|t| t < app.clock().now() - 60));
    })
    .await;
}

#[actix_web::test]
async fn a_new_address_is_marked_and_announced_once_but_not_the_first_one() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["bots:read"],
            mode: "live",
        });
        let announced = |app: &TestApp| -> i64 {
            app.db(|c| {
                outbox_events::table
                    .filter(outbox_events::event_type.eq("api_key.new_address"))
                    .count()
                    .get_result(c)
                    .expect("count")
            })
        };
        app.set_peer("203.0.113.5");
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        flush(&app);
        assert_eq!(announced(&app), 0, "where a key is first used is not news");
        app.clock().advance(3 * 86_400);
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        app.set_peer("198.51.100.66");
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        flush(&app);
        assert_eq!(announced(&app), 1);
        let rows: Vec<(String, i64)> = app.db(|c| {
            api_key_addresses::table
                .filter(api_key_addresses::api_key_id.eq(&id))
                .order(api_key_addresses::ip.asc())
                .select((api_key_addresses::ip, api_key_addresses::requests))
                .load(c)
                .expect("addresses")
        });
        assert_eq!(
            rows,
            [
                ("198.51.100.66".to_owned(), 2),
                ("203.0.113.5".to_owned(), 2)
            ]
        );
        // Seen again: counted, not announced again.
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        flush(&app);
        assert_eq!(announced(&app), 1);
        let audit: Vec<String> = app.db(|c| {
            audit_events::table
                .filter(audit_events::action.eq("api_key.new_address"))
                .select(audit_events::ip.assume_not_null())
                .load(c)
                .expect("audit")
        });
        assert_eq!(audit, ["198.51.100.66"]);
        // The page marks the new one only. (The session went idle meanwhile.)
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let page = app.get(&format!("{}/{id}", keys_url(&slug))).await;
        page.assert_status(200);
        assert_eq!(page.body.matches("data-testid=\"address-row\"").count(), 2);
        assert_eq!(page.body.matches("data-testid=\"address-new\"").count(), 1);
        assert!(
            page.body
                .contains("was used from a new address, 198.51.100.66")
        );
        // A day later it is no longer new.
        app.clock().advance(86_400);
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let later = app.get(&format!("{}/{id}", keys_url(&slug))).await;
        assert_eq!(later.body.matches("data-testid=\"address-new\"").count(), 0);
    })
    .await;
}

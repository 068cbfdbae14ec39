//! `latchkey demo`'s data set: every key state the screenshot suites need, members in every
//! role, a branded agency with two clients, and the banner on every page of a demo server.

use diesel::prelude::*;
use latchkey::db::schema::{agencies, api_key_usage, api_keys, memberships, teams};

use crate::helpers::{TestApp, backends};

#[actix_web::test]
async fn the_demo_data_set_has_every_key_state_and_every_page_says_demo() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |c| c.demo = true).await;
        let now = app.clock().now();
        let hash = app
            .state
            .passwords
            .hash(
                latchkey::domain::inputs::Password::parse_new(
                    latchkey::demo::DEMO_PASSWORD.to_owned(),
                )
                .expect("password"),
            )
            .await
            .expect("hash");
        let seeded = app
            .db(|c| latchkey::demo::seed(c, &hash, &app.state.vault, now))
            .expect("seed");
        let statuses: Vec<String> = app
            .db(|c| {
                api_keys::table
                    .inner_join(teams::table)
                    .filter(teams::name.eq("Acme Robotics"))
                    .select(api_keys::all_columns)
                    .load::<latchkey::models::api_key::ApiKey>(c)
            })
            .expect("keys")
            .iter()
            .map(|k| k.status(now).slug().to_owned())
            .collect();
        for state in ["active", "expiring", "expired", "retiring", "leaked"] {
            assert!(
                statuses.iter().any(|s| s == state),
                "{state} in {statuses:?}"
            );
        }
        let roles: Vec<String> = app
            .db(|c| memberships::table.select(memberships::role).load(c))
            .expect("roles");
        for role in ["owner", "admin", "developer", "viewer"] {
            assert!(roles.iter().any(|r| r == role), "{role}");
        }
        let usage: i64 = app
            .db(|c| api_key_usage::table.count().get_result(c))
            .expect("usage");
        assert!(usage >= 48);
        let brand: Option<String> = app
            .db(|c| agencies::table.select(agencies::product_name).first(c))
            .expect("agency");
        assert_eq!(brand.as_deref(), Some("Northstar Console"));
        let clients: i64 = app
            .db(|c| {
                teams::table
                    .filter(teams::agency_id.is_not_null())
                    .count()
                    .get_result(c)
            })
            .expect("clients");
        assert_eq!(clients, 2);

        // The sample key works; the pages carry the banner, signed in or not.
        app.api("GET", "/me", &seeded.sample_key, None)
            .await
            .assert_status(200);
        let login = app.get("/login").await;
        assert!(login.body.contains("data-testid=\"demo-banner\""));
        app.sign_in("ada@acme.test", latchkey::demo::DEMO_PASSWORD)
            .await
            .assert_status(303);
        let keys = app.get("/teams/acme-robotics/settings/api-keys").await;
        keys.assert_status(200);
        assert!(keys.body.contains("data-testid=\"demo-banner\""));
        assert!(
            keys.body
                .contains("Still in use: last request 5 minutes ago")
        );
        let missing = app.get("/no-such-page").await;
        assert!(missing.body.contains("data-testid=\"demo-banner\""));
    }
}

#[actix_web::test]
async fn a_normal_server_shows_no_demo_banner() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let login = app.get("/login").await;
        assert!(!login.body.contains("demo-banner"));
    }
}

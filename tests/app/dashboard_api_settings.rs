//! The dashboard side of the API: per-key limits in the forms, the team default, retiring
//! keys' usage and ending a grace period early, leak reports on the key's row.

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, audit_events};
use serde_json::json;

use crate::helpers::{PASSWORD, each_db};

#[actix_web::test]
async fn create_and_edit_forms_set_rate_limits_and_ip_allowlists() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let base = format!("/teams/{slug}/settings/api-keys");
        let csrf = app.csrf_of_session(&slug).await;
        let bad = app
            .post(
                &base,
                &[
                    ("csrf_token", &csrf),
                    ("name", "K"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("rate_limit", "0"),
                    ("ip_allowlist", "10.0.0.0/33"),
                ],
            )
            .await;
        bad.assert_status(422);
        assert!(
            bad.body
                .contains("Enter a whole number of requests per minute from 1 to 100000")
        );
        assert!(
            bad.body
                .contains("Each entry must be an IP address or CIDR")
        );
        assert_eq!(
            app.db(|c| api_keys::table.count().get_result::<i64>(c))
                .expect("n"),
            0
        );

        let (_, secret) = app
            .create_key(
                &slug,
                &[
                    ("name", "K"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("rate_limit", "120"),
                    ("ip_allowlist", "203.0.113.7\n198.51.100.0/24"),
                ],
            )
            .await;
        let (id, rate, allow): (String, Option<i32>, Option<String>) = app
            .db(|c| {
                api_keys::table
                    .select((
                        api_keys::id,
                        api_keys::rate_limit_per_minute,
                        api_keys::ip_allowlist,
                    ))
                    .first(c)
            })
            .expect("row");
        assert_eq!(rate, Some(120));
        assert_eq!(allow.as_deref(), Some("203.0.113.7/32 198.51.100.0/24"));
        let me = app.api("GET", "/me", &secret, None).await;
        assert_eq!(me.header("x-ratelimit-limit"), "120");

        // The edit form shows and changes them; clearing means "team default" / "anywhere".
        let edit = app.get(&format!("{base}/{id}/edit")).await;
        assert!(edit.body.contains("value=\"120\""));
        assert!(edit.body.contains("203.0.113.7/32\n198.51.100.0/24"));
        app.post(
            &format!("{base}/{id}"),
            &[
                ("csrf_token", &csrf),
                ("name", "K"),
                ("scopes", "admin"),
                ("rate_limit", ""),
                ("ip_allowlist", "192.0.2.0/24"),
            ],
        )
        .await
        .assert_status(303);
        let res = app.api("GET", "/me", &secret, None).await;
        res.assert_status(403);
        assert_eq!(res.json()["error"]["code"], "IP_NOT_ALLOWED");

        // Rotation keeps them.
        let rot = app
            .post(
                &format!("{base}/{id}/rotate"),
                &[("csrf_token", &csrf), ("grace", "0")],
            )
            .await;
        rot.assert_status(200);
        let allow: Option<String> = app
            .db(|c| {
                api_keys::table
                    .filter(api_keys::revoked_at.is_null())
                    .select(api_keys::ip_allowlist)
                    .first(c)
            })
            .expect("row");
        assert_eq!(allow.as_deref(), Some("192.0.2.0/24"));
    })
    .await;
}

#[actix_web::test]
async fn the_team_default_rate_limit_is_set_on_the_settings_page() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app
            .create_key(
                &slug,
                &[("name", "K"), ("scopes", "admin"), ("mode", "live")],
            )
            .await;
        assert_eq!(
            app.api("GET", "/me", &key, None)
                .await
                .header("x-ratelimit-limit"),
            "600"
        );
        let url = format!("/teams/{slug}/settings");
        let page = app.get(&url).await;
        page.assert_status(200);
        assert!(page.body.contains("value=\"600\""));
        let bad = app
            .post(
                &url,
                &[
                    ("csrf_token", &page.csrf()),
                    ("name", ""),
                    ("rate_limit", "-5"),
                ],
            )
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("Enter a name."));
        app.post(
            &url,
            &[
                ("csrf_token", &page.csrf()),
                ("name", "Acme Support"),
                ("rate_limit", "50"),
            ],
        )
        .await
        .assert_status(303);
        assert!(app.get(&url).await.body.contains("Settings saved."));
        app.clock().advance(60);
        assert_eq!(
            app.api("GET", "/me", &key, None)
                .await
                .header("x-ratelimit-limit"),
            "50"
        );
        let n: i64 = app
            .db(|c| {
                audit_events::table
                    .filter(audit_events::action.eq("team.updated"))
                    .count()
                    .get_result(c)
            })
            .expect("n");
        assert_eq!(n, 1);

        // Viewers see the page read-only and cannot post.
        app.add_member(
            &slug,
            "viewer@example.com",
            latchkey::domain::role::Role::Viewer,
        )
        .await;
        app.swap_cookies(Default::default());
        app.sign_in("viewer@example.com", PASSWORD).await;
        let view = app.get(&url).await;
        assert!(
            view.body
                .contains("Only owners and admins can change these settings.")
        );
        app.post(
            &url,
            &[
                ("csrf_token", &view.csrf()),
                ("name", "X"),
                ("rate_limit", "1"),
            ],
        )
        .await
        .assert_status(403);
    })
    .await;
}

#[actix_web::test]
async fn retiring_keys_show_whether_they_are_still_used_and_can_be_ended_early() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let base = format!("/teams/{slug}/settings/api-keys");
        let (_, old) = app
            .create_key(
                &slug,
                &[("name", "Svc"), ("scopes", "admin"), ("mode", "live")],
            )
            .await;
        let id: String = app
            .db(|c| api_keys::table.select(api_keys::id).first(c))
            .expect("id");
        let csrf = app.csrf_of_session(&slug).await;
        app.post(
            &format!("{base}/{id}/rotate"),
            &[("csrf_token", &csrf), ("grace", "86400")],
        )
        .await
        .assert_status(200);
        let list = app.get(&base).await;
        assert!(list.body.contains("Never used"));

        app.api("GET", "/me", &old, None).await.assert_status(200);
        app.db(|c| {
            app.state
                .key_tallies
                .flush(c, latchkey::ops::api_keys::record_addresses)
        })
        .expect("flush");
        app.clock().advance(180);
        let list = app.get(&base).await;
        assert!(
            list.body
                .contains("Still in use: last request 3 minutes ago"),
            "{}",
            list.body
        );
        // While it is in use, ending its grace asks first (a page, or a dialog with htmx).
        let confirm_url = format!("{base}/{id}/end-grace");
        assert!(list.body.contains(&format!("<a href=\"{confirm_url}\"")));
        for confirm in [
            app.get(&confirm_url).await,
            app.get_htmx(&confirm_url).await,
        ] {
            confirm.assert_status(200);
            assert!(confirm.body.contains("Stop the old Svc key now?"));
            assert!(confirm.body.contains("This old key is still in use"));
            assert!(confirm.body.contains("its last request was"));
            assert!(confirm.body.contains("3 minutes ago</time>"));
        }
        app.api("GET", "/me", &old, None).await.assert_status(200);
        app.clock().advance(3 * 3600);
        app.sign_in("ada@example.com", PASSWORD).await;
        let list = app.get(&base).await;
        assert!(list.body.contains("Quiet since 3 hours ago"));
        // Quiet: one click, no confirmation.
        assert!(list.body.contains(&format!("action=\"{confirm_url}\"")));

        let csrf = list.csrf();
        let res = app
            .post_htmx(&format!("{base}/{id}/end-grace"), &csrf, &[])
            .await;
        res.assert_status(200);
        assert!(res.body.contains("stopped working."));
        assert_eq!(app.api("GET", "/me", &old, None).await.status.as_u16(), 401);
        // Only a retiring key has a grace period to end.
        let current: String = app
            .db(|c| {
                api_keys::table
                    .filter(api_keys::revoked_at.is_null())
                    .select(api_keys::id)
                    .first(c)
            })
            .expect("id");
        app.post(
            &format!("{base}/{current}/end-grace"),
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(404);
        let n: i64 = app
            .db(|c| {
                audit_events::table
                    .filter(audit_events::action.eq("api_key.grace_ended"))
                    .count()
                    .get_result(c)
            })
            .expect("n");
        assert_eq!(n, 1);
    })
    .await;
}

#[actix_web::test]
async fn a_key_reported_leaked_stays_on_its_row_marked_and_without_actions() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app
            .create_key(
                &slug,
                &[("name", "Leaky"), ("scopes", "admin"), ("mode", "live")],
            )
            .await;
        let res = app
            .send(
                actix_web::test::TestRequest::post()
                    .uri("/v1/revoke")
                    .insert_header(("content-type", "application/json"))
                    .set_payload(json!({"key": key}).to_string()),
            )
            .await;
        res.assert_status(200);
        app.clock().advance(120);
        let list = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
        assert!(list.body.contains("data-key-name=\"Leaky\""));
        assert!(list.body.contains("Reported leaked"));
        assert!(
            list.body
                .contains("Revoked 2 minutes ago after a leak report")
        );
        assert!(!list.body.contains("data-testid=\"key-actions\""));
        // A new key may take the name at once.
        app.create_key(
            &slug,
            &[("name", "Leaky"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
    })
    .await;
}

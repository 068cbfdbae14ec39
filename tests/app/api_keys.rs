//! The API keys page: create and reveal once, masked list, edit, rotate, delete — each with
//! and without htmx.

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, audit_events};
use latchkey::domain::api_key_secret::ApiKeySecret;
use latchkey::models::sha256_hex;

use crate::helpers::{PASSWORD, TestApp, captured_logs, each_db};

/// id, scopes, expires_at, created_at, retiring_until
type RotationRow = (String, String, Option<i64>, i64, Option<i64>);

fn keys_url(slug: &str) -> String {
    format!("/teams/{slug}/settings/api-keys")
}

fn key_rows(app: &TestApp) -> Vec<(String, String, Option<i64>, Option<i64>)> {
    app.db(|c| {
        api_keys::table
            .select((
                api_keys::id,
                api_keys::name,
                api_keys::retiring_until,
                api_keys::revoked_at,
            ))
            .order(api_keys::created_at.asc())
            .load(c)
            .expect("rows")
    })
}

fn audit_actions(app: &TestApp) -> Vec<String> {
    app.db(|c| {
        audit_events::table
            .select(audit_events::action)
            .order((audit_events::created_at.asc(), audit_events::id.asc()))
            .load(c)
            .expect("audit")
    })
}

fn id_of(app: &TestApp, name: &str) -> String {
    app.db(|c| {
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::retiring_until.is_null())
            .filter(api_keys::revoked_at.is_null())
            .select(api_keys::id)
            .first(c)
            .expect("key id")
    })
}

#[actix_web::test]
async fn the_secret_is_shown_exactly_once_and_only_its_digest_is_stored() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (reveal, secret) = app
            .create_key(
                &slug,
                &[
                    ("name", "Production server"),
                    ("scopes", "bots:read"),
                    ("scopes", "conversations:read"),
                    ("mode", "live"),
                    ("environment", "prod"),
                    ("expiry", "90"),
                ],
            )
            .await;
        assert!(
            ApiKeySecret::parse(&secret).is_ok(),
            "a well-formed key with a valid checksum"
        );
        assert!(secret.starts_with("sk_live_prod_"));
        assert_eq!(reveal.header("cache-control"), "no-store");
        assert!(
            reveal
                .body
                .contains("Copy it now — you won't be able to see it again")
        );
        assert!(reveal.body.contains(&format!(
            "curl -H &#34;Authorization: Bearer {secret}&#34; http://localhost:8080/v1/me"
        )));
        assert!(reveal.body.contains("hx-history=\"false\""));

        // The stored row has the digest and display parts, never the secret.
        let (digest, prefix, head, tail, scopes): (String, String, String, String, String) = app
            .db(|c| {
                api_keys::table
                    .select((
                        api_keys::secret_digest,
                        api_keys::prefix,
                        api_keys::head,
                        api_keys::tail,
                        api_keys::scopes,
                    ))
                    .first(c)
                    .expect("row")
            });
        assert_eq!(digest, sha256_hex(&secret));
        assert_eq!(prefix, "sk_live_prod_");
        assert_eq!(scopes, "bots:read conversations:read");
        let body = &secret["sk_live_prod_".len()..];
        assert_eq!(
            (head.as_str(), tail.as_str()),
            (&body[..4], &body[body.len() - 4..])
        );
        let masked = format!("sk_live_prod_{head}…{tail}");

        // No later page shows it: list (both renderings), edit, rotate, delete pages.
        let id = id_of(&app, "Production server");
        let list = app.get(&keys_url(&slug)).await;
        list.assert_status(200);
        assert!(list.body.contains(&masked));
        for path in [
            keys_url(&slug),
            format!("{}/{id}/edit", keys_url(&slug)),
            format!("{}/{id}/rotate", keys_url(&slug)),
            format!("{}/{id}/delete", keys_url(&slug)),
        ] {
            for res in [app.get(&path).await, app.get_htmx(&path).await] {
                res.assert_status(200);
                assert!(!res.body.contains(body), "{path} must not show the secret");
            }
        }
        // Nor any database column or log line.
        let audit: Vec<Option<String>> = app
            .db(|c| audit_events::table.select(audit_events::detail).load(c))
            .expect("audit");
        assert!(audit.iter().flatten().all(|d| !d.contains(body)));
        let sessions: Vec<String> = app
            .db(|c| {
                latchkey::db::schema::sessions::table
                    .select(latchkey::db::schema::sessions::state)
                    .load(c)
            })
            .expect("sessions");
        assert!(sessions.iter().all(|s| !s.contains(body)));
        let logs = String::from_utf8_lossy(&captured_logs().lock().expect("logs")).into_owned();
        assert!(!logs.contains(body), "the secret never reaches the log");
        assert_eq!(audit_actions(&app), ["team.created", "api_key.created"]);
    })
    .await;
}

#[actix_web::test]
async fn create_with_htmx_returns_the_reveal_fragment_through_the_same_handler() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let form = app.get_htmx(&format!("{}/new", keys_url(&slug))).await;
        form.assert_status(200);
        assert_eq!(form.header("vary"), "HX-Request");
        assert!(!form.body.contains("<html"), "a fragment, not a page");
        assert!(form.body.contains("data-testid=\"create-key-form\""));
        // All 11 scopes offered, each with its wire name, all checked by default.
        for scope in latchkey::domain::scope::Scope::ALL {
            assert!(
                form.body
                    .contains(&format!("value=\"{}\" checked", scope.as_str())),
                "{scope} checked by default"
            );
            assert!(form.body.contains(scope.description()));
        }
        let csrf = crate::helpers::TestApp::csrf_of_session(&app, &slug).await;
        let res = app
            .post_htmx(
                &keys_url(&slug),
                &csrf,
                &[
                    ("name", "CI"),
                    ("scopes", "admin"),
                    ("mode", "test"),
                    ("expiry", "never"),
                ],
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.header("cache-control"), "no-store");
        assert!(!res.body.contains("<html"));
        assert!(res.revealed_key().starts_with("sk_test_"));
    })
    .await;
}

#[actix_web::test]
async fn the_list_shows_masked_keys_with_badges_scopes_creator_and_expiry() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let empty = app.get(&keys_url(&slug)).await;
        assert!(empty.body.contains("data-testid=\"keys-empty\""));
        assert!(empty.body.contains("Create your first key"));

        app.create_key(&slug, &[("name", "Staging worker"), ("scopes", "bots:read"), ("scopes", "bots:write"), ("scopes", "channels:read"), ("mode", "test"), ("environment", "staging"), ("expiry", "7")]).await;
        app.create_key(&slug, &[("name", "Everything"), ("mode", "live"), ("expiry", "date"), ("expiry_date", "2026-03-01")]
            .iter().copied().chain(latchkey::domain::scope::Scope::ALL.iter().map(|s| ("scopes", s.as_str()))).collect::<Vec<_>>()).await;
        let list = app.get(&keys_url(&slug)).await;
        list.assert_status(200);
        assert_eq!(list.header("vary"), "HX-Request");
        let b = &list.body;
        assert!(b.contains("data-key-name=\"Staging worker\""));
        assert!(b.contains("sk_test_staging_"));
        assert!(b.contains("<span class=\"badge badge-test\">test</span><span class=\"badge badge-env\">staging</span>"));
        assert!(b.contains("3 scopes") && b.contains("All scopes"));
        assert!(b.contains("by Ada Owner"));
        // Expires in 7 days → "Expiring soon"; the dated key expires 1 March 00:00 UTC.
        assert!(b.contains("Expiring soon"));
        assert!(b.contains("datetime=\"2026-03-01T00:00:00Z\""));
        assert!(b.contains("title=\"1 Mar 2026, 00:00 UTC\""));
        // Not yet used: an em dash.
        assert!(b.contains("<span class=\"muted\">—</span>"));

        // Once the expiry passes, the status says so.
        app.clock().advance(8 * 86_400);
        // (The session went idle meanwhile.)
        app.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
        let later = app.get_htmx(&keys_url(&slug)).await;
        assert!(later.body.contains("status-expired"));
        assert!(!later.body.contains("<html"));
    })
    .await;
}

#[actix_web::test]
async fn edit_renames_and_changes_scopes_immediately() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.create_key(
            &slug,
            &[("name", "Old name"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        app.create_key(
            &slug,
            &[("name", "Taken"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        let id = id_of(&app, "Old name");
        let url = format!("{}/{id}", keys_url(&slug));
        let form = app.get(&format!("{url}/edit")).await;
        form.assert_status(200);
        assert!(form.body.contains("value=\"Old name\""));
        // The edit form ticks the key's own scopes, and says so (not the create form's words).
        assert!(
            form.body
                .contains("The key&#39;s current scopes are selected.")
        );
        assert!(!form.body.contains("selected by default"));
        let new = app.get(&format!("{}/new", keys_url(&slug))).await;
        assert!(
            new.body
                .contains("Every scope you may grant is selected by default.")
        );

        let dup = app
            .post(
                &url,
                &[
                    ("csrf_token", &form.csrf()),
                    ("name", "Taken"),
                    ("scopes", "bots:read"),
                ],
            )
            .await;
        dup.assert_status(422);
        assert!(dup.body.contains("A key with this name already exists."));

        let ok = app
            .post(
                &url,
                &[
                    ("csrf_token", &form.csrf()),
                    ("name", "New name"),
                    ("scopes", "bots:read"),
                    ("scopes", "channels:write"),
                ],
            )
            .await;
        ok.assert_status(303);
        assert_eq!(ok.location(), keys_url(&slug));
        let (name, scopes): (String, String) = app
            .db(|c| {
                api_keys::table
                    .find(&id)
                    .select((api_keys::name, api_keys::scopes))
                    .first(c)
            })
            .expect("row");
        assert_eq!(
            (name.as_str(), scopes.as_str()),
            ("New name", "bots:read channels:write")
        );
        let list = app.get(&keys_url(&slug)).await;
        assert!(
            list.body.contains("Key “New name” updated."),
            "flash after the redirect"
        );
        let again = app.get(&keys_url(&slug)).await;
        assert!(!again.body.contains("updated."), "the flash shows once");

        // htmx: the list fragment with the flash, and the URL pushed.
        let csrf = form.csrf();
        let res = app
            .post_htmx(
                &url,
                &csrf,
                &[("name", "Newer name"), ("scopes", "bots:read")],
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.header("hx-push-url"), keys_url(&slug));
        assert!(res.body.contains("Key “Newer name” updated.") && !res.body.contains("<html"));
        assert_eq!(
            audit_actions(&app)
                .iter()
                .filter(|a| *a == "api_key.updated")
                .count(),
            2
        );
    })
    .await;
}

#[actix_web::test]
async fn rotate_reveals_a_successor_and_the_old_key_retires_after_the_grace_period() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, old_secret) = app
            .create_key(
                &slug,
                &[
                    ("name", "Prod"),
                    ("scopes", "bots:read"),
                    ("mode", "live"),
                    ("environment", "prod"),
                    ("expiry", "30"),
                ],
            )
            .await;
        let old_id = id_of(&app, "Prod");
        let rotate_url = format!("{}/{old_id}/rotate", keys_url(&slug));
        let page = app.get(&rotate_url).await;
        page.assert_status(200);
        for label in ["Immediately", "1 hour", "24 hours", "7 days"] {
            assert!(page.body.contains(label));
        }
        let bad = app
            .post(
                &rotate_url,
                &[("csrf_token", &page.csrf()), ("grace", "12345")],
            )
            .await;
        bad.assert_status(422);
        assert_eq!(key_rows(&app).len(), 1, "nothing written");

        app.clock().advance(1800);
        let res = app
            .post(
                &rotate_url,
                &[("csrf_token", &page.csrf()), ("grace", "3600")],
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.header("cache-control"), "no-store");
        let new_secret = res.revealed_key();
        assert_ne!(new_secret, old_secret);
        assert!(new_secret.starts_with("sk_live_prod_"));
        assert!(
            res.body
                .contains("keeps working until 15 Jan 2026, 11:30 UTC")
        );

        // Same settings, fresh expiry length; the old key is retiring.
        let rows: Vec<RotationRow> = app
            .db(|c| {
                api_keys::table
                    .select((
                        api_keys::id,
                        api_keys::scopes,
                        api_keys::expires_at,
                        api_keys::created_at,
                        api_keys::retiring_until,
                    ))
                    .order(api_keys::created_at.asc())
                    .load(c)
            })
            .expect("rows");
        assert_eq!(rows.len(), 2);
        let (old, new) = (&rows[0], &rows[1]);
        assert_eq!(old.0, old_id);
        assert_eq!(old.4, Some(crate::helpers::T0 + 1800 + 3600));
        assert_eq!(new.1, "bots:read");
        assert_eq!(new.2.map(|e| e - new.3), Some(30 * 86_400));

        let list = app.get(&keys_url(&slug)).await;
        assert!(list.body.contains("Retiring until 15 Jan, 11:30 UTC"));
        assert_eq!(list.body.matches("data-key-name=\"Prod\"").count(), 2);

        // A retiring key cannot be rotated again.
        let again = app
            .post(&rotate_url, &[("csrf_token", &page.csrf()), ("grace", "0")])
            .await;
        again.assert_status(409);
        assert!(again.body.contains("This key is already being replaced."));
        assert_eq!(key_rows(&app).len(), 2);

        // After the grace period the old key is gone from the list.
        app.clock().advance(3601);
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
        let list = app.get(&keys_url(&slug)).await;
        assert_eq!(list.body.matches("data-key-name=\"Prod\"").count(), 1);
        assert!(!list.body.contains("Retiring until"));
        assert_eq!(
            audit_actions(&app).last().map(String::as_str),
            Some("api_key.rotated")
        );
    })
    .await;
}

#[actix_web::test]
async fn rotate_immediately_with_htmx_revokes_the_old_key_now() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.create_key(
            &slug,
            &[("name", "Worker"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        let old_id = id_of(&app, "Worker");
        let page = app.get(&keys_url(&slug)).await;
        let res = app
            .post_htmx(
                &format!("{}/{old_id}/rotate", keys_url(&slug)),
                &page.csrf(),
                &[("grace", "0")],
            )
            .await;
        res.assert_status(200);
        assert!(!res.body.contains("<html"));
        assert!(res.body.contains("stopped working now"));
        let rows = key_rows(&app);
        let old = rows.iter().find(|r| r.0 == old_id).expect("old row");
        assert_eq!(old.3, Some(app.clock().now()), "revoked at once");
    })
    .await;
}

#[actix_web::test]
async fn delete_revokes_at_once_with_and_without_htmx() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.create_key(
            &slug,
            &[("name", "Leaked"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        app.create_key(
            &slug,
            &[
                ("name", "Also leaked"),
                ("scopes", "admin"),
                ("mode", "live"),
            ],
        )
        .await;
        let id = id_of(&app, "Leaked");
        let confirm = app.get(&format!("{}/{id}/delete", keys_url(&slug))).await;
        confirm.assert_status(200);
        assert!(confirm.body.contains("Delete Leaked?"));
        assert!(
            confirm
                .body
                .contains("Requests using this key will fail immediately")
        );

        let res = app
            .post(
                &format!("{}/{id}/delete", keys_url(&slug)),
                &[("csrf_token", &confirm.csrf())],
            )
            .await;
        res.assert_status(303);
        let revoked: Option<i64> = app
            .db(|c| {
                api_keys::table
                    .find(&id)
                    .select(api_keys::revoked_at)
                    .first(c)
            })
            .expect("row");
        assert_eq!(revoked, Some(app.clock().now()));
        let list = app.get(&keys_url(&slug)).await;
        assert!(
            list.body
                .contains("Key “Leaked” deleted. Requests using it now fail.")
        );
        assert!(!list.body.contains("data-key-name=\"Leaked\""));
        // Deleting again: it is gone.
        app.post(
            &format!("{}/{id}/delete", keys_url(&slug)),
            &[("csrf_token", &confirm.csrf())],
        )
        .await
        .assert_status(404);

        let id2 = id_of(&app, "Also leaked");
        let res = app
            .post_htmx(
                &format!("{}/{id2}/delete", keys_url(&slug)),
                &confirm.csrf(),
                &[],
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.header("hx-push-url"), keys_url(&slug));
        assert!(res.body.contains("Key “Also leaked” deleted."));
        assert!(res.body.contains("data-testid=\"keys-empty\""));
        assert_eq!(
            audit_actions(&app)
                .iter()
                .filter(|a| *a == "api_key.deleted")
                .count(),
            2
        );
        // A name is free again once its key is deleted.
        app.create_key(
            &slug,
            &[("name", "Leaked"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
    })
    .await;
}

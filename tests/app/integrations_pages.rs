//! Team settings → Integrations in the dashboard: add, edit ("Replace"), test, delete, with
//! and without htmx; the credential never shown again (not on a 422 either); who may do what;
//! another team's integration is a 404; the agency dashboard's Integrations column.

use diesel::prelude::*;
use latchkey::db::schema::integrations;
use latchkey::domain::role::Role;

use crate::helpers::{PASSWORD, TestApp, each_db};
use crate::receiver::{Receiver, json_reply};

const CANARY: &str = "canary-page-4c8e2a6f1b3d5e7a9c0b";

fn id_of(app: &TestApp, name: &str) -> String {
    app.db(|c| {
        integrations::table
            .filter(integrations::name.eq(name))
            .select(integrations::id)
            .first(c)
            .expect("id")
    })
}

fn ids(app: &TestApp) -> Vec<String> {
    app.db(|c| {
        integrations::table
            .order(integrations::created_at.asc())
            .select(integrations::id)
            .load(c)
            .expect("ids")
    })
}

/// Adds a Stripe integration pointing at `base` through the no-JS form.
async fn add(
    app: &TestApp,
    slug: &str,
    name: &str,
    base: &str,
    token: &str,
) -> crate::helpers::Resp {
    let page = app
        .get(&format!(
            "/teams/{slug}/settings/integrations/new?provider=stripe"
        ))
        .await;
    page.assert_status(200);
    app.post(
        &format!("/teams/{slug}/settings/integrations"),
        &[
            ("csrf_token", &page.csrf()),
            ("provider", "stripe"),
            ("name", name),
            ("mode", "live"),
            ("base_url", base),
            ("token", token),
            ("check_path", "/balance"),
        ],
    )
    .await
}

#[actix_web::test]
async fn an_admin_adds_tests_replaces_and_deletes_an_integration_and_never_sees_the_credential_again()
 {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let receiver =
            Receiver::start(|_| json_reply(200, r#"{"available":[{"amount":0}]}"#)).await;
        let list = format!("/teams/{slug}/settings/integrations");
        let empty = app.get(&list).await;
        empty.assert_status(200);
        assert!(empty.body.contains("No integrations yet"));
        let chooser = app.get(&format!("{list}/new")).await;
        for provider in [
            "Shopify",
            "WooCommerce",
            "Stripe",
            "HubSpot",
            "Zoho CRM",
            "Calendly",
            "Custom HTTP API",
        ] {
            assert!(chooser.body.contains(provider), "{provider} is offered");
        }
        let form = app.get(&format!("{list}/new?provider=shopify")).await;
        assert!(form.body.contains("Admin API access token"));
        assert!(
            form.body.contains("/shop.json"),
            "the preset's check request is filled in"
        );

        let res = add(&app, &slug, "Payments", &receiver.url(), CANARY).await;
        res.assert_status(303);
        assert_eq!(res.location(), list);
        let page = app.get(&list).await;
        assert!(page.body.contains("Payments"));
        assert!(page.body.contains("Set <time"), "{}", page.body);
        assert!(page.body.contains("by Ada Owner"));
        assert!(page.body.contains("fingerprint"));
        assert!(page.body.contains("Not tested yet"));
        let id = ids(&app).pop().expect("stored");

        // Test connection: stored, shown, audited.
        let res = app
            .post(
                &format!("{list}/{id}/test"),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        res.assert_status(303);
        let page = app.get(&list).await;
        assert!(
            page.body
                .contains("Connection test of “Payments” passed: 200 in"),
            "{}",
            page.body
        );
        assert!(page.body.contains("200 OK ·"));
        assert_eq!(
            receiver.seen()[0].header("authorization"),
            Some(format!("Bearer {CANARY}").as_str())
        );

        // Edit: the credential is offered as "Replace", never filled in; a 422 keeps it out.
        let edit = app.get(&format!("{list}/{id}/edit")).await;
        edit.assert_status(200);
        assert!(edit.body.contains("Replace credential"));
        let bad = app
            .post(
                &format!("{list}/{id}"),
                &[
                    ("csrf_token", &edit.csrf()),
                    ("name", ""),
                    ("base_url", &receiver.url()),
                    ("token", CANARY),
                    ("check_path", "/balance"),
                ],
            )
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("Enter a name."));
        // Replace it (htmx): a new fingerprint, the old one gone.
        let old_fp: String = app.db(|c| {
            integrations::table
                .find(&id)
                .select(integrations::credential_fingerprint.assume_not_null())
                .first(c)
                .expect("fp")
        });
        let res = app
            .post_htmx(
                &format!("{list}/{id}"),
                &edit.csrf(),
                &[
                    ("name", "Payments EU"),
                    ("base_url", &receiver.url()),
                    ("token", "sk_live_new_value"),
                    ("check_path", "/balance"),
                ],
            )
            .await;
        res.assert_status(200);
        assert!(res.body.contains("Integration “Payments EU” saved."));
        assert!(!res.body.contains(&old_fp));
        let version: i64 = app.db(|c| {
            integrations::table
                .find(&id)
                .select(integrations::credential_version)
                .first(c)
                .expect("v")
        });
        assert_eq!(version, 2);
        // Saving without a credential keeps it.
        let res = app
            .post(
                &format!("{list}/{id}"),
                &[
                    ("csrf_token", &edit.csrf()),
                    ("name", "Payments EU"),
                    ("base_url", &receiver.url()),
                    ("check_path", "/balance"),
                ],
            )
            .await;
        res.assert_status(303);
        let version: i64 = app.db(|c| {
            integrations::table
                .find(&id)
                .select(integrations::credential_version)
                .first(c)
                .expect("v")
        });
        assert_eq!(version, 2, "an empty credential field keeps the credential");

        for body in [&page.body, &edit.body, &bad.body, &res.body] {
            assert_eq!(body.matches(CANARY).count(), 0, "the credential came back");
        }
        // Without a credential (say, after `vault forget`) a test says why, not a 500.
        let sealed: Option<String> = app.db(|c| {
            integrations::table
                .find(&id)
                .select(integrations::credential)
                .first(c)
                .expect("row")
        });
        app.db(|c| {
            diesel::update(integrations::table.find(&id))
                .set(integrations::credential.eq(None::<String>))
                .execute(c)
                .expect("clear")
        });
        let res = app
            .post(
                &format!("{list}/{id}/test"),
                &[("csrf_token", &edit.csrf())],
            )
            .await;
        res.assert_status(303);
        assert!(
            app.get(&list)
                .await
                .body
                .contains("was not tested. This integration has no credential yet")
        );
        app.db(|c| {
            diesel::update(integrations::table.find(&id))
                .set(integrations::credential.eq(sealed))
                .execute(c)
                .expect("restore")
        });
        let confirm = app.get(&format!("{list}/{id}/delete")).await;
        assert!(confirm.body.contains("Bot flows that call it will get"));
        let res = app
            .post(
                &format!("{list}/{id}/delete"),
                &[("csrf_token", &confirm.csrf())],
            )
            .await;
        res.assert_status(303);
        assert!(ids(&app).is_empty());
    })
    .await;
}

#[actix_web::test]
async fn bad_form_input_is_a_422_with_messages_next_to_the_fields_and_nothing_is_stored() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let list = format!("/teams/{slug}/settings/integrations");
        let csrf = app.get(&format!("{list}/new?provider=custom")).await.csrf();
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("provider", "shopfy"), ("name", "X"), ("token", "t")],
                "Choose a provider from the list.",
            ),
            (
                vec![
                    ("provider", "stripe"),
                    ("name", "X"),
                    ("base_url", "http://example.com"),
                    ("token", "t"),
                ],
                "only reaches",
            ),
            (
                vec![
                    ("provider", "custom"),
                    ("name", "X"),
                    ("base_url", "https://10.0.0.8/api"),
                    ("token", "t"),
                ],
                "private or reserved address",
            ),
            (
                vec![
                    ("provider", "shopify"),
                    ("name", "X"),
                    (
                        "base_url",
                        "https://{store}.myshopify.com/admin/api/2025-01",
                    ),
                    ("token", "t"),
                ],
                "Replace the {placeholder}",
            ),
            (
                vec![("provider", "stripe"), ("name", "X")],
                "Enter the credential.",
            ),
            (
                vec![
                    ("provider", "woocommerce"),
                    ("name", "X"),
                    ("base_url", "https://shop.example/wp-json/wc/v3"),
                    ("username", "ck_1"),
                ],
                "Enter the password.",
            ),
            (
                vec![
                    ("provider", "custom"),
                    ("name", "X"),
                    ("base_url", "https://api.example"),
                    ("credential_placement", "header"),
                    ("token", "t"),
                ],
                "Enter the header or parameter name.",
            ),
            (
                vec![
                    ("provider", "stripe"),
                    ("name", "X"),
                    ("check_path", "/../admin"),
                    ("token", "t"),
                ],
                "Enter a path that starts with /",
            ),
            (
                vec![("provider", "stripe"), ("name", ""), ("token", "t")],
                "Enter a name.",
            ),
            (
                vec![
                    ("provider", "stripe"),
                    ("name", "X"),
                    ("mode", "prod"),
                    ("token", "t"),
                ],
                "Choose live or test.",
            ),
        ];
        for (fields, message) in cases {
            let mut form = vec![("csrf_token", csrf.as_str()), ("mode", "live")];
            if fields.iter().any(|(k, _)| *k == "mode") {
                form.retain(|(k, _)| *k != "mode");
            }
            form.extend(fields.iter().copied());
            let res = app.post(&list, &form).await;
            res.assert_status(422);
            assert!(
                res.body.contains(message),
                "{fields:?}: expected {message:?}"
            );
            assert!(
                res.body.contains("aria-invalid=\"true\"") || message.starts_with("Choose"),
                "{fields:?}"
            );
            assert!(
                !res.body.contains("value=\"t\""),
                "a credential is never echoed"
            );
        }
        assert!(ids(&app).is_empty(), "nothing was stored");
    })
    .await;
}

#[actix_web::test]
async fn viewers_read_developers_manage_their_own_and_other_teams_get_404() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let receiver = Receiver::ok().await;
        add(&app, &slug, "Owner int", &receiver.url(), "tok_owner")
            .await
            .assert_status(303);
        let owners = id_of(&app, "Owner int");
        let ada = app.cookies();
        app.add_member(&slug, "dev@example.com", Role::Developer)
            .await;
        app.add_member(&slug, "viewer@example.com", Role::Viewer)
            .await;
        let list = format!("/teams/{slug}/settings/integrations");

        app.swap_cookies(Default::default());
        app.sign_in("viewer@example.com", PASSWORD)
            .await
            .assert_status(303);
        let page = app.get(&list).await;
        page.assert_status(200);
        assert!(page.body.contains("Owner int"));
        assert!(
            !page.body.contains("Add integration"),
            "a viewer is not offered to add"
        );
        assert!(!page.body.contains("Test connection"));
        app.get(&format!("{list}/new")).await.assert_status(403);
        app.get(&format!("{list}/{owners}/edit"))
            .await
            .assert_status(403);
        let res = app
            .post(
                &format!("{list}/{owners}/delete"),
                &[("csrf_token", &page.csrf())],
            )
            .await;
        res.assert_status(403);

        app.swap_cookies(Default::default());
        app.sign_in("dev@example.com", PASSWORD)
            .await
            .assert_status(303);
        add(&app, &slug, "Dev int", &receiver.url(), "tok_dev")
            .await
            .assert_status(303);
        let devs = id_of(&app, "Dev int");
        app.get(&format!("{list}/{devs}/edit"))
            .await
            .assert_status(200);
        app.get(&format!("{list}/{owners}/edit"))
            .await
            .assert_status(403);
        let csrf = app.get(&list).await.csrf();
        app.post(&format!("{list}/{owners}/test"), &[("csrf_token", &csrf)])
            .await
            .assert_status(403);

        // Another team's owner: Acme's integration through their own team's URL is a 404,
        // identical to one that does not exist.
        app.swap_cookies(ada);
        let globex = app.team_owned_by("ada@example.com", "Globex");
        let missing = format!("int_{}", "0".repeat(20));
        let theirs = app
            .get(&format!(
                "/teams/{globex}/settings/integrations/{owners}/edit"
            ))
            .await;
        let none = app
            .get(&format!(
                "/teams/{globex}/settings/integrations/{missing}/edit"
            ))
            .await;
        theirs.assert_status(404);
        none.assert_status(404);
        let csrf = app
            .get(&format!("/teams/{globex}/settings/integrations"))
            .await
            .csrf();
        app.post(
            &format!("/teams/{globex}/settings/integrations/{owners}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(404);
        assert_eq!(ids(&app).len(), 2, "nothing was deleted");
        assert!(
            !app.get(&format!("/teams/{globex}/settings/integrations"))
                .await
                .body
                .contains("Owner int")
        );
    })
    .await;
}

#[actix_web::test]
async fn operators_manage_a_clients_integrations_and_the_agency_dashboard_counts_them() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Home").await;
        let agency = crate::agencies::create_agency(&app, "Northstar").await;
        let harbor = crate::agencies::create_client(&app, &agency, "Harbor").await;
        let atlas = crate::agencies::create_client(&app, &agency, "Atlas").await;
        let down = Receiver::start(|_| json_reply(503, "down for maintenance")).await;
        add(&app, &harbor, "Harbor shop", &down.url(), "harbor-secret")
            .await
            .assert_status(303);
        let id = ids(&app).pop().expect("added");
        let list = format!("/teams/{harbor}/settings/integrations");
        let page = app.get(&list).await;
        assert!(page.body.contains("Harbor shop"));
        let dashboard = app.get(&format!("/agencies/{agency}")).await;
        assert!(
            dashboard.body.contains("1 integrations of Harbor"),
            "{}",
            dashboard.body
        );
        assert!(!dashboard.body.contains("failing"));
        app.post(
            &format!("{list}/{id}/test"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(303);
        let dashboard = app.get(&format!("/agencies/{agency}")).await;
        assert!(dashboard.body.contains("1 failing"));
        assert!(dashboard.body.contains("0 integrations of Atlas"));
        assert!(!dashboard.body.contains("harbor-secret"));
        // Atlas's pages do not know Harbor's integration.
        app.get(&format!("/teams/{atlas}/settings/integrations/{id}/edit"))
            .await
            .assert_status(404);
        assert!(
            !app.get(&format!("/teams/{atlas}/settings/integrations"))
                .await
                .body
                .contains("Harbor shop")
        );
    })
    .await;
}

#[actix_web::test]
async fn the_custom_form_marks_each_input_with_the_placement_that_uses_it_and_shows_usernames() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let page = app
            .get(&format!(
                "/teams/{slug}/settings/integrations/new?provider=custom"
            ))
            .await;
        page.assert_status(200);
        // The stylesheet shows only the inputs of the chosen placement (no script needed).
        assert!(page.body.contains("class=\"form custom-credential\""));
        assert!(page.body.contains("<div class=\"field for-named\">"));
        let input = |name: &str| {
            let at = page.body.find(&format!("name=\"{name}\"")).expect(name);
            let open = page.body[..at].rfind("<div class=\"for-").expect("wrapper");
            let tag_start = page.body[..at].rfind("<input").expect("input");
            (
                page.body[open..open + 24].to_owned(),
                page.body[tag_start..at].to_owned(),
            )
        };
        let (wrap, tag) = input("token");
        assert!(wrap.starts_with("<div class=\"for-token\""), "{wrap}");
        assert!(tag.contains("type=\"password\""));
        let (wrap, tag) = input("username");
        assert!(wrap.starts_with("<div class=\"for-basic\""), "{wrap}");
        assert!(
            tag.contains("type=\"text\""),
            "a username is not masked: {tag}"
        );
        let (wrap, tag) = input("password");
        assert!(wrap.starts_with("<div class=\"for-basic\""));
        assert!(tag.contains("type=\"password\""));
        // A preset shows only its own input, and no placement choice.
        let stripe = app
            .get(&format!(
                "/teams/{slug}/settings/integrations/new?provider=stripe"
            ))
            .await;
        assert!(!stripe.body.contains("custom-credential"));
        assert!(!stripe.body.contains("name=\"username\""));
    })
    .await;
}

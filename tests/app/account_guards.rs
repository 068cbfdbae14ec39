//! The account's guards: a team's (or an agency's) requirement of a second factor, enforced on
//! the next request of a member without one, and "Confirm it's you" before the most dangerous
//! actions once the sign-in is older than ten minutes.

use std::collections::HashMap;

use diesel::prelude::*;
use latchkey::db::schema::{agencies, agency_hosts, api_keys, audit_events, memberships, teams};
use latchkey::domain::role::Role;

use crate::agencies::{add_operator, create_agency, create_client, post_brand};
use crate::helpers::{PASSWORD, TestApp, each_db};
use crate::two_factor::{code_at, enrol_as};

const BOB: &str = "bob@example.com";

fn team_requires(app: &TestApp, slug: &str) -> bool {
    let slug = slug.to_owned();
    app.db(|c| {
        teams::table
            .filter(teams::slug.eq(&slug))
            .select(teams::require_two_factor)
            .first(c)
            .expect("team")
    })
}

fn audited(app: &TestApp, action: &str) -> i64 {
    let action = action.to_owned();
    app.db(|c| {
        audit_events::table
            .filter(audit_events::action.eq(&action))
            .count()
            .get_result(c)
            .expect("count")
    })
}

async fn sign_in_as(app: &TestApp, email: &str) {
    app.swap_cookies(HashMap::new());
    app.sign_in(email, PASSWORD).await.assert_status(303);
}

#[actix_web::test]
async fn a_team_that_requires_two_factor_sends_members_without_it_to_set_it_up_first() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, BOB, Role::Developer).await;
        let ada = app.cookies();
        let members = format!("/teams/{slug}/settings/members");
        let policy = format!("{members}/two-factor");

        // An owner without a second factor cannot require one (they would be locked out).
        let page = app.get(&members).await;
        page.assert_status(200);
        assert!(page.body.contains("Require two-factor sign-in"));
        let refused = app
            .post(
                &policy,
                &[("csrf_token", &page.csrf()), ("required", "true")],
            )
            .await;
        refused.assert_status(422);
        assert!(
            refused
                .body
                .contains("Set up two-factor sign-in for your own account first")
        );
        assert!(!team_requires(&app, &slug));
        // Nonsense is a 400 and changes nothing.
        app.post(
            &policy,
            &[("csrf_token", &page.csrf()), ("required", "maybe")],
        )
        .await
        .assert_status(400);

        enrol_as(&app, "ada@example.com").await;
        let on = app
            .post(
                &policy,
                &[("csrf_token", &page.csrf()), ("required", "true")],
            )
            .await;
        on.assert_status(303);
        assert!(team_requires(&app, &slug));
        assert_eq!(audited(&app, "team.two_factor_required"), 1);
        let listed = app.get(&members).await;
        assert!(listed.body.contains("1 of 2 have it on"));
        let bob_row = listed
            .body
            .split("data-member-email=\"bob@example.com\"")
            .nth(1)
            .expect("bob's row");
        assert!(bob_row[..bob_row.find("</tr>").expect("row end")].contains(">Off<"));

        // Bob, without a second factor: every page of the team sends him to set one up, a
        // form post too, and htmx navigates the whole page there.
        sign_in_as(&app, BOB).await;
        for path in [format!("/teams/{slug}/settings/api-keys"), members.clone()] {
            let res = app.get(&path).await;
            assert_eq!(res.status, 303, "{path}");
            assert_eq!(res.location(), "/account");
        }
        let csrf = app.get("/account").await.csrf();
        let htmx = app
            .post_htmx(&format!("/teams/{slug}/settings/members/leave"), &csrf, &[])
            .await;
        assert_eq!(htmx.status, 303);
        assert_eq!(htmx.header("hx-redirect"), "/account");
        let still: i64 = app.db(|c| memberships::table.count().get_result(c).expect("n"));
        assert_eq!(still, 2, "nothing was done");
        let account = app.get("/account").await;
        assert!(account.body.contains("Acme requires two-factor sign-in."));
        // The policy's own form is the owner's: a developer posting it is refused.
        enrol_as(&app, BOB).await;
        app.get(&format!("/teams/{slug}/settings/api-keys"))
            .await
            .assert_status(200);
        app.post(&policy, &[("csrf_token", &csrf), ("required", "false")])
            .await
            .assert_status(403);
        // While the team requires it, it stays on.
        let off = app
            .post(
                "/account/two-factor/disable",
                &[("csrf_token", &csrf), ("code", "000000")],
            )
            .await;
        off.assert_status(422);
        assert!(
            off.body
                .contains("Acme requires two-factor sign-in of its members")
        );

        app.swap_cookies(ada);
        app.post(
            &policy,
            &[("csrf_token", &page.csrf()), ("required", "false")],
        )
        .await
        .assert_status(303);
        assert!(!team_requires(&app, &slug));
        assert_eq!(audited(&app, "team.two_factor_optional"), 1);
    })
    .await;
}

#[actix_web::test]
async fn an_agency_that_requires_two_factor_holds_its_operators_to_it_in_every_client() {
    each_db(|app| async move {
        let own = app.set_up("ada@example.com", "Ada's team").await;
        let agency = create_agency(&app, "Northstar").await;
        let client = create_client(&app, &agency, "Client One").await;
        app.add_member(&own, BOB, Role::Developer).await;
        add_operator(&app, &agency, BOB);
        app.add_member(&client, "carol@example.com", Role::Admin)
            .await;
        let ada = app.cookies();
        enrol_as(&app, "ada@example.com").await;
        let page = app.get(&format!("/agencies/{agency}/operators")).await;
        assert!(page.body.contains("0 of 2 have it on") || page.body.contains("1 of 2 have it on"));
        app.post(
            &format!("/agencies/{agency}/operators/two-factor"),
            &[("csrf_token", &page.csrf()), ("required", "true")],
        )
        .await
        .assert_status(303);
        let required: bool = app.db(|c| {
            agencies::table
                .select(agencies::require_two_factor)
                .first(c)
                .expect("agency")
        });
        assert!(required);

        // The operator is sent away from the agency and from its clients…
        sign_in_as(&app, BOB).await;
        for path in [
            format!("/agencies/{agency}"),
            format!("/teams/{client}/settings/api-keys"),
        ] {
            let res = app.get(&path).await;
            assert_eq!(res.status, 303, "{path}");
            assert_eq!(res.location(), "/account");
        }
        // …but not from a team of his own that does not require it.
        app.get(&format!("/teams/{own}/settings/api-keys"))
            .await
            .assert_status(200);
        // The client's own members answer to the client's policy, not the agency's.
        sign_in_as(&app, "carol@example.com").await;
        app.get(&format!("/teams/{client}/settings/api-keys"))
            .await
            .assert_status(200);
        app.swap_cookies(ada);
        assert!(
            app.get(&format!("/agencies/{agency}/operators"))
                .await
                .body
                .contains("Stop requiring two-factor sign-in")
        );
    })
    .await;
}

#[actix_web::test]
async fn the_most_dangerous_actions_ask_for_the_password_again_after_ten_minutes() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, BOB, Role::Admin).await;
        let keys = format!("/teams/{slug}/settings/api-keys");
        let key_count = || -> i64 { app.db(|c| api_keys::table.count().get_result(c).expect("n")) };
        let admin_key = |csrf: &str| {
            vec![
                ("csrf_token".to_owned(), csrf.to_owned()),
                ("name".to_owned(), format!("Root {}", key_count() + 1)),
                ("mode".to_owned(), "live".to_owned()),
                ("scopes".to_owned(), "admin".to_owned()),
                ("expiry".to_owned(), "never".to_owned()),
            ]
        };
        let pairs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
        let post = |path: String, fields: Vec<(String, String)>| {
            let app = &app;
            async move {
                let refs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                app.post(&path, &refs).await
            }
        };

        // Just signed in: an admin key is made without asking.
        let csrf = app.get(&format!("{keys}/new")).await.csrf();
        post(keys.clone(), pairs(&admin_key(&csrf)))
            .await
            .assert_status(200);
        assert_eq!(key_count(), 1);

        // Eleven minutes on: the same form is answered by "Confirm it's you", nothing made.
        app.clock().advance(11 * 60);
        let ask = post(keys.clone(), pairs(&admin_key(&csrf))).await;
        ask.assert_status(403);
        assert!(ask.body.contains("Confirm it's you"));
        assert!(ask.body.contains("name=\"confirm_password\""));
        assert!(
            ask.body.contains("name=\"scopes\" value=\"admin\""),
            "the form is carried"
        );
        assert!(
            !ask.body.contains("name=\"confirm_code\""),
            "no second factor yet"
        );
        assert_eq!(key_count(), 1);
        // A key without admin is not asked about.
        app.create_key(
            &slug,
            &[
                ("name", "Reader"),
                ("mode", "live"),
                ("scopes", "bots:read"),
                ("expiry", "never"),
            ],
        )
        .await;
        assert_eq!(key_count(), 2);
        // A wrong password: 422, nothing made, noted on the account.
        let mut wrong = admin_key(&ask.csrf());
        wrong.push(("confirm_password".into(), "not-the-password".into()));
        let refused = post(keys.clone(), wrong).await;
        refused.assert_status(422);
        assert!(refused.body.contains("That is not your password."));
        assert_eq!(key_count(), 2);
        // The right one: the key is made in the same step, and for ten minutes nothing asks.
        let mut right = admin_key(&ask.csrf());
        right.push(("confirm_password".into(), PASSWORD.into()));
        let made = post(keys.clone(), right).await;
        made.assert_status(200);
        assert!(made.body.contains("API key created"));
        assert_eq!(key_count(), 3);
        assert!(
            app.get("/account")
                .await
                .body
                .contains("Confirmed it was you for a sensitive action")
        );
        app.clock().advance(5 * 60);
        post(keys.clone(), pairs(&admin_key(&csrf)))
            .await
            .assert_status(200);
        assert_eq!(key_count(), 4);

        // With two-factor on, a code is asked too; transfer of ownership goes through once both
        // are right.
        let (secret, _) = enrol_as(&app, "ada@example.com").await;
        app.clock().advance(11 * 60);
        let bob: String = app.db(|c| {
            latchkey::db::schema::users::table
                .filter(latchkey::db::schema::users::email.eq(BOB))
                .select(latchkey::db::schema::users::id)
                .first(c)
                .expect("bob")
        });
        let transfer = format!("/teams/{slug}/settings/members/transfer");
        let csrf = app
            .get(&format!("/teams/{slug}/settings/members"))
            .await
            .csrf();
        let base = vec![
            ("csrf_token".to_owned(), csrf.clone()),
            ("user_id".to_owned(), bob.clone()),
        ];
        let ask = post(transfer.clone(), base.clone()).await;
        ask.assert_status(403);
        assert!(ask.body.contains("name=\"confirm_code\""));
        let mut no_code = base.clone();
        no_code.push(("confirm_password".into(), PASSWORD.into()));
        no_code.push(("confirm_code".into(), "000000".into()));
        let refused = post(transfer.clone(), no_code).await;
        refused.assert_status(422);
        assert!(refused.body.contains("That code is not right"));
        let owner_role = |id: &str| -> String {
            let id = id.to_owned();
            app.db(|c| {
                memberships::table
                    .filter(memberships::user_id.eq(&id))
                    .select(memberships::role)
                    .first(c)
                    .expect("role")
            })
        };
        assert_eq!(owner_role(&bob), "admin");
        let mut both = base.clone();
        both.push(("confirm_password".into(), PASSWORD.into()));
        both.push(("confirm_code".into(), code_at(&secret, app.clock().now())));
        post(transfer.clone(), both).await.assert_status(303);
        assert_eq!(owner_role(&bob), "owner");
    })
    .await;
}

#[actix_web::test]
async fn deleting_a_client_changing_brand_hosts_and_turning_two_factor_off_are_confirmed_too() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        let agency = create_agency(&app, "Northstar").await;
        let client = create_client(&app, &agency, "Client One").await;
        app.clock().advance(11 * 60);

        // Brand: other fields save without asking; new host names ask.
        let csrf = app.get(&format!("/agencies/{agency}/brand")).await.csrf();
        post_brand(
            &app,
            &agency,
            &[
                ("csrf_token", &csrf),
                ("product_name", "Northstar Keys"),
                ("hosts", ""),
            ],
            None,
        )
        .await
        .assert_status(303);
        let ask = post_brand(
            &app,
            &agency,
            &[
                ("csrf_token", &csrf),
                ("product_name", "Northstar Keys"),
                ("hosts", "keys.northstar.test"),
            ],
            None,
        )
        .await;
        ask.assert_status(403);
        assert!(ask.body.contains("enctype=\"multipart/form-data\""));
        let hosts = || -> i64 { app.db(|c| agency_hosts::table.count().get_result(c).expect("n")) };
        assert_eq!(hosts(), 0);
        post_brand(
            &app,
            &agency,
            &[
                ("csrf_token", &ask.csrf()),
                ("product_name", "Northstar Keys"),
                ("hosts", "keys.northstar.test"),
                ("confirm_password", PASSWORD),
            ],
            None,
        )
        .await
        .assert_status(303);
        assert_eq!(hosts(), 1);

        // Deleting a client.
        app.clock().advance(11 * 60);
        let delete = format!("/agencies/{agency}/clients/{client}/delete");
        let csrf = app.get(&delete).await.csrf();
        let ask = app
            .post(&delete, &[("csrf_token", &csrf), ("confirm", "Client One")])
            .await;
        ask.assert_status(403);
        let clients = || -> i64 {
            app.db(|c| {
                teams::table
                    .filter(teams::agency_id.is_not_null())
                    .count()
                    .get_result(c)
                    .expect("n")
            })
        };
        assert_eq!(clients(), 1);
        app.post(
            &delete,
            &[
                ("csrf_token", &ask.csrf()),
                ("confirm", "Client One"),
                ("confirm_password", PASSWORD),
            ],
        )
        .await
        .assert_status(303);
        assert_eq!(clients(), 0);

        // Turning two-factor off: the password again (the form's own code is the second
        // factor, so no second code is asked).
        let (secret, _) = enrol_as(&app, "ada@example.com").await;
        app.clock().advance(11 * 60);
        let csrf = app.get("/account").await.csrf();
        let code = code_at(&secret, app.clock().now());
        let ask = app
            .post(
                "/account/two-factor/disable",
                &[("csrf_token", &csrf), ("code", &code)],
            )
            .await;
        ask.assert_status(403);
        assert!(!ask.body.contains("name=\"confirm_code\""));
        app.post(
            "/account/two-factor/disable",
            &[
                ("csrf_token", &ask.csrf()),
                ("code", &code),
                ("confirm_password", PASSWORD),
            ],
        )
        .await
        .assert_status(303);
        let on: i64 = app.db(|c| {
            latchkey::db::schema::user_totp::table
                .count()
                .get_result(c)
                .expect("n")
        });
        assert_eq!(on, 0);
    })
    .await;
}

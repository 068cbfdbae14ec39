//! Team settings → Members: invitations (once, 7 days, the invited address only), role
//! changes and removals that apply on the member's very next request, ownership transfer,
//! leaving, and the role rules of who may do which.

use diesel::prelude::*;
use latchkey::db::schema::{audit_events, invitations, memberships, users};
use latchkey::domain::role::Role;

use crate::helpers::{PASSWORD, TestApp, each_db};

fn members_url(slug: &str) -> String {
    format!("/teams/{slug}/settings/members")
}

/// Invites `email` as `role` through the page; returns the one-time link's path.
async fn invite(app: &TestApp, slug: &str, email: &str, role: &str) -> String {
    let page = app.get(&members_url(slug)).await;
    page.assert_status(200);
    let res = app
        .post(
            &format!("{}/invitations", members_url(slug)),
            &[
                ("csrf_token", &page.csrf()),
                ("email", email),
                ("role", role),
            ],
        )
        .await;
    res.assert_status(200);
    assert_eq!(res.header("cache-control"), "no-store");
    let start = res
        .body
        .find("/invitations?token=")
        .expect("the link is shown");
    let tail = &res.body[start..];
    let end = tail.find('"').expect("end of link");
    tail[..end].to_owned()
}

fn role_of(app: &TestApp, email: &str) -> Option<String> {
    app.db(|c| {
        memberships::table
            .inner_join(users::table)
            .filter(users::email.eq(email))
            .select(memberships::role)
            .first(c)
            .optional()
    })
    .expect("query")
}

#[actix_web::test]
async fn an_invitation_link_signs_up_the_invitee_once_and_only_for_their_address() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let link = invite(&app, &slug, "Bob@Example.com", "developer").await;
        let stored: Vec<String> = app
            .db(|c| invitations::table.select(invitations::token_digest).load(c))
            .expect("rows");
        let token = link.split("token=").nth(1).expect("token");
        assert!(
            !stored.iter().any(|d| d.contains(token)),
            "only a digest is stored"
        );
        // The page lists it as pending; the link itself is never shown again.
        let list = app.get(&members_url(&slug)).await;
        assert!(
            list.body
                .contains("data-invitation-email=\"bob@example.com\"")
        );
        assert!(!list.body.contains(token));

        // Someone signed in with another address cannot use it.
        let page = app.get(&link).await;
        page.assert_status(200);
        assert!(page.body.contains("data-state=\"wrong-account\""));
        let refused = app
            .post(
                "/invitations",
                &[("csrf_token", &page.csrf()), ("token", token)],
            )
            .await;
        refused.assert_status(403);
        assert_eq!(role_of(&app, "bob@example.com"), None);

        // Signed out: the invitee picks a name and password; bad input changes nothing.
        app.swap_cookies(Default::default());
        let page = app.get(&link).await;
        assert!(page.body.contains("data-state=\"sign-up\""));
        let bad = app
            .post(
                "/invitations",
                &[
                    ("csrf_token", &page.csrf()),
                    ("token", token),
                    ("name", ""),
                    ("password", "short"),
                ],
            )
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("id=\"name-error\""));
        assert!(bad.body.contains("id=\"password-error\""));
        let n: i64 = app
            .db(|c| users::table.count().get_result(c))
            .expect("count");
        assert_eq!(n, 1, "no account created");
        let ok = app
            .post(
                "/invitations",
                &[
                    ("csrf_token", &page.csrf()),
                    ("token", token),
                    ("name", "Bob"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        ok.assert_status(303);
        assert_eq!(ok.location(), format!("/teams/{slug}/settings/api-keys"));
        assert_eq!(
            role_of(&app, "bob@example.com").as_deref(),
            Some("developer")
        );
        let keys = app.get(ok.location()).await;
        keys.assert_status(200);
        assert!(keys.body.contains("Welcome to Acme."));

        // Used once: the link is closed for everyone now.
        let again = app.get(&link).await;
        again.assert_status(410);
        assert!(again.body.contains("already been used"));
        app.swap_cookies(Default::default());
        app.get(&link).await.assert_status(410);
        app.get("/invitations?token=nope").await.assert_status(404);
        app.get("/invitations").await.assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn invitations_expire_after_seven_days_and_can_be_withdrawn() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let old = invite(&app, &slug, "carol@example.com", "viewer").await;
        // A second invitation to the same address replaces the first.
        let withdrawn = invite(&app, &slug, "carol@example.com", "admin").await;
        app.get(&old).await.assert_status(410);
        let list = app.get(&members_url(&slug)).await;
        let id: String = app
            .db(|c| {
                invitations::table
                    .filter(invitations::revoked_at.is_null())
                    .select(invitations::id)
                    .first(c)
            })
            .expect("open invitation");
        app.post(
            &format!("{}/invitations/{id}/revoke", members_url(&slug)),
            &[("csrf_token", &list.csrf())],
        )
        .await
        .assert_status(303);
        let page = app.get(&withdrawn).await;
        page.assert_status(410);
        assert!(page.body.contains("withdrawn"));

        let link = invite(&app, &slug, "carol@example.com", "developer").await;
        app.clock().advance(7 * 86_400 - 1);
        app.get(&link).await.assert_status(200);
        app.clock().advance(1);
        let page = app.get(&link).await;
        page.assert_status(410);
        assert!(page.body.contains("has expired"));
        assert_eq!(role_of(&app, "carol@example.com"), None);
    })
    .await;
}

#[actix_web::test]
async fn an_existing_account_signs_in_first_and_comes_back_to_accept() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let other = app.team_owned_by("ada@example.com", "Other");
        app.add_member(&other, "dan@example.com", Role::Viewer)
            .await;
        let link = invite(&app, &slug, "dan@example.com", "admin").await;
        app.swap_cookies(Default::default());
        let page = app.get(&link).await;
        assert!(page.body.contains("data-state=\"sign-in\""));
        let login = app.get("/login").await;
        let res = app
            .post(
                "/login",
                &[
                    ("csrf_token", &login.csrf()),
                    ("email", "dan@example.com"),
                    ("password", PASSWORD),
                    ("next", &link),
                ],
            )
            .await;
        res.assert_status(303);
        assert_eq!(res.location(), link);
        let page = app.get(&link).await;
        assert!(page.body.contains("data-state=\"join\""));
        let token = link.split("token=").nth(1).expect("token");
        app.post(
            "/invitations",
            &[("csrf_token", &page.csrf()), ("token", token)],
        )
        .await
        .assert_status(303);
        let roles: Vec<String> = app
            .db(|c| {
                memberships::table
                    .inner_join(users::table)
                    .filter(users::email.eq("dan@example.com"))
                    .select(memberships::role)
                    .order(memberships::role)
                    .load(c)
            })
            .expect("roles");
        assert_eq!(roles, vec!["admin".to_owned(), "viewer".to_owned()]);
    })
    .await;
}

#[actix_web::test]
async fn removing_or_demoting_a_member_applies_on_their_next_request() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "eve@example.com", Role::Admin).await;
        let ada = app.cookies();
        app.swap_cookies(Default::default());
        app.sign_in("eve@example.com", PASSWORD).await;
        let eve = app.cookies();
        app.get(&format!("/teams/{slug}/settings/api-keys/new"))
            .await
            .assert_status(200);

        // Ada demotes Eve to viewer: Eve's open session loses key creation at once.
        app.swap_cookies(ada.clone());
        let eve_id: String = app
            .db(|c| {
                users::table
                    .filter(users::email.eq("eve@example.com"))
                    .select(users::id)
                    .first(c)
            })
            .expect("eve");
        let page = app.get(&members_url(&slug)).await;
        app.post(
            &format!("{}/{eve_id}/role", members_url(&slug)),
            &[("csrf_token", &page.csrf()), ("role", "viewer")],
        )
        .await
        .assert_status(303);
        app.swap_cookies(eve.clone());
        app.get(&format!("/teams/{slug}/settings/api-keys/new"))
            .await
            .assert_status(403);
        app.get(&format!("/teams/{slug}/settings/api-keys"))
            .await
            .assert_status(200);

        // Removed: the same session now gets 404 for the team.
        app.swap_cookies(ada);
        let page = app.get(&members_url(&slug)).await;
        app.post(
            &format!("{}/{eve_id}/remove", members_url(&slug)),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(303);
        app.swap_cookies(eve);
        app.get(&format!("/teams/{slug}/settings/api-keys"))
            .await
            .assert_status(404);
        let actions: Vec<String> = app
            .db(|c| audit_events::table.select(audit_events::action).load(c))
            .expect("events");
        assert!(actions.contains(&"member.role_changed".to_owned()));
        assert!(actions.contains(&"member.removed".to_owned()));
    })
    .await;
}

#[actix_web::test]
async fn admins_cannot_touch_owners_and_the_last_owner_stays() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "adm@example.com", Role::Admin).await;
        app.add_member(&slug, "dev@example.com", Role::Developer)
            .await;
        let ada_id: String = app
            .db(|c| {
                users::table
                    .filter(users::email.eq("ada@example.com"))
                    .select(users::id)
                    .first(c)
            })
            .expect("ada");
        let ada = app.cookies();
        app.swap_cookies(Default::default());
        app.sign_in("adm@example.com", PASSWORD).await;
        let page = app.get(&members_url(&slug)).await;
        let csrf = page.csrf();
        // No owner option, no controls on the owner's row.
        assert!(!page.body.contains("<option value=\"owner\""));
        for (path, form) in [
            (
                format!("{}/{ada_id}/role", members_url(&slug)),
                vec![("role", "viewer")],
            ),
            (format!("{}/{ada_id}/remove", members_url(&slug)), vec![]),
        ] {
            let mut all = vec![("csrf_token", csrf.as_str())];
            all.extend(form);
            app.post(&path, &all).await.assert_status(403);
        }
        let invite_owner = app
            .post(
                &format!("{}/invitations", members_url(&slug)),
                &[
                    ("csrf_token", &csrf),
                    ("email", "x@example.com"),
                    ("role", "owner"),
                ],
            )
            .await;
        invite_owner.assert_status(422);
        assert!(
            invite_owner
                .body
                .contains("Ownership moves only by transfer.")
        );
        app.post(
            &format!("{}/transfer", members_url(&slug)),
            &[("csrf_token", &csrf), ("user_id", &ada_id)],
        )
        .await
        .assert_status(403);
        // Developers and viewers manage nobody.
        app.swap_cookies(Default::default());
        app.sign_in("dev@example.com", PASSWORD).await;
        let page = app.get(&members_url(&slug)).await;
        assert!(!page.body.contains("data-testid=\"invite-form\""));
        app.post(
            &format!("{}/invitations", members_url(&slug)),
            &[
                ("csrf_token", &page.csrf()),
                ("email", "x@example.com"),
                ("role", "viewer"),
            ],
        )
        .await
        .assert_status(403);
        assert_eq!(role_of(&app, "ada@example.com").as_deref(), Some("owner"));
        let n: i64 = app
            .db(|c| invitations::table.count().get_result(c))
            .expect("n");
        assert_eq!(n, 0, "nothing written");

        // The sole owner cannot leave; after transferring, they can.
        app.swap_cookies(ada);
        let page = app.get(&members_url(&slug)).await;
        assert!(page.body.contains("You are the only owner."));
        app.post(
            &format!("{}/leave", members_url(&slug)),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(303);
        assert_eq!(role_of(&app, "ada@example.com").as_deref(), Some("owner"));
        let adm_id: String = app
            .db(|c| {
                users::table
                    .filter(users::email.eq("adm@example.com"))
                    .select(users::id)
                    .first(c)
            })
            .expect("adm");
        app.post(
            &format!("{}/transfer", members_url(&slug)),
            &[("csrf_token", &page.csrf()), ("user_id", &adm_id)],
        )
        .await
        .assert_status(303);
        assert_eq!(role_of(&app, "adm@example.com").as_deref(), Some("owner"));
        assert_eq!(role_of(&app, "ada@example.com").as_deref(), Some("admin"));
        let page = app.get(&members_url(&slug)).await;
        app.post(
            &format!("{}/leave", members_url(&slug)),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(303);
        assert_eq!(role_of(&app, "ada@example.com"), None);
        app.get(&members_url(&slug)).await.assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn removing_a_member_and_transferring_ownership_ask_first_and_change_nothing_until_confirmed()
{
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "bob@example.com", Role::Developer)
            .await;
        let bob: String = app.db(|c| {
            users::table
                .filter(users::email.eq("bob@example.com"))
                .select(users::id)
                .first(c)
                .expect("bob")
        });
        // Bob made two keys; one still works.
        let made = |expired: bool| {
            let (id, _) = app.make_key(crate::helpers::KeySpec {
                team: &slug,
                scopes: &["bots:read"],
                mode: "live",
            });
            app.db(|c| {
                use latchkey::db::schema::api_keys;
                diesel::update(api_keys::table.find(&id))
                    .set((
                        api_keys::created_by.eq(Some(bob.as_str())),
                        api_keys::expires_at.eq(expired.then_some(crate::helpers::T0 - 1)),
                    ))
                    .execute(c)
                    .expect("creator")
            });
        };
        made(false);
        made(true);
        let list = app.get(&members_url(&slug)).await;
        let remove = format!("{}/{bob}/remove", members_url(&slug));
        assert!(list.body.contains(&format!("href=\"{remove}\"")));
        for page in [app.get(&remove).await, app.get_htmx(&remove).await] {
            page.assert_status(200);
            assert!(page.body.contains("Remove bob@example.com from Acme?"));
            assert!(page.body.contains("The 1 key they created keeps working"));
            assert!(page.body.contains(&format!("creator={bob}")));
        }
        assert_eq!(
            role_of(&app, "bob@example.com"),
            Some("developer".to_owned())
        );
        // Transfer: the form asks (GET), the confirmation posts.
        let transfer = format!("{}/transfer", members_url(&slug));
        let ask = app.get(&format!("{transfer}?user_id={bob}")).await;
        ask.assert_status(200);
        assert!(ask.body.contains("Make bob@example.com the owner of Acme?"));
        assert!(ask.body.contains(&format!(
            "name=\"user_id\" value=\"{bob}\" form=\"confirm-form\""
        )));
        assert_eq!(
            role_of(&app, "bob@example.com"),
            Some("developer".to_owned())
        );
        app.get(&format!("{transfer}?user_id=usr_00000000000000000000"))
            .await
            .assert_status(400);
        // Confirmed: done.
        app.post(&remove, &[("csrf_token", &list.csrf())])
            .await
            .assert_status(303);
        assert_eq!(role_of(&app, "bob@example.com"), None);
    })
    .await;
}

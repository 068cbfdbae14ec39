//! Who may see and do what: non-members get 404, non-managers get read-only pages and 403.

use diesel::prelude::*;
use latchkey::db::schema::api_keys;
use latchkey::domain::role::Role;

use crate::helpers::{PASSWORD, TestApp, each_db};

fn first_key_id(app: &TestApp) -> String {
    app.db(|c| api_keys::table.select(api_keys::id).first(c))
        .expect("a key")
}

#[actix_web::test]
async fn another_teams_pages_and_keys_are_404_for_non_members() {
    each_db(|app| async move {
        let acme = app.set_up("ada@example.com", "Acme").await;
        app.create_key(
            &acme,
            &[("name", "Acme key"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        let key = first_key_id(&app);
        let ada = app.cookies();

        // A second team whose owner is someone else.
        app.add_member(&acme, "temp@example.com", Role::Viewer)
            .await;
        let globex = app.team_owned_by("temp@example.com", "Globex");
        app.swap_cookies(Default::default());
        app.sign_in("temp@example.com", PASSWORD)
            .await
            .assert_status(303);
        let mallory_csrf = app.csrf_of_session(&globex).await;

        // Ada's browser cannot see Globex; the Globex owner cannot act on Acme's key through
        // Globex's URL either.
        let pages = [
            format!("/teams/{globex}/settings/api-keys/{key}/edit"),
            format!("/teams/{globex}/settings/api-keys/{key}/rotate"),
            format!("/teams/{globex}/settings/api-keys/{key}/delete"),
        ];
        for p in &pages {
            app.get(p).await.assert_status(404);
        }
        for p in [
            format!("/teams/{globex}/settings/api-keys/{key}/delete"),
            format!("/teams/{globex}/settings/api-keys/{key}/rotate"),
            format!("/teams/{globex}/settings/api-keys/{key}"),
        ] {
            app.post(
                &p,
                &[
                    ("csrf_token", &mallory_csrf),
                    ("grace", "0"),
                    ("name", "pwned"),
                    ("scopes", "admin"),
                ],
            )
            .await
            .assert_status(404);
        }
        let revoked: Option<i64> = app
            .db(|c| {
                api_keys::table
                    .find(&key)
                    .select(api_keys::revoked_at)
                    .first(c)
            })
            .expect("row");
        assert_eq!(revoked, None, "Acme's key untouched");

        app.swap_cookies(ada);
        let not_member = app.get(&format!("/teams/{globex}/settings/api-keys")).await;
        let missing = app.get("/teams/no-such-team/settings/api-keys").await;
        not_member.assert_status(404);
        missing.assert_status(404);
        assert_eq!(
            not_member.body, missing.body,
            "a team you are not in looks exactly like no team"
        );
        // Garbage ids are 404 too.
        for bad in [
            "nope",
            "key_",
            "key_AAAAAAAAAAAAAAAAAAAA",
            "key_%00",
            "..%2F..%2Fetc",
        ] {
            app.get(&format!("/teams/{acme}/settings/api-keys/{bad}/edit"))
                .await
                .assert_status(404);
        }
    })
    .await;
}

#[actix_web::test]
async fn viewers_see_the_list_read_only_and_developers_cannot_touch_others_keys() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.create_key(
            &slug,
            &[("name", "Prod"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        let key = first_key_id(&app);
        for (email, role) in [
            ("dev@example.com", Role::Developer),
            ("viewer@example.com", Role::Viewer),
        ] {
            app.add_member(&slug, email, role).await;
            app.swap_cookies(Default::default());
            app.sign_in(email, PASSWORD).await.assert_status(303);
            let list = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
            list.assert_status(200);
            assert!(list.body.contains("data-key-name=\"Prod\""));
            assert_eq!(
                list.body.contains("data-testid=\"create-key\""),
                role == Role::Developer,
                "only the developer gets a create button"
            );
            assert!(
                !list.body.contains("data-testid=\"key-actions\""),
                "{role:?} gets no row actions"
            );
            let csrf = list.csrf();
            let base = format!("/teams/{slug}/settings/api-keys");
            if role == Role::Viewer {
                app.get(&format!("{base}/new")).await.assert_status(403);
            }
            for p in [
                format!("{base}/{key}/edit"),
                format!("{base}/{key}/rotate"),
                format!("{base}/{key}/delete"),
            ] {
                app.get(&p).await.assert_status(403);
            }
            let create = app
                .post(
                    &base,
                    &[
                        ("csrf_token", &csrf),
                        ("name", "x"),
                        ("scopes", "admin"),
                        ("mode", "live"),
                        ("expiry", "never"),
                    ],
                )
                .await;
            if role == Role::Developer {
                create.assert_status(422);
                assert!(
                    create
                        .body
                        .contains("Only owners and admins can give a key full access (admin).")
                );
            } else {
                create.assert_status(403);
            }
            app.post(&format!("{base}/{key}/delete"), &[("csrf_token", &csrf)])
                .await
                .assert_status(403);
            app.post(
                &format!("{base}/{key}/rotate"),
                &[("csrf_token", &csrf), ("grace", "0")],
            )
            .await
            .assert_status(403);
            app.post(
                &format!("{base}/{key}"),
                &[("csrf_token", &csrf), ("name", "x"), ("scopes", "admin")],
            )
            .await
            .assert_status(403);
        }
        let n: i64 = app
            .db(|c| {
                api_keys::table
                    .filter(api_keys::revoked_at.is_null())
                    .count()
                    .get_result(c)
            })
            .expect("n");
        assert_eq!(n, 1, "nothing changed");
    })
    .await;
}

#[actix_web::test]
async fn a_user_can_create_another_team_and_owns_it() {
    each_db(|app| async move {
        let first = app.set_up("ada@example.com", "Acme").await;
        let page = app.get("/teams/new").await;
        page.assert_status(200);
        let bad = app
            .post("/teams/new", &[("csrf_token", &page.csrf()), ("name", "")])
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("Enter a name."));
        let res = app
            .post(
                "/teams/new",
                &[("csrf_token", &page.csrf()), ("name", "New")],
            )
            .await;
        res.assert_status(303);
        assert_eq!(
            res.location(),
            "/teams/new-team/settings/api-keys",
            "the slug never shadows /teams/new"
        );
        let list = app.get(res.location()).await;
        assert!(list.body.contains("Team “New” created. You are its owner."));
        assert!(
            list.body
                .contains(&format!("/teams/{first}/settings/api-keys")),
            "the switcher lists both teams"
        );
        // Home is the first team by name while neither has keys…
        assert_eq!(
            app.get("/").await.location(),
            format!("/teams/{first}/settings/api-keys")
        );
        app.create_key(
            "new-team",
            &[("name", "K"), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        // …and the team the person keeps keys in once one has them, though it sorts later.
        assert_eq!(
            app.get("/").await.location(),
            "/teams/new-team/settings/api-keys"
        );
    })
    .await;
}

#[actix_web::test]
async fn developers_create_keys_without_admin_scope_and_manage_only_their_own() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "dev@example.com", Role::Developer)
            .await;
        app.add_member(&slug, "dev2@example.com", Role::Developer)
            .await;
        app.swap_cookies(Default::default());
        app.sign_in("dev@example.com", PASSWORD).await;
        let form = app
            .get(&format!("/teams/{slug}/settings/api-keys/new"))
            .await;
        form.assert_status(200);
        assert!(!form.body.contains("value=\"admin\""), "no admin checkbox");
        assert!(form.body.contains("data-testid=\"admin-scope-note\""));
        app.create_key(
            &slug,
            &[
                ("name", "Dev key"),
                ("scopes", "bots:write"),
                ("mode", "test"),
            ],
        )
        .await;
        let own: String = app
            .db(|c| {
                api_keys::table
                    .filter(api_keys::name.eq("Dev key"))
                    .select(api_keys::id)
                    .first(c)
            })
            .expect("key");
        let base = format!("/teams/{slug}/settings/api-keys");
        let list = app.get(&base).await;
        assert!(list.body.contains("data-testid=\"key-actions\""));
        app.get(&format!("{base}/{own}/rotate"))
            .await
            .assert_status(200);

        // Another developer may read it but not touch it.
        let dev1 = app.cookies();
        app.swap_cookies(Default::default());
        app.sign_in("dev2@example.com", PASSWORD).await;
        let list = app.get(&base).await;
        assert!(list.body.contains("data-key-name=\"Dev key\""));
        assert!(!list.body.contains("data-testid=\"key-actions\""));
        let csrf = list.csrf();
        app.post(&format!("{base}/{own}/delete"), &[("csrf_token", &csrf)])
            .await
            .assert_status(403);

        // Its creator deletes it.
        app.swap_cookies(dev1);
        let csrf = app.get(&base).await.csrf();
        app.post(&format!("{base}/{own}/delete"), &[("csrf_token", &csrf)])
            .await
            .assert_status(303);
        let revoked: Option<i64> = app
            .db(|c| {
                api_keys::table
                    .find(&own)
                    .select(api_keys::revoked_at)
                    .first(c)
            })
            .expect("row");
        assert!(revoked.is_some());
    })
    .await;
}

//! First-run set-up, sign-in, throttling, sign-out and sessions.

use diesel::prelude::*;
use latchkey::db::schema::{memberships, sessions, teams, users};

use crate::helpers::{PASSWORD, each_db};

#[actix_web::test]
async fn setup_link_creates_the_owner_and_first_team_then_stops_working() {
    each_db(|app| async move {
        // Without the printed token there is nothing to see.
        app.get("/setup").await.assert_status(404);
        app.get("/setup?token=guess").await.assert_status(404);

        let slug = app.set_up("Ada@Example.com", "Acme Support").await;
        assert_eq!(slug, "acme-support");
        let (email, role): (String, String) = app.db(|c| {
            users::table
                .inner_join(memberships::table)
                .select((users::email, memberships::role))
                .first(c)
                .expect("owner row")
        });
        assert_eq!(email, "ada@example.com");
        assert_eq!(role, "owner");

        // The set-up session is signed in and lands on the key page.
        let page = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
        page.assert_status(200);
        assert!(page.body.contains("No API keys yet"));

        // Set-up is closed now, even with a fresh token.
        let token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let now = app.clock().now();
        app.db(|c| latchkey::models::setup::add(c, token, now))
            .expect("token");
        app.get(&format!("/setup?token={token}"))
            .await
            .assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn setup_with_bad_input_gives_422_with_messages_and_writes_nothing() {
    each_db(|app| async move {
        let token = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        let now = app.clock().now();
        app.db(|c| latchkey::models::setup::add(c, token, now))
            .expect("token");
        let page = app.get(&format!("/setup?token={token}")).await;
        let res = app
            .post(
                "/setup",
                &[
                    ("csrf_token", &page.csrf()),
                    ("token", token),
                    ("name", ""),
                    ("email", "not-an-email"),
                    ("password", "short"),
                    ("team", &"t".repeat(65)),
                ],
            )
            .await;
        res.assert_status(422);
        assert!(res.body.contains("Enter a name."));
        assert!(
            res.body
                .contains("Enter an e-mail address like name@example.com.")
        );
        assert!(res.body.contains("Use at least 12 characters."));
        assert!(res.body.contains("Use at most 64 characters."));
        assert!(
            !res.body.contains("short"),
            "the password is never echoed back"
        );
        let n: i64 = app
            .db(|c| users::table.count().get_result(c))
            .expect("count");
        let t: i64 = app
            .db(|c| teams::table.count().get_result(c))
            .expect("count");
        assert_eq!((n, t), (0, 0));
    })
    .await;
}

#[actix_web::test]
async fn wrong_email_and_wrong_password_get_the_same_answer() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        app.swap_cookies(Default::default());
        let unknown = app.sign_in("nobody@example.com", PASSWORD).await;
        let wrong = app
            .sign_in("ada@example.com", "wrong password, long enough")
            .await;
        unknown.assert_status(422);
        wrong.assert_status(422);
        let msg = "That e-mail and password do not match an account.";
        assert!(unknown.body.contains(msg) && wrong.body.contains(msg));
        // Same page apart from the echoed address and the CSRF token.
        let strip = |b: &str, email: &str| {
            b.replace(email, "EMAIL")
                .lines()
                .filter(|l| !l.contains("csrf"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            strip(&unknown.body, "nobody@example.com"),
            strip(&wrong.body, "ada@example.com")
        );

        let ok = app.sign_in("ada@example.com", PASSWORD).await;
        ok.assert_status(303);
        assert_eq!(ok.location(), "/");
    })
    .await;
}

#[actix_web::test]
async fn repeated_failures_are_throttled_with_429_then_allowed_again() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        app.swap_cookies(Default::default());
        for _ in 0..5 {
            app.sign_in("ada@example.com", "wrong password, long enough")
                .await
                .assert_status(422);
        }
        // Five failures start a 30 s wait: even the right password is refused meanwhile.
        let throttled = app.sign_in("ada@example.com", PASSWORD).await;
        throttled.assert_status(429);
        assert_eq!(throttled.header("retry-after"), "30");
        assert!(throttled.body.contains("Too many attempts"));
        // Unknown addresses are throttled the same way (no account enumeration).
        for _ in 0..5 {
            app.sign_in("ghost@example.com", "wrong password, long enough")
                .await;
        }
        app.sign_in("ghost@example.com", PASSWORD)
            .await
            .assert_status(429);
        // The owner is not locked out for good.
        app.clock().advance(31);
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
    })
    .await;
}

#[actix_web::test]
async fn sign_in_renews_the_session_id_and_sign_out_ends_it_server_side() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let user_sessions = || -> i64 {
            app.db(|c| {
                sessions::table
                    .filter(sessions::user_id.is_not_null())
                    .count()
                    .get_result(c)
            })
            .expect("count")
        };
        assert_eq!(user_sessions(), 1, "the set-up browser's session");
        app.swap_cookies(Default::default());
        app.get("/login").await;
        let before = app
            .cookies()
            .get("latchkey_session")
            .cloned()
            .expect("anonymous session cookie");
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
        let signed_in = app.cookies();
        assert_eq!(user_sessions(), 2);
        assert_ne!(
            signed_in.get("latchkey_session"),
            Some(&before),
            "session id renewed at sign-in"
        );

        let keys = format!("/teams/{slug}/settings/api-keys");
        let page = app.get(&keys).await;
        page.assert_status(200);
        let out = app.post("/logout", &[("csrf_token", &page.csrf())]).await;
        out.assert_status(303);
        assert_eq!(out.location(), "/login?signed_out=1");
        assert_eq!(
            user_sessions(),
            1,
            "this browser's server-side session is gone"
        );

        // Replaying the old cookie is anonymous.
        app.swap_cookies(signed_in);
        let replay = app.get(&keys).await;
        replay.assert_status(303);
        assert!(replay.location().starts_with("/login?next="));
    })
    .await;
}

#[actix_web::test]
async fn sessions_expire_when_idle_and_after_their_absolute_lifetime() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let keys = format!("/teams/{slug}/settings/api-keys");
        let signed_in = app.cookies();
        // Idle timeout (1 h in tests).
        app.clock().advance(3601);
        app.get(&keys).await.assert_status(303);

        // Absolute timeout (24 h in tests), however active.
        app.swap_cookies(Default::default());
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
        for _ in 0..25 {
            app.clock().advance(3500);
            app.get("/healthz").await;
            let _ = app.get(&keys).await;
        }
        app.get(&keys).await.assert_status(303);
        drop(signed_in);
    })
    .await;
}

#[actix_web::test]
async fn anonymous_pages_redirect_to_sign_in_and_come_back() {
    each_db(|app| async move {
        let res = app.get("/teams/acme/settings/api-keys").await;
        res.assert_status(303);
        assert_eq!(
            res.location(),
            "/login?next=%2Fteams%2Facme%2Fsettings%2Fapi-keys"
        );
        let htmx = app.get_htmx("/teams/acme/settings/api-keys").await;
        assert_eq!(
            htmx.header("hx-redirect"),
            "/login?next=%2Fteams%2Facme%2Fsettings%2Fapi-keys"
        );
        assert_eq!(app.get("/").await.location(), "/login");
        // Only local paths are followed after sign-in.
        let login = app.get("/login?next=//evil.example/").await;
        assert!(login.body.contains("name=\"next\" value=\"/\""));
    })
    .await;
}

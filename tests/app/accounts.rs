//! "Your account": changing the name and the password (the current one required, every other
//! session signed out), the sessions list (one or every other signed out, the other cookie
//! anonymous afterwards), and forgotten passwords — a one-time, hour-long link by e-mail that
//! does not reveal whether an address has an account, or on the operator's console.

use std::collections::HashMap;

use diesel::prelude::*;
use latchkey::db::schema::{password_resets, security_events, sessions, users};
use serde_json::Value;

use crate::helpers::{PASSWORD, Resp, TestApp, each_db, each_db_with};
use crate::mail::Sink;

const NEW_PASSWORD: &str = "a brand new passphrase 42";

fn hash_of(app: &TestApp, email: &str) -> String {
    app.db(|c| {
        users::table
            .filter(users::email.eq(email))
            .select(users::password_hash)
            .first(c)
            .expect("user")
    })
}

fn events(app: &TestApp, action: &str) -> i64 {
    app.db(|c| {
        security_events::table
            .filter(security_events::action.eq(action))
            .count()
            .get_result(c)
            .expect("count")
    })
}

/// Signs `email` in again in a fresh cookie jar from address `ip`; returns that jar (the app
/// keeps using it, and the default address again).
async fn another_session(
    app: &TestApp,
    email: &str,
    password: &str,
    ip: &str,
) -> HashMap<String, String> {
    app.swap_cookies(HashMap::new());
    let before = app.set_peer(ip);
    app.sign_in(email, password).await.assert_status(303);
    app.set_peer(&before);
    app.cookies()
}

/// The handle of the session signed in from `ip`.
fn handle_from(app: &TestApp, ip: &str) -> String {
    app.db(|c| {
        sessions::table
            .filter(sessions::ip.eq(ip))
            .select(sessions::handle.assume_not_null())
            .first(c)
            .expect("session")
    })
}

fn signed_out(res: &Resp) -> bool {
    res.status == 303 && res.location().starts_with("/login")
}

#[actix_web::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_every_other_session() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        let first = app.cookies();
        let second = another_session(&app, "ada@example.com", PASSWORD, "198.51.100.2").await;
        app.swap_cookies(first.clone());
        let page = app.get("/account").await;
        page.assert_status(200);
        assert_eq!(page.body.matches("data-testid=\"session-row\"").count(), 2);
        assert_eq!(page.body.matches("This session").count(), 1);
        let csrf = page.csrf();
        let before = hash_of(&app, "ada@example.com");

        // A wrong current password, and a new one too short: 422, nothing changed.
        let wrong = app
            .post(
                "/account/password",
                &[
                    ("csrf_token", &csrf),
                    ("current_password", "not my password at all"),
                    ("new_password", NEW_PASSWORD),
                ],
            )
            .await;
        wrong.assert_status(422);
        assert!(wrong.body.contains("That is not your current password."));
        let short = app
            .post(
                "/account/password",
                &[
                    ("csrf_token", &csrf),
                    ("current_password", PASSWORD),
                    ("new_password", "short"),
                ],
            )
            .await;
        short.assert_status(422);
        assert!(short.body.contains("id=\"new_password-error\""));
        assert_eq!(hash_of(&app, "ada@example.com"), before);
        assert_eq!(events(&app, "account.password_change_refused"), 1);

        let ok = app
            .post(
                "/account/password",
                &[
                    ("csrf_token", &csrf),
                    ("current_password", PASSWORD),
                    ("new_password", NEW_PASSWORD),
                ],
            )
            .await;
        ok.assert_status(303);
        assert_ne!(hash_of(&app, "ada@example.com"), before);
        let page = app.get("/account").await;
        page.assert_status(200);
        assert!(page.body.contains("Your 1 other session was signed out."));
        assert!(
            page.body
                .contains("Password changed; other sessions signed out")
        );
        assert_eq!(page.body.matches("data-testid=\"session-row\"").count(), 1);
        // The other browser is anonymous now.
        app.swap_cookies(second);
        assert!(signed_out(&app.get("/account").await));
        // The old password no longer signs in; the new one does.
        app.swap_cookies(HashMap::new());
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(422);
        app.sign_in("ada@example.com", NEW_PASSWORD)
            .await
            .assert_status(303);
    })
    .await;
}

#[actix_web::test]
async fn the_name_can_be_changed_and_a_blank_one_is_refused() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        let csrf = app.get("/account").await.csrf();
        let bad = app
            .post("/account/name", &[("csrf_token", &csrf), ("name", " ")])
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("id=\"name-error\""));
        app.post(
            "/account/name",
            &[("csrf_token", &csrf), ("name", "Ada King")],
        )
        .await
        .assert_status(303);
        let name: String = app
            .db(|c| users::table.select(users::name).first(c))
            .expect("name");
        assert_eq!(name, "Ada King");
        assert!(app.get("/account").await.body.contains("Name changed"));
    })
    .await;
}

#[actix_web::test]
async fn one_session_or_every_other_one_can_be_signed_out_and_only_the_accounts_own() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        let a = app.cookies();
        let b = another_session(&app, "ada@example.com", PASSWORD, "198.51.100.2").await;
        let c = another_session(&app, "ada@example.com", PASSWORD, "198.51.100.3").await;
        app.swap_cookies(a.clone());
        let page = app.get("/account").await;
        assert_eq!(page.body.matches("data-testid=\"session-row\"").count(), 3);
        let csrf = page.csrf();
        assert!(page.body.contains("198.51.100.3"));
        let b_handle = handle_from(&app, "198.51.100.2");
        assert!(
            page.body
                .contains(&format!("/account/sessions/{b_handle}/sign-out"))
        );
        app.post(
            &format!("/account/sessions/{b_handle}/sign-out"),
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(303);
        app.swap_cookies(b);
        assert!(signed_out(&app.get("/account").await));
        app.swap_cookies(c.clone());
        app.get("/account").await.assert_status(200);
        // Unknown handles are 404; another account's sessions cannot be reached.
        app.swap_cookies(a.clone());
        app.post(
            "/account/sessions/AAAAAAAAAAAAAAAAAAAA/sign-out",
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(404);
        app.add_member(
            "acme",
            "bob@example.com",
            latchkey::domain::role::Role::Viewer,
        )
        .await;
        let bob = another_session(&app, "bob@example.com", PASSWORD, "198.51.100.9").await;
        let bob_handle = handle_from(&app, "198.51.100.9");
        app.swap_cookies(a.clone());
        app.post(
            &format!("/account/sessions/{bob_handle}/sign-out"),
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(404);
        app.swap_cookies(bob);
        app.get("/teams/acme/settings/api-keys")
            .await
            .assert_status(200);
        // Everywhere else: C ends, A stays.
        app.swap_cookies(a);
        app.post(
            "/account/sessions/sign-out-others",
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(303);
        let page = app.get("/account").await;
        page.assert_status(200);
        assert!(page.body.contains("Signed out of 1 other session."));
        assert_eq!(page.body.matches("data-testid=\"session-row\"").count(), 1);
        app.swap_cookies(c);
        assert!(signed_out(&app.get("/account").await));
    })
    .await;
}

fn link_in(mail: &Value) -> String {
    let text = mail["text"].as_str().expect("text");
    let at = text.find("http://").expect("a link");
    text[at..]
        .split_whitespace()
        .next()
        .expect("link")
        .to_owned()
}

#[actix_web::test]
async fn a_reset_link_is_mailed_works_once_for_an_hour_and_does_not_reveal_accounts() {
    let sink = Sink::start();
    let url = sink.url();
    let sink = &sink;
    each_db_with(
        |c| c.smtp_url = Some(url.clone().into()),
        |app| async move {
            app.set_up("ada@example.com", "Acme").await;
            let signed_in = app.cookies();
            app.swap_cookies(HashMap::new());
            let login = app.get("/login").await;
            assert!(login.body.contains("href=\"/password/forgot\""));
            let form = app.get("/password/forgot").await;
            form.assert_status(200);
            let ask = |email: &'static str| {
                let csrf = form.csrf();
                let app = &app;
                async move {
                    app.post(
                        "/password/forgot",
                        &[("csrf_token", &csrf), ("email", email)],
                    )
                    .await
                }
            };
            let known = ask("ada@example.com").await;
            let unknown = ask("nobody@example.com").await;
            known.assert_status(200);
            unknown.assert_status(200);
            assert_eq!(
                known.body.replace("ada@example.com", "X"),
                unknown.body.replace("nobody@example.com", "X"),
                "the same answer whether or not the address has an account"
            );
            let bad = ask("not an address").await;
            bad.assert_status(422);
            let mails = sink.wait_for(1).await;
            assert_eq!(mails.len(), 1, "only the account's address gets a mail");
            assert_eq!(mails[0]["to"], "ada@example.com");
            assert_eq!(mails[0]["subject"], "Reset your Latchkey password");
            let link = link_in(&mails[0]);
            assert!(link.starts_with("http://localhost:8080/password/reset?token="));
            let stored: Vec<String> = app
                .db(|c| {
                    password_resets::table
                        .select(password_resets::token_digest)
                        .load(c)
                })
                .expect("rows");
            let token = link.split("token=").nth(1).expect("token");
            assert!(
                !stored.iter().any(|d| d.contains(token)),
                "only a digest is stored"
            );
            let path = link.trim_start_matches("http://localhost:8080");
            // Locked out by wrong guesses from this address: even the right password waits.
            for _ in 0..5 {
                app.sign_in("ada@example.com", "wrong password, long enough")
                    .await
                    .assert_status(422);
            }
            app.sign_in("ada@example.com", PASSWORD)
                .await
                .assert_status(429);
            app.swap_cookies(HashMap::new());

            let page = app.get(path).await;
            page.assert_status(200);
            assert_eq!(page.header("cache-control"), "no-store");
            let csrf = page.csrf();
            let short = app
                .post(
                    "/password/reset",
                    &[
                        ("csrf_token", &csrf),
                        ("token", token),
                        ("new_password", "short"),
                    ],
                )
                .await;
            short.assert_status(422);
            let done = app
                .post(
                    "/password/reset",
                    &[
                        ("csrf_token", &csrf),
                        ("token", token),
                        ("new_password", NEW_PASSWORD),
                    ],
                )
                .await;
            done.assert_status(303);
            assert_eq!(done.location(), "/login?reset=1");
            // Every session ended; the new password signs in at once (the reset proved the owner
            // and cleared this address's wait), the old one does not.
            app.swap_cookies(signed_in);
            assert!(signed_out(&app.get("/account").await));
            app.swap_cookies(HashMap::new());
            app.sign_in("ada@example.com", PASSWORD)
                .await
                .assert_status(422);
            app.sign_in("ada@example.com", NEW_PASSWORD)
                .await
                .assert_status(303);
            assert_eq!(events(&app, "account.password_reset"), 1);
            // Once only.
            app.swap_cookies(HashMap::new());
            app.get(path).await.assert_status(410);
            let csrf = app.get("/login").await.csrf();
            app.post(
                "/password/reset",
                &[
                    ("csrf_token", &csrf),
                    ("token", token),
                    ("new_password", NEW_PASSWORD),
                ],
            )
            .await
            .assert_status(410);

            // An hour later a fresh link is dead too; and at most 3 links an hour are sent.
            let form = app.get("/password/forgot").await;
            let csrf = form.csrf();
            app.post(
                "/password/forgot",
                &[("csrf_token", &csrf), ("email", "ada@example.com")],
            )
            .await
            .assert_status(200);
            let late = link_in(&sink.wait_for(1).await[0]);
            app.clock().advance(3601);
            app.get(late.trim_start_matches("http://localhost:8080"))
                .await
                .assert_status(410);
            let csrf = app.get("/password/forgot").await.csrf();
            for _ in 0..4 {
                app.post(
                    "/password/forgot",
                    &[("csrf_token", &csrf), ("email", "ada@example.com")],
                )
                .await
                .assert_status(200);
            }
            let mails = sink.wait_for(3).await;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            assert_eq!(
                mails.len() + sink.take().len(),
                3,
                "three links an hour at most"
            );
        },
    )
    .await;
}

#[actix_web::test]
async fn without_email_the_page_says_how_and_the_operator_s_console_link_works() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        app.swap_cookies(HashMap::new());
        let page = app.get("/password/forgot").await;
        page.assert_status(200);
        assert!(page.body.contains("latchkey users reset-password"));
        let email = latchkey::domain::inputs::Email::parse("ada@example.com").expect("email");
        let link = latchkey::ops::accounts::operator_reset_link(
            &app.state.pool,
            app.clock().now(),
            "http://localhost:8080",
            &email,
        )
        .await
        .expect("link")
        .expect("an account");
        let path = link.trim_start_matches("http://localhost:8080");
        let form = app.get(path).await;
        form.assert_status(200);
        let token = link.split("token=").nth(1).expect("token");
        app.post(
            "/password/reset",
            &[
                ("csrf_token", &form.csrf()),
                ("token", token),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await
        .assert_status(303);
        app.sign_in("ada@example.com", NEW_PASSWORD)
            .await
            .assert_status(303);
        let nobody = latchkey::domain::inputs::Email::parse("nobody@example.com").expect("email");
        assert!(
            latchkey::ops::accounts::operator_reset_link(
                &app.state.pool,
                app.clock().now(),
                "http://localhost:8080",
                &nobody,
            )
            .await
            .expect("answer")
            .is_none()
        );
    })
    .await;
}

#[actix_web::test]
async fn latchkey_users_reset_password_prints_a_link_that_works() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("latchkey.db").display());
    let app = TestApp::spawn_on(&url, |_| {}).await;
    app.set_up("ada@example.com", "Acme").await;
    let run = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &url)
            .env("LATCHKEY_PUBLIC_URL", "http://localhost:8080")
            .env("LATCHKEY_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .args(["users", "reset-password", email])
            .output()
            .expect("run latchkey")
    };
    let out = run("ada@example.com");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let link = stdout
        .split_whitespace()
        .find(|w| w.starts_with("http://localhost:8080/password/reset?token="))
        .unwrap_or_else(|| panic!("a link in: {stdout}"))
        .to_owned();
    app.swap_cookies(HashMap::new());
    let form = app
        .get(link.trim_start_matches("http://localhost:8080"))
        .await;
    form.assert_status(200);
    let token = link.split("token=").nth(1).expect("token");
    app.post(
        "/password/reset",
        &[
            ("csrf_token", &form.csrf()),
            ("token", token),
            ("new_password", NEW_PASSWORD),
        ],
    )
    .await
    .assert_status(303);
    app.sign_in("ada@example.com", NEW_PASSWORD)
        .await
        .assert_status(303);
    // An unknown address: a failure exit and a message, no link.
    let none = run("nobody@example.com");
    assert!(!none.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&none.stdout),
        String::from_utf8_lossy(&none.stderr)
    );
    assert!(
        said.contains("no account with the e-mail address"),
        "{said}"
    );
    assert!(!said.contains("token="));
}

fn email_of_ada(app: &TestApp) -> Vec<String> {
    app.db(|c| users::table.select(users::email).load(c).expect("users"))
}

#[actix_web::test]
async fn without_e_mail_the_address_changes_with_the_current_password_and_bad_input_changes_nothing()
 {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(
            &slug,
            "bob@example.com",
            latchkey::domain::role::Role::Developer,
        )
        .await;
        let page = app.get("/account").await;
        assert!(page.body.contains("A change happens at once"));
        let csrf = page.csrf();
        let post = |email: &'static str, password: &'static str| {
            let (app, csrf) = (&app, csrf.clone());
            async move {
                app.post(
                    "/account/email",
                    &[
                        ("csrf_token", &csrf),
                        ("email", email),
                        ("email_password", password),
                    ],
                )
                .await
            }
        };
        for (email, password, message) in [
            ("not an address", PASSWORD, "id=\"new_email-error\""),
            ("ada@example.com", PASSWORD, "That is already your address."),
            (
                "bob@example.com",
                PASSWORD,
                "Another account signs in with that address.",
            ),
            ("ada@new.example", "", "Enter your current password."),
            (
                "ada@new.example",
                "wrong wrong wrong",
                "That is not your current password.",
            ),
        ] {
            let res = post(email, password).await;
            res.assert_status(422);
            assert!(res.body.contains(message), "{email}: {message}");
        }
        assert!(email_of_ada(&app).contains(&"ada@example.com".to_owned()));
        assert_eq!(events(&app, "account.email_change_refused"), 1);

        let res = post("ada@new.example", PASSWORD).await;
        res.assert_status(303);
        let page = app.get("/account").await;
        assert!(
            page.body
                .contains("sign in with ada@new.example from now on")
        );
        assert!(page.body.contains("E-mail address changed"));
        assert_eq!(events(&app, "account.email_changed"), 1);
        // The new address signs in; the old one no longer does.
        app.swap_cookies(HashMap::new());
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(422);
        app.swap_cookies(HashMap::new());
        app.sign_in("ada@new.example", PASSWORD)
            .await
            .assert_status(303);
    })
    .await;
}

#[actix_web::test]
async fn with_e_mail_a_link_to_the_new_address_confirms_the_change_once() {
    let sink = Sink::start();
    let url = sink.url();
    let sink = &sink;
    each_db_with(
        |c| c.smtp_url = Some(url.clone().into()),
        |app| async move {
            app.set_up("ada@example.com", "Acme").await;
            let page = app.get("/account").await;
            assert!(page.body.contains("we send a link to the new address"));
            let res = app
                .post(
                    "/account/email",
                    &[
                        ("csrf_token", &page.csrf()),
                        ("email", "ada@new.example"),
                        ("email_password", PASSWORD),
                    ],
                )
                .await;
            res.assert_status(303);
            assert!(
                app.get("/account")
                    .await
                    .body
                    .contains("Check ada@new.example")
            );
            // Nothing changed yet.
            assert_eq!(email_of_ada(&app), ["ada@example.com"]);
            let mails = sink.wait_for(1).await;
            assert_eq!(mails.len(), 1);
            let m = &mails[0];
            assert_eq!(m["to"].as_str(), Some("ada@new.example"));
            let text = m["text"].as_str().expect("text");
            assert!(!text.contains(PASSWORD));
            let link = text
                .split_whitespace()
                .find(|w| w.contains("/account/email/confirm?token="))
                .expect("link");
            let path = &link[link.find("/account").expect("path")..];

            // Opening the link changes nothing (mail scanners open links); the button does.
            let confirm = app.get(path).await;
            confirm.assert_status(200);
            assert!(confirm.body.contains("ada@new.example"));
            assert_eq!(email_of_ada(&app), ["ada@example.com"]);
            let token = &path[path.find("token=").expect("token") + 6..];
            let done = app
                .post(
                    "/account/email/confirm",
                    &[("csrf_token", &confirm.csrf()), ("token", token)],
                )
                .await;
            done.assert_status(200);
            assert!(
                done.body
                    .contains("Sign in with <strong>ada@new.example</strong>")
            );
            assert_eq!(email_of_ada(&app), ["ada@new.example"]);
            // The old address hears of it (queued with the change; the mail job sends it).
            latchkey::jobs::mail::run_once(&app.state)
                .await
                .expect("mail round");
            let mails = sink.wait_for(1).await;
            let notice = mails
                .iter()
                .find(|m| m["to"].as_str() == Some("ada@example.com"))
                .expect("a notice to the old address");
            let text = notice["text"].as_str().expect("text");
            assert!(text.contains("signs in with ada@new.example"), "{text}");
            assert!(!text.contains("token="));
            // Once only; an unknown token is gone too.
            let again = app
                .post(
                    "/account/email/confirm",
                    &[("csrf_token", &confirm.csrf()), ("token", token)],
                )
                .await;
            again.assert_status(410);
            app.get(path).await.assert_status(410);
            app.get("/account/email/confirm?token=nope")
                .await
                .assert_status(410);
            assert_eq!(events(&app, "account.email_change_requested"), 1);
            assert_eq!(events(&app, "account.email_changed"), 1);
        },
    )
    .await;
}

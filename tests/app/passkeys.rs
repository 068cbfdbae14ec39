//! Passkey endpoints, around what only a browser's authenticator can do (the ceremonies
//! themselves run in Chromium's virtual authenticator, tests/ui/specs/passkeys.spec.js): the
//! options are WebAuthn JSON for this host (discoverable, user verification required), answers
//! that do not verify are refused and sign nobody in, an IP address gets no passkeys, a passkey
//! counts as a second factor for a team's policy, and renaming and removal are the owner's alone.

use diesel::prelude::*;
use latchkey::db::schema::{passkeys, security_events, users};
use latchkey::domain::role::Role;

use crate::helpers::{TestApp, each_db};

fn insert_passkey(app: &TestApp, email: &str, name: &str) -> String {
    let (email, name) = (email.to_owned(), name.to_owned());
    let id = latchkey::domain::ids::PasskeyId::generate().to_string();
    let pk = id.clone();
    app.db(move |c| {
        let user: String = users::table
            .filter(users::email.eq(&email))
            .select(users::id)
            .first(c)
            .expect("user");
        diesel::insert_into(passkeys::table)
            .values((
                passkeys::id.eq(&pk),
                passkeys::user_id.eq(&user),
                passkeys::name.eq(&name),
                passkeys::credential_id.eq(format!("cred-{pk}")),
                passkeys::credential.eq("{}"),
                passkeys::rp_id.eq("localhost"),
                passkeys::created_at.eq(0_i64),
            ))
            .execute(c)
            .expect("passkey");
    });
    id
}

#[actix_web::test]
async fn options_are_webauthn_json_for_this_host_and_bad_answers_sign_nobody_in() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        let page = app.get("/account").await;
        assert!(page.body.contains("Add a passkey"));
        let csrf = page.csrf();

        let unnamed = app
            .post(
                "/account/passkeys/options",
                &[("csrf_token", &csrf), ("name", "")],
            )
            .await;
        unnamed.assert_status(422);
        assert!(unnamed.json()["error"].as_str().is_some());

        let res = app
            .post(
                "/account/passkeys/options",
                &[("csrf_token", &csrf), ("name", "Work laptop")],
            )
            .await;
        res.assert_status(200);
        assert_eq!(res.header("cache-control"), "no-store");
        let options = res.json();
        let pk = &options["publicKey"];
        assert_eq!(pk["rp"]["id"], "localhost");
        assert_eq!(pk["user"]["name"], "ada@example.com");
        assert!(pk["challenge"].as_str().is_some_and(|c| c.len() >= 43));
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
        // The user handle is not the e-mail address nor the account id.
        let handle = pk["user"]["id"].as_str().expect("handle");
        assert!(!handle.contains("ada") && !handle.starts_with("usr_"));

        // An answer that does not verify stores nothing; the ceremony is spent either way.
        let bad = app
            .post(
                "/account/passkeys",
                &[("csrf_token", &csrf), ("credential", "{\"id\":\"x\"}")],
            )
            .await;
        bad.assert_status(400);
        app.post(
            "/account/passkeys",
            &[("csrf_token", &csrf), ("credential", "{}")],
        )
        .await
        .assert_status(400);
        let stored: i64 = app.db(|c| passkeys::table.count().get_result(c).expect("n"));
        assert_eq!(stored, 0);

        // Signing in: options without mediation (a button asks), a forged answer is refused.
        app.swap_cookies(Default::default());
        let login = app.get("/login").await;
        assert!(login.body.contains("Sign in with a passkey"));
        let csrf = login.csrf();
        let res = app
            .post("/login/passkey/options", &[("csrf_token", &csrf)])
            .await;
        res.assert_status(200);
        let options = res.json();
        assert!(options.get("mediation").is_none());
        assert_eq!(options["publicKey"]["rpId"], "localhost");
        let forged = serde_json::json!({
            "id": "AAAA", "rawId": "AAAA", "type": "public-key",
            "response": {
                "authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA",
                "userHandle": "AAAAAAAAAAAAAAAAAAAAAA"
            }
        });
        let refused = app
            .post(
                "/login/passkey",
                &[("csrf_token", &csrf), ("credential", &forged.to_string())],
            )
            .await;
        refused.assert_status(400);
        assert_eq!(
            refused.json()["error"],
            "The passkey was not accepted. Try again."
        );
        let account = app.get("/account").await;
        assert_eq!(account.status, 303, "still signed out");
        // Without the token, nothing is even started.
        app.post("/login/passkey/options", &[])
            .await
            .assert_status(403);
    })
    .await;
}

#[actix_web::test]
async fn an_ip_address_gets_no_passkeys() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        app.set_host("127.0.0.1:8080");
        app.swap_cookies(Default::default());
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let page = app.get("/account").await;
        assert!(page.body.contains("not an IP address"));
        assert!(!page.body.contains("data-passkey-register"));
        let res = app
            .post(
                "/account/passkeys/options",
                &[("csrf_token", &page.csrf()), ("name", "Laptop")],
            )
            .await;
        res.assert_status(409);
        assert!(
            !app.get("/login")
                .await
                .body
                .contains("Sign in with a passkey")
        );
    })
    .await;
}

#[actix_web::test]
async fn a_passkey_is_renamed_by_its_owner_bad_names_change_nothing_and_others_get_404() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "bob@example.com", Role::Developer)
            .await;
        let ada_key = insert_passkey(&app, "ada@example.com", "Work laptop");
        let bob_key = insert_passkey(&app, "bob@example.com", "Bob's phone");
        let names = |app: &TestApp| {
            app.db(|c| {
                passkeys::table
                    .order(passkeys::name)
                    .select(passkeys::name)
                    .load::<String>(c)
                    .expect("names")
            })
        };

        let account = app.get("/account").await;
        let link = format!("/account/passkeys/{ada_key}/rename");
        assert!(
            account.body.contains(&format!(
                "href=\"{link}\" aria-label=\"Rename passkey Work laptop\""
            )),
            "{}",
            account.body
        );
        let form = app.get(&link).await;
        form.assert_status(200);
        assert!(form.body.contains("<h1>Rename passkey</h1>"));
        assert!(form.body.contains("value=\"Work laptop\""));

        // Bad names: 422 with the message beside the field, the typed text kept, nothing saved.
        for (bad, message) in [
            ("   ", "Enter a name."),
            (&*"x".repeat(65), "Use at most 64 characters."),
        ] {
            let res = app
                .post(&link, &[("csrf_token", &form.csrf()), ("name", bad)])
                .await;
            res.assert_status(422);
            assert!(res.body.contains(message), "{}", res.body);
            assert!(res.body.contains("aria-invalid=\"true\""));
        }
        assert_eq!(names(&app), ["Bob's phone", "Work laptop"]);

        // Someone else's passkey is a 404, to look at or to rename, whatever the name.
        let bobs = format!("/account/passkeys/{bob_key}/rename");
        app.get(&bobs).await.assert_status(404);
        for name in ["Mine now", ""] {
            app.post(&bobs, &[("csrf_token", &form.csrf()), ("name", name)])
                .await
                .assert_status(404);
        }
        app.get("/account/passkeys/not-an-id/rename")
            .await
            .assert_status(404);
        assert_eq!(names(&app), ["Bob's phone", "Work laptop"]);

        // One's own: saved, said, and on the security log.
        let done = app
            .post(
                &link,
                &[("csrf_token", &form.csrf()), ("name", "  Personal phone ")],
            )
            .await;
        done.assert_status(303);
        assert_eq!(done.location(), "/account");
        let account = app.get("/account").await;
        assert!(account.body.contains("Passkey renamed “Personal phone”."));
        assert!(account.body.contains("<strong>Personal phone</strong>"));
        assert_eq!(names(&app), ["Bob's phone", "Personal phone"]);
        let logged: i64 = app.db(|c| {
            security_events::table
                .filter(security_events::action.eq("account.passkey_renamed"))
                .count()
                .get_result(c)
                .expect("count")
        });
        assert_eq!(logged, 1);
    })
    .await;
}

#[actix_web::test]
async fn a_passkey_counts_as_a_second_factor_and_only_its_owner_removes_it() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.add_member(&slug, "bob@example.com", Role::Developer)
            .await;
        let ada_key = insert_passkey(&app, "ada@example.com", "Work laptop");
        let bob_key = insert_passkey(&app, "bob@example.com", "Bob's phone");

        // Ada may require two-factor: her passkey is one; Bob's counts too.
        let members = app.get(&format!("/teams/{slug}/settings/members")).await;
        assert!(members.body.contains("2 of 2 have it on"));
        app.post(
            &format!("/teams/{slug}/settings/members/two-factor"),
            &[("csrf_token", &members.csrf()), ("required", "true")],
        )
        .await
        .assert_status(303);
        let page = app.get("/account").await;
        assert!(page.body.contains("Work laptop"));

        // Someone else's passkey is a 404 and stays; one's own goes.
        app.post(
            &format!("/account/passkeys/{bob_key}/remove"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(404);
        app.post(
            &format!("/account/passkeys/{ada_key}/remove"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(303);
        let left: Vec<String> =
            app.db(|c| passkeys::table.select(passkeys::id).load(c).expect("ids"));
        assert_eq!(left, [bob_key]);
    })
    .await;
}

#[actix_web::test]
async fn an_account_whose_second_factor_is_a_passkey_confirms_with_it_not_a_password_alone() {
    use latchkey::db::schema::api_keys;
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        insert_passkey(&app, "ada@example.com", "Laptop");
        let keys = format!("/teams/{slug}/settings/api-keys");
        let key_count = || -> i64 { app.db(|c| api_keys::table.count().get_result(c).expect("n")) };
        let admin_key = |csrf: String, extra: (&'static str, String)| {
            let app = &app;
            let keys = keys.clone();
            async move {
                let mut fields = vec![
                    ("csrf_token", csrf),
                    ("name", "Root".to_owned()),
                    ("mode", "live".to_owned()),
                    ("scopes", "admin".to_owned()),
                    ("expiry", "never".to_owned()),
                ];
                if !extra.0.is_empty() {
                    fields.push(extra);
                }
                let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.post(&keys, &refs).await
            }
        };
        let csrf = app.get(&format!("{keys}/new")).await.csrf();
        app.clock().advance(11 * 60);

        let ask = admin_key(csrf.clone(), ("", String::new())).await;
        ask.assert_status(403);
        assert!(ask.body.contains("Confirm with your passkey"));
        assert!(!ask.body.contains("name=\"confirm_password\""));
        assert!(ask.body.contains("name=\"confirm_passkey\""));

        // The password alone skips the factor the account enrolled: refused, nothing made.
        let password = admin_key(csrf.clone(), ("confirm_password", crate::helpers::PASSWORD.into())).await;
        password.assert_status(422);
        assert!(password.body.contains("second factor is a passkey: confirm with it"));
        // An answer that does not verify (to a real challenge of this session): refused too.
        app.post("/login/passkey/options", &[("csrf_token", &csrf)])
            .await
            .assert_status(200);
        let forged = admin_key(
            csrf.clone(),
            ("confirm_passkey", r#"{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AAAA","userHandle":"AAAA"},"extensions":{}}"#.into()),
        )
        .await;
        forged.assert_status(422);
        assert!(forged.body.contains("The passkey was not accepted. Try again."));
        assert_eq!(key_count(), 0);
    })
    .await;
}

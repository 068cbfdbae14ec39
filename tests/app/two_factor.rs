//! Two-factor sign-in with an authenticator app: enrolment with a code computed here from the
//! secret the page shows (totp-rs, not Latchkey's own code), sign-in with and without the
//! code, each code once, one step either side accepted and two refused (the injected clock),
//! recovery codes single-use, and turning it off.

use std::collections::HashMap;

use diesel::prelude::*;
use latchkey::db::schema::{recovery_codes, user_totp, users};

use crate::helpers::{PASSWORD, Resp, TestApp, each_db};

pub(crate) fn code_at(secret: &str, unix: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32");
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 0, 30, bytes)
        .expect("totp")
        .generate(u64::try_from(unix).expect("time"))
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let at = body.find(start).expect(start) + start.len();
    &body[at..at + body[at..].find(end).expect(end)]
}

/// Turns two-factor on for the signed-in user (Ada); returns the secret and the recovery codes.
async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    enrol_as(app, "ada@example.com").await
}

/// Turns two-factor on for the signed-in user, `email`.
pub(crate) async fn enrol_as(app: &TestApp, email: &str) -> (String, Vec<String>) {
    let email = email.to_owned();
    let user_id: String = app.db(|c| {
        users::table
            .filter(users::email.eq(&email))
            .select(users::id)
            .first(c)
            .expect("user")
    });
    let csrf = app.get("/account").await.csrf();
    let begun = app
        .post("/account/two-factor", &[("csrf_token", &csrf)])
        .await;
    begun.assert_status(303);
    assert_eq!(begun.location(), "/account/two-factor");
    let page = app.get("/account/two-factor").await;
    page.assert_status(200);
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(page.body.contains("<svg class=\"qr\""));
    let secret = between(
        &page.body,
        "data-testid=\"totp-secret\" data-volatile>",
        "<",
    )
    .to_owned();
    assert_eq!(secret.len(), 32);
    // Not on until a first code confirms it: sign-in does not ask yet.
    let enrolled: Option<Option<i64>> = app.db(|c| {
        user_totp::table
            .find(&user_id)
            .select(user_totp::confirmed_at)
            .first(c)
            .optional()
            .expect("row")
    });
    assert_eq!(enrolled, Some(None));
    let wrong = app
        .post(
            "/account/two-factor/confirm",
            &[("csrf_token", &csrf), ("code", "000000")],
        )
        .await;
    wrong.assert_status(422);
    assert!(wrong.body.contains("id=\"code-error\""));
    let now = app.clock().now();
    let ok = app
        .post(
            "/account/two-factor/confirm",
            &[("csrf_token", &csrf), ("code", &code_at(&secret, now))],
        )
        .await;
    ok.assert_status(200);
    assert_eq!(ok.header("cache-control"), "no-store");
    let codes: Vec<String> = ok
        .body
        .split("data-testid=\"recovery-code\">")
        .skip(1)
        .map(|s| s[..s.find('<').expect("end")].to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(ok.body.contains("download=\"latchkey-recovery-codes.txt\""));
    // Only digests are stored, and the secret is sealed.
    let digests: Vec<String> = app.db(|c| {
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(&user_id))
            .select(recovery_codes::code_digest)
            .load(c)
            .expect("codes")
    });
    assert_eq!(digests.len(), 10);
    assert!(
        !digests
            .iter()
            .any(|d| codes.iter().any(|c| d.contains(&c.replace('-', ""))))
    );
    let sealed: String = app.db(|c| {
        user_totp::table
            .find(&user_id)
            .select(user_totp::secret)
            .first(c)
            .expect("row")
    });
    assert!(!sealed.contains(&secret));
    (secret, codes)
}

async fn password_step(app: &TestApp) -> Resp {
    app.swap_cookies(HashMap::new());
    let res = app.sign_in("ada@example.com", PASSWORD).await;
    res.assert_status(303);
    res
}

async fn code_step(app: &TestApp, code: &str) -> Resp {
    let page = app.get("/login/two-factor").await;
    page.assert_status(200);
    app.post(
        "/login/two-factor",
        &[("csrf_token", &page.csrf()), ("code", code)],
    )
    .await
}

#[actix_web::test]
async fn sign_in_asks_for_a_code_that_works_once_within_one_step_either_side() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        let (secret, _) = enrol(&app).await;
        assert!(
            app.get("/account")
                .await
                .body
                .contains("10 of 10 recovery codes left")
        );

        // The password alone leads to the code step; the session is not signed in yet.
        let res = password_step(&app).await;
        assert_eq!(res.location(), "/login/two-factor");
        let account = app.get("/account").await;
        assert_eq!(account.status, 303);
        assert!(account.location().starts_with("/login"));
        let wrong = code_step(&app, "123456").await;
        wrong.assert_status(422);
        assert!(wrong.body.contains("That code is not right"));
        // Two steps out is refused; one step ahead is taken.
        app.clock().advance(90);
        let now = app.clock().now();
        code_step(&app, &code_at(&secret, now + 60))
            .await
            .assert_status(422);
        code_step(&app, &code_at(&secret, now - 60))
            .await
            .assert_status(422);
        let ok = code_step(&app, &code_at(&secret, now + 30)).await;
        ok.assert_status(303);
        assert_eq!(ok.location(), "/");
        app.get("/account").await.assert_status(200);

        // The same code again (a replay), and an older one after it, are refused.
        password_step(&app).await;
        code_step(&app, &code_at(&secret, now + 30))
            .await
            .assert_status(422);
        code_step(&app, &code_at(&secret, now))
            .await
            .assert_status(422);
        // A minute on, that step's code works.
        app.clock().advance(60);
        let later = app.clock().now();
        code_step(&app, &code_at(&secret, later))
            .await
            .assert_status(303);

        // The password step expires after five minutes.
        password_step(&app).await;
        app.clock().advance(301);
        let stale = app.get("/login/two-factor").await;
        assert_eq!(stale.status, 303);
        assert_eq!(stale.location(), "/login");
    })
    .await;
}

#[actix_web::test]
async fn recovery_codes_work_once_and_turning_it_off_needs_a_code() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        let signed_in = app.cookies();
        let (secret, codes) = enrol(&app).await;
        password_step(&app).await;
        code_step(&app, &codes[0].to_uppercase())
            .await
            .assert_status(303);
        let page = app.get("/account").await;
        assert!(page.body.contains("9 of 10 recovery codes left"));
        assert!(page.body.contains("Recovery code used"));
        password_step(&app).await;
        code_step(&app, &codes[0]).await.assert_status(422);
        code_step(&app, &codes[1]).await.assert_status(303);

        // Off: a wrong code is a 422 and changes nothing; a right one turns it off.
        app.swap_cookies(signed_in);
        let csrf = app.get("/account").await.csrf();
        let wrong = app
            .post(
                "/account/two-factor/disable",
                &[("csrf_token", &csrf), ("code", "000000")],
            )
            .await;
        wrong.assert_status(422);
        assert!(wrong.body.contains("id=\"disable-code-error\""));
        app.clock().advance(30);
        let code = code_at(&secret, app.clock().now());
        app.post(
            "/account/two-factor/disable",
            &[("csrf_token", &csrf), ("code", &code)],
        )
        .await
        .assert_status(303);
        let rows: i64 = app.db(|c| user_totp::table.count().get_result(c).expect("count"));
        assert_eq!(rows, 0);
        let left: i64 = app.db(|c| recovery_codes::table.count().get_result(c).expect("count"));
        assert_eq!(left, 0);
        let res = password_step(&app).await;
        assert_eq!(res.location(), "/", "the password alone signs in again");
    })
    .await;
}

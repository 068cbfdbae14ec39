//! Bad input on the create form: 422, a message next to each bad field, nothing written.

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, audit_events};

use crate::helpers::{TestApp, each_db};

fn counts(app: &TestApp) -> (i64, i64) {
    app.db(|c| {
        (
            api_keys::table.count().get_result(c).expect("keys"),
            audit_events::table.count().get_result(c).expect("audit"),
        )
    })
}

#[actix_web::test]
async fn each_kind_of_bad_input_gets_its_message_and_nothing_is_written() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        app.create_key(
            &slug,
            &[
                ("name", "Production server"),
                ("scopes", "admin"),
                ("mode", "live"),
            ],
        )
        .await;
        let before = counts(&app);
        let url = format!("/teams/{slug}/settings/api-keys");
        let csrf = app.csrf_of_session(&slug).await;
        let long = "x".repeat(65);
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("name", ""), ("scopes", "admin"), ("mode", "live")],
                "Enter a name.",
            ),
            (
                vec![("name", "   "), ("scopes", "admin"), ("mode", "live")],
                "Enter a name.",
            ),
            (
                vec![("name", &long), ("scopes", "admin"), ("mode", "live")],
                "Use at most 64 characters.",
            ),
            (
                vec![("name", "bell\u{7}"), ("scopes", "admin"), ("mode", "live")],
                "Use letters, digits, spaces and punctuation only.",
            ),
            (
                vec![
                    ("name", "Production server"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                ],
                "A key with this name already exists.",
            ),
            (
                vec![("name", "Ok"), ("scopes", "bots:delete"), ("mode", "live")],
                "Unknown scope. Choose from the list.",
            ),
            (
                vec![("name", "Ok"), ("mode", "live")],
                "Choose at least one scope.",
            ),
            (
                vec![("name", "Ok"), ("scopes", "admin"), ("mode", "prod")],
                "Choose live or test.",
            ),
            (
                vec![
                    ("name", "Ok"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("environment", "Prod"),
                ],
                "Use 1–12 lower-case letters or digits",
            ),
            (
                vec![
                    ("name", "Ok"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("environment", "thirteen-char"),
                ],
                "Use 1–12 lower-case letters or digits",
            ),
            (
                vec![
                    ("name", "Ok"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("expiry", "date"),
                    ("expiry_date", "2026-01-14"),
                ],
                "Choose a date after today.",
            ),
            (
                vec![
                    ("name", "Ok"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("expiry", "date"),
                    ("expiry_date", "2026-01-15"),
                ],
                "Choose a date after today.",
            ),
            (
                vec![
                    ("name", "Ok"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("expiry", "date"),
                    ("expiry_date", "15/02/2026"),
                ],
                "Choose a date (YYYY-MM-DD).",
            ),
            (
                vec![
                    ("name", "Ok"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("expiry", "date"),
                    ("expiry_date", "2040-01-01"),
                ],
                "Choose a date within five years.",
            ),
            (
                vec![
                    ("name", "Ok"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("expiry", "45"),
                ],
                "Choose one of the offered expiry options.",
            ),
        ];
        for (fields, message) in cases {
            let mut form = vec![("csrf_token", csrf.as_str())];
            form.extend(fields.iter().copied());
            for res in [
                app.post(&url, &form).await,
                app.post_htmx(&url, &csrf, &fields).await,
            ] {
                res.assert_status(422);
                assert!(
                    res.body.contains(message),
                    "expected {message:?} for {fields:?}"
                );
                assert!(
                    res.body
                        .contains("Check the highlighted fields. Nothing was created.")
                );
                assert!(
                    res.body.contains("<p class=\"field-error\""),
                    "message sits next to its field"
                );
            }
            assert_eq!(counts(&app), before, "nothing written for {fields:?}");
        }
    })
    .await;
}

#[actix_web::test]
async fn a_failed_form_keeps_what_was_typed() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let csrf = app.csrf_of_session(&slug).await;
        let res = app
            .post(
                &format!("/teams/{slug}/settings/api-keys"),
                &[
                    ("csrf_token", &csrf),
                    ("name", "<b>Typed</b>"),
                    ("scopes", "channels:read"),
                    ("mode", "test"),
                    ("environment", "BAD"),
                ],
            )
            .await;
        res.assert_status(422);
        assert!(
            res.body.contains("value=\"&#60;b&#62;Typed&#60;/b&#62;\""),
            "kept and escaped"
        );
        assert!(res.body.contains("value=\"channels:read\" checked"));
        assert!(!res.body.contains("value=\"bots:read\" checked"));
        assert!(res.body.contains("value=\"test\" checked"));
        assert!(res.body.contains("value=\"BAD\""));
    })
    .await;
}

#[actix_web::test]
async fn forms_that_are_not_urlencoded_or_too_large_are_refused() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let csrf = app.csrf_of_session(&slug).await;
        let url = format!("/teams/{slug}/settings/api-keys");
        let json = app
            .send(
                actix_web::test::TestRequest::post()
                    .uri(&url)
                    .insert_header(("content-type", "application/json"))
                    .insert_header(("x-csrf-token", csrf.as_str()))
                    .set_payload(r#"{"name":"x"}"#),
            )
            .await;
        json.assert_status(400);
        let big = "a".repeat(20_000);
        let too_large = app
            .post(&url, &[("csrf_token", &csrf), ("name", &big)])
            .await;
        too_large.assert_status(413);
        assert!(too_large.body.contains("The form is too large."));
        let gz = app
            .send(
                actix_web::test::TestRequest::post()
                    .uri(&url)
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .insert_header(("content-encoding", "gzip"))
                    .set_payload("x"),
            )
            .await;
        gz.assert_status(415);
        assert_eq!(counts(&app).0, 0);
    })
    .await;
}

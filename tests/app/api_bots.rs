//! `/v1/bots`: CRUD, validation, pagination, tenant and mode isolation.

use serde_json::json;

use crate::helpers::{KeySpec, TestApp, each_db};

async fn team_with_key(
    app: &TestApp,
    email: &str,
    team: &str,
    mode: &'static str,
) -> (String, String) {
    let slug = if app.get("/").await.location() == "/login" {
        app.set_up(email, team).await
    } else {
        team.to_lowercase()
    };
    let (_, key) = app.make_key(KeySpec {
        team: &slug,
        scopes: &["admin"],
        mode,
    });
    (slug, key)
}

#[actix_web::test]
async fn bots_can_be_created_read_updated_listed_and_deleted() {
    each_db(|app| async move {
        let (_, key) = team_with_key(&app, "ada@example.com", "Acme", "live").await;
        let created = app
            .api(
                "POST",
                "/bots",
                &key,
                Some(json!({"name": "Support bot", "description": "Answers FAQs"})),
            )
            .await;
        created.assert_status(201);
        let bot = created.json();
        let id = bot["id"].as_str().expect("id").to_owned();
        assert!(id.starts_with("bot_"));
        assert_eq!(bot["object"], "bot");
        assert_eq!(bot["mode"], "live");
        assert_eq!(bot["created_at"], "2026-01-15T10:00:00Z");

        let got = app.api("GET", &format!("/bots/{id}"), &key, None).await;
        got.assert_status(200);
        assert_eq!(got.json()["name"], "Support bot");

        let patched = app
            .api(
                "PATCH",
                &format!("/bots/{id}"),
                &key,
                Some(json!({"name": "Sales bot"})),
            )
            .await;
        patched.assert_status(200);
        assert_eq!(patched.json()["name"], "Sales bot");
        assert_eq!(patched.json()["description"], "Answers FAQs");

        let list = app.api("GET", "/bots", &key, None).await;
        list.assert_status(200);
        assert_eq!(list.json()["object"], "list");
        assert_eq!(list.json()["data"][0]["id"], id.as_str());
        assert_eq!(list.json()["has_more"], false);

        let del = app.api("DELETE", &format!("/bots/{id}"), &key, None).await;
        del.assert_status(200);
        assert_eq!(
            del.json(),
            json!({"id": id, "object": "bot", "deleted": true})
        );
        app.api("GET", &format!("/bots/{id}"), &key, None)
            .await
            .assert_status(404);
        app.api("DELETE", &format!("/bots/{id}"), &key, None)
            .await
            .assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn bad_bot_input_gets_field_messages_and_writes_nothing() {
    each_db(|app| async move {
        let (_, key) = team_with_key(&app, "ada@example.com", "Acme", "live").await;
        let cases = [
            (json!({}), "name", "This field is required."),
            (json!({"name": ""}), "name", "Must not be empty."),
            (
                json!({"name": "x".repeat(65)}),
                "name",
                "Must be at most 64 characters.",
            ),
            (json!({"name": 5}), "name", "Must be a string."),
            (
                json!({"name": "ok", "colour": "red"}),
                "colour",
                "Unknown field.",
            ),
            (
                json!({"name": "ok", "description": "d".repeat(501)}),
                "description",
                "Must be at most 500 characters.",
            ),
        ];
        for (body, field, message) in cases {
            let res = app.api("POST", "/bots", &key, Some(body.clone())).await;
            res.assert_status(422);
            let j = res.json();
            assert_eq!(j["error"]["code"], "VALIDATION_FAILED", "{body}");
            assert_eq!(j["error"]["fields"][field], message, "{body}");
        }
        let list = app.api("GET", "/bots", &key, None).await;
        assert_eq!(list.json()["data"], json!([]));
        let arr = app.api("POST", "/bots", &key, Some(json!(["name"]))).await;
        arr.assert_status(422);
        assert_eq!(
            arr.json()["error"]["fields"]["body"],
            "The body must be a JSON object."
        );
    })
    .await;
}

#[actix_web::test]
async fn lists_paginate_with_limit_and_starting_after() {
    each_db(|app| async move {
        let (_, key) = team_with_key(&app, "ada@example.com", "Acme", "live").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            app.clock().advance(1);
            let res = app
                .api(
                    "POST",
                    "/bots",
                    &key,
                    Some(json!({"name": format!("bot {i}")})),
                )
                .await;
            ids.push(res.json()["id"].as_str().expect("id").to_owned());
        }
        ids.reverse(); // newest first
        let first = app.api("GET", "/bots?limit=2", &key, None).await.json();
        let got: Vec<&str> = first["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|b| b["id"].as_str().expect("id"))
            .collect();
        assert_eq!(got, &ids[..2]);
        assert_eq!(first["has_more"], true);
        let next = app
            .api(
                "GET",
                &format!("/bots?limit=2&starting_after={}", ids[1]),
                &key,
                None,
            )
            .await
            .json();
        let got: Vec<&str> = next["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|b| b["id"].as_str().expect("id"))
            .collect();
        assert_eq!(got, &ids[2..4]);
        let last = app
            .api(
                "GET",
                &format!("/bots?limit=2&starting_after={}", ids[3]),
                &key,
                None,
            )
            .await
            .json();
        assert_eq!(last["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(last["has_more"], false);
        for bad in ["limit=0", "limit=101", "limit=ten"] {
            let res = app.api("GET", &format!("/bots?{bad}"), &key, None).await;
            res.assert_status(422);
            assert_eq!(
                res.json()["error"]["fields"]["limit"],
                "Must be an integer from 1 to 100."
            );
        }
        let res = app
            .api(
                "GET",
                "/bots?starting_after=bot_AAAAAAAAAAAAAAAAAAAA",
                &key,
                None,
            )
            .await;
        res.assert_status(422);
        assert_eq!(
            res.json()["error"]["fields"]["starting_after"],
            "No such bot."
        );
    })
    .await;
}

#[actix_web::test]
async fn test_keys_and_other_teams_never_see_live_objects() {
    each_db(|app| async move {
        let (slug, live) = team_with_key(&app, "ada@example.com", "Acme", "live").await;
        let (_, test) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "test",
        });
        let bot = app
            .api("POST", "/bots", &live, Some(json!({"name": "Live bot"})))
            .await
            .json();
        let id = bot["id"].as_str().expect("id").to_owned();

        // A second team with its own key.
        app.add_member(
            &slug,
            "eve@example.com",
            latchkey::domain::role::Role::Viewer,
        )
        .await;
        let other = app.team_owned_by("eve@example.com", "Globex");
        let (_, foreign) = app.make_key(KeySpec {
            team: &other,
            scopes: &["admin"],
            mode: "live",
        });

        for key in [&test, &foreign] {
            let get = app.api("GET", &format!("/bots/{id}"), key, None).await;
            let random = app
                .api("GET", "/bots/bot_AAAAAAAAAAAAAAAAAAAA", key, None)
                .await;
            get.assert_status(404);
            assert_eq!(
                get.body, random.body,
                "another tenant's object looks exactly like no object"
            );
            app.api(
                "PATCH",
                &format!("/bots/{id}"),
                key,
                Some(json!({"name": "pwned"})),
            )
            .await
            .assert_status(404);
            app.api("DELETE", &format!("/bots/{id}"), key, None)
                .await
                .assert_status(404);
            assert_eq!(
                app.api("GET", "/bots", key, None).await.json()["data"],
                json!([])
            );
        }
        let still = app.api("GET", &format!("/bots/{id}"), &live, None).await;
        assert_eq!(still.json()["name"], "Live bot");
    })
    .await;
}

//! Walks the API route table: every route refuses a key lacking its scope with the exact 403
//! body, accepts one that has it, and never shows one tenant's objects to another.

use latchkey::api::ROUTES;
use latchkey::domain::scope::Scope;
use serde_json::json;

use crate::helpers::{KeySpec, TestApp, each_db};

/// Every scope except those that would grant `required`.
fn all_but(required: Scope) -> Vec<&'static str> {
    Scope::ALL
        .into_iter()
        .filter(|s| {
            let mut one = latchkey::domain::scope::ScopeSet::empty();
            one.insert(*s);
            !one.grants(required)
        })
        .map(Scope::as_str)
        .collect()
}

fn concrete(path: &str) -> String {
    let prefix = match path.split('/').nth(1) {
        Some("bots") => "bot_",
        Some("channels") => "chn_",
        Some("conversations") => "conv_",
        Some("integrations") => "int_",
        Some("agent-loops") => "loop_",
        Some("api-keys") => "key_",
        Some("webhook-endpoints") => "whe_",
        _ => "x_",
    };
    path.replace("{id}", &format!("{prefix}AAAAAAAAAAAAAAAAAAAA"))
}

fn body_for(method: &str) -> Option<serde_json::Value> {
    matches!(method, "POST" | "PATCH").then(|| json!({}))
}

#[actix_web::test]
async fn every_route_refuses_a_key_without_its_scope_with_the_exact_body() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let mut checked = 0;
        for route in ROUTES.iter() {
            let Some(required) = route.scope else { continue };
            let scopes = all_but(required);
            let (_, key) = app.make_key(KeySpec { team: &slug, scopes: &scopes, mode: "live" });
            let res = app.api(route.method, &concrete(route.path), &key, body_for(route.method)).await;
            assert_eq!(res.status.as_u16(), 403, "{} {} without {required}: {}", route.method, route.path, res.body);
            assert_eq!(
                res.body,
                format!(r#"{{"error":{{"code":"INSUFFICIENT_PERMISSIONS","message":"API key does not have permission to perform this action","required_scope":"{required}"}}}}"#),
                "{} {}",
                route.method,
                route.path
            );
            // With exactly that scope the request gets past the permission check.
            let (_, allowed) = app.make_key(KeySpec { team: &slug, scopes: &[required.as_str()], mode: "live" });
            let ok = app.api(route.method, &concrete(route.path), &allowed, body_for(route.method)).await;
            assert!(![401, 403].contains(&ok.status.as_u16()), "{} {} with {required}: {}", route.method, route.path, ok.body);
            checked += 1;
        }
        assert_eq!(checked, ROUTES.iter().filter(|r| r.scope.is_some()).count());
        assert!(checked >= 29);
    })
    .await;
}

/// Creates one object of each kind with `key`; returns (GET path, PATCH path or None, DELETE
/// path or None) for each.
async fn one_of_each(app: &TestApp, key: &str) -> Vec<(String, bool, bool)> {
    let bot = app
        .api("POST", "/bots", key, Some(json!({"name": "B"})))
        .await
        .json()["id"]
        .as_str()
        .expect("bot")
        .to_owned();
    let ch = app
        .api(
            "POST",
            "/channels",
            key,
            Some(json!({"bot_id": bot, "kind": "web", "name": "Site"})),
        )
        .await
        .json()["id"]
        .as_str()
        .expect("ch")
        .to_owned();
    let int = app.api("POST", "/integrations", key, Some(json!({"provider": "shopify", "name": "Shop", "base_url": "https://shop.example/api", "credential": {"token": "shpat_x"}}))).await.json()["id"].as_str().expect("int").to_owned();
    let conv = app
        .api(
            "POST",
            "/conversations",
            key,
            Some(json!({"title": "T", "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await
        .json()["id"]
        .as_str()
        .expect("conv")
        .to_owned();
    let lp = app
        .api("POST", "/agent-loops", key, Some(json!({"name": "L"})))
        .await
        .json()["id"]
        .as_str()
        .expect("loop")
        .to_owned();
    vec![
        (format!("/bots/{bot}"), true, true),
        (format!("/channels/{ch}"), true, true),
        (format!("/integrations/{int}"), true, true),
        (format!("/conversations/{conv}"), false, true),
        (format!("/agent-loops/{lp}"), false, false),
        (format!("/agent-loops/{lp}/runs"), false, false),
    ]
}

#[actix_web::test]
async fn no_object_of_one_tenant_is_visible_to_another_or_to_the_other_mode() {
    each_db(|app| async move {
        let acme = app.set_up("ada@example.com", "Acme").await;
        let (_, live) = app.make_key(KeySpec {
            team: &acme,
            scopes: &["admin"],
            mode: "live",
        });
        let (_, test) = app.make_key(KeySpec {
            team: &acme,
            scopes: &["admin"],
            mode: "test",
        });
        let globex = app.team_owned_by("ada@example.com", "Globex");
        let (_, foreign) = app.make_key(KeySpec {
            team: &globex,
            scopes: &["admin"],
            mode: "live",
        });
        let objects = one_of_each(&app, &live).await;
        for (path, patchable, deletable) in &objects {
            // The same path with a random id of the same type: what "does not exist" looks like.
            let (prefix, rest) = path.split_at(path.find('_').expect("typed id") + 1);
            let random = format!("{prefix}{}{}", "Z".repeat(20), &rest[20..]);
            for key in [&test, &foreign] {
                let res = app.api("GET", path, key, None).await;
                res.assert_status(404);
                let missing = app.api("GET", &random, key, None).await;
                assert_eq!(
                    res.body, missing.body,
                    "{path}: another tenant's object looks like no object"
                );
                if *patchable {
                    app.api("PATCH", path, key, Some(json!({"name": "pwned"})))
                        .await
                        .assert_status(404);
                }
                if *deletable {
                    app.api("DELETE", path, key, None).await.assert_status(404);
                }
            }
            app.api("GET", path, &live, None).await.assert_status(200);
        }
        // Lists of the other tenants are empty.
        for list in [
            "/bots",
            "/channels",
            "/integrations",
            "/conversations",
            "/agent-loops",
        ] {
            for key in [&test, &foreign] {
                assert_eq!(
                    app.api("GET", list, key, None).await.json()["data"],
                    json!([]),
                    "{list}"
                );
            }
            assert_eq!(
                app.api("GET", list, &live, None).await.json()["data"]
                    .as_array()
                    .map(Vec::len),
                Some(1),
                "{list}"
            );
        }
        // References across tenants are refused too.
        let bot = objects[0].0.trim_start_matches("/bots/").to_owned();
        let res = app
            .api(
                "POST",
                "/channels",
                &foreign,
                Some(json!({"bot_id": bot, "kind": "web", "name": "x"})),
            )
            .await;
        res.assert_status(422);
        assert_eq!(res.json()["error"]["fields"]["bot_id"], "No such bot.");
    })
    .await;
}

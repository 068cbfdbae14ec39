//! The OpenAPI document and the dashboard's API reference describe every route and scope.

use latchkey::api::ROUTES;

use crate::helpers::each_db;

#[actix_web::test]
async fn the_openapi_document_describes_every_route_with_its_scope() {
    each_db(|app| async move {
        let res = app.send(actix_web::test::TestRequest::get().uri("/v1/openapi.json")).await;
        res.assert_status(200);
        let doc = res.json();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["servers"][0]["url"], "http://localhost:8080/v1");
        for route in ROUTES {
            let op = &doc["paths"][route.path][route.method.to_lowercase()];
            assert!(op.is_object(), "{} {} is documented", route.method, route.path);
            assert_eq!(op["summary"], route.summary);
            match route.scope {
                Some(s) => assert_eq!(op["x-required-scope"], s.as_str()),
                None => assert!(op.get("x-required-scope").is_none()),
            }
            if route.path != "/revoke" {
                assert!(op["responses"]["401"].is_object() && op["responses"]["403"].is_object());
            }
        }
        // What the schema cannot express is said in words (issue 10): a well-formed
        // `starting_after` or `bot_id` that names nothing is a documented 422.
        let list = &doc["paths"]["/bots"]["get"];
        let cursor = list["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == "starting_after")
            .expect("starting_after");
        assert!(cursor["description"].as_str().expect("described").contains("422 VALIDATION_FAILED"));
        assert!(list["responses"]["422"]["description"].as_str().expect("422").contains("starting_after"));
        let channel = &doc["paths"]["/channels"]["post"];
        assert!(channel["responses"]["422"]["description"].as_str().expect("422").contains("bot_id"));
        let bot_id = &channel["requestBody"]["content"]["application/json"]["schema"]["properties"]["bot_id"];
        assert!(bot_id["description"].as_str().expect("described").contains("422"));
        // The leak report is braked like key checks.
        assert!(doc["paths"]["/revoke"]["post"]["responses"]["429"].is_object());
        let documented: usize = doc["paths"].as_object().expect("paths").values().map(|p| p.as_object().map_or(0, |m| m.len())).sum();
        assert_eq!(documented, ROUTES.len(), "nothing documented that is not routed");
        let codes = &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
        for code in ["INVALID_API_KEY", "API_KEY_EXPIRED", "INSUFFICIENT_PERMISSIONS", "RATE_LIMITED", "REQUEST_TIMEOUT", "HEADERS_TOO_LARGE"] {
            assert!(codes.as_array().expect("enum").iter().any(|c| c == code));
        }
    })
    .await;
}

#[actix_web::test]
async fn the_api_reference_page_lists_routes_scopes_and_exact_errors() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let page = app.get(&format!("/teams/{slug}/api-reference")).await;
        page.assert_status(200);
        for route in ROUTES {
            assert!(
                page.body
                    .contains(&format!("<code>/v1{}</code>", route.path)),
                "{}",
                route.path
            );
        }
        assert!(page.body.contains("<code>agent-loops:write</code>"));
        assert!(
            page.body
                .contains("&#34;required_scope&#34;:&#34;bots:write&#34;")
        );
        assert!(page.body.contains("http://localhost:8080/v1/bots"));
        app.get_htmx(&format!("/teams/{slug}/api-reference"))
            .await
            .assert_status(200);
        app.swap_cookies(Default::default());
        assert_eq!(
            app.get(&format!("/teams/{slug}/api-reference"))
                .await
                .status
                .as_u16(),
            303
        );
    })
    .await;
}

//! CSRF, cross-origin posts, headers, escaping.

use diesel::prelude::*;
use latchkey::db::schema::api_keys;

use crate::helpers::each_db;

#[actix_web::test]
async fn posts_without_a_valid_csrf_token_are_refused_and_change_nothing() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let url = format!("/teams/{slug}/settings/api-keys");
        let fields = [("name", "x"), ("scopes", "admin"), ("mode", "live")];
        let none = app.post(&url, &fields).await;
        none.assert_status(403);
        assert!(none.body.contains("Request refused"));
        let mut wrong = vec![("csrf_token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")];
        wrong.extend(fields);
        app.post(&url, &wrong).await.assert_status(403);
        app.post_htmx(&url, "forged", &fields)
            .await
            .assert_status(403);
        // Sign-out needs the token too (no logout CSRF).
        app.post("/logout", &[]).await.assert_status(403);
        let n: i64 = app
            .db(|c| api_keys::table.count().get_result(c))
            .expect("n");
        assert_eq!(n, 0);
        app.get(&url).await.assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn cross_origin_posts_are_refused_even_with_the_token() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let csrf = app.csrf_of_session(&slug).await;
        let url = format!("/teams/{slug}/settings/api-keys");
        let form = format!("csrf_token={csrf}&name=x&scopes=admin&mode=live");
        let post = |headers: Vec<(&'static str, &'static str)>| {
            let mut req = actix_web::test::TestRequest::post()
                .uri(&url)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(form.clone());
            for h in headers {
                req = req.insert_header(h);
            }
            req
        };
        app.send(post(vec![("origin", "https://evil.example")]))
            .await
            .assert_status(403);
        app.send(post(vec![("origin", "null")]))
            .await
            .assert_status(403);
        app.send(post(vec![("sec-fetch-site", "cross-site")]))
            .await
            .assert_status(403);
        app.send(post(vec![("sec-fetch-site", "same-site")]))
            .await
            .assert_status(403);
        let n: i64 = app
            .db(|c| api_keys::table.count().get_result(c))
            .expect("n");
        assert_eq!(n, 0);
        // Our own origin passes.
        app.send(post(vec![
            ("origin", "http://localhost:8080"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await
        .assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn pages_carry_strict_security_headers_and_session_cookie_flags() {
    each_db(|app| async move {
        let login = app.get("/login").await;
        let csp = login.header("content-security-policy");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(login.header("x-content-type-options"), "nosniff");
        assert_eq!(login.header("referrer-policy"), "same-origin");
        assert_eq!(login.header("x-frame-options"), "DENY");
        assert!(login.headers.get("server").is_none());
        let cookie = login.header("set-cookie");
        assert!(cookie.starts_with("latchkey_session="));
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    })
    .await;
}

#[actix_web::test]
async fn names_with_markup_render_as_text() {
    each_db(|app| async move {
        let slug = app
            .set_up("ada@example.com", "<img src=x onerror=alert(1)>")
            .await;
        let payload = "<script>alert('k')</script>";
        app.create_key(
            &slug,
            &[("name", payload), ("scopes", "admin"), ("mode", "live")],
        )
        .await;
        let list = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
        assert!(!list.body.contains(payload));
        assert!(!list.body.contains("<img src=x"));
        assert!(
            list.body
                .contains("&#60;script&#62;alert(&#39;k&#39;)&#60;/script&#62;")
        );
    })
    .await;
}

#[actix_web::test]
async fn static_assets_are_served_with_types_and_caching() {
    each_db(|app| async move {
        let css = app.get("/static/app.css").await;
        css.assert_status(200);
        assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
        let htmx = app.get("/static/htmx-2.0.11.min.js").await;
        htmx.assert_status(200);
        assert!(htmx.header("cache-control").contains("immutable"));
        let etag = htmx.header("etag").to_owned();
        let again = app
            .send(
                actix_web::test::TestRequest::get()
                    .uri("/static/htmx-2.0.11.min.js")
                    .insert_header(("if-none-match", etag.as_str())),
            )
            .await;
        again.assert_status(304);
        app.get("/static/nope.js").await.assert_status(404);
        app.get("/static/../Cargo.toml").await.assert_status(404);
        assert_eq!(app.get("/healthz").await.body, "ok");
    })
    .await;
}

//! The holes found by attacking the running server (issue 10): each test here failed before
//! its fix. Open redirects, forwarded-header CSRF, guessing brakes, owner lockout, session
//! cookie tossing, cache and isolation headers, 405s, oversized heads and forms, bearer
//! spacing, invisible characters in names.

use actix_web::test::TestRequest;
use diesel::prelude::*;
use latchkey::db::schema::{api_keys, bots, teams};
use serde_json::json;

use crate::helpers::{KeySpec, PASSWORD, TestApp, backends, each_db, each_db_with};

/// A well-formed key (checksum and all) that no team holds: what a guesser would send.
fn unknown_key() -> String {
    use latchkey::domain::api_key_secret::{ApiKeySecret, KeyMode};
    ApiKeySecret::generate(KeyMode::Live, None)
        .expose()
        .to_owned()
}

fn admin(team: &str) -> KeySpec<'_> {
    KeySpec {
        team,
        scopes: &["admin"],
        mode: "live",
    }
}

/// Signs in with `next` as the form's return target; returns the redirect target.
async fn sign_in_next(app: &TestApp, next: &str) -> String {
    let page = app.get("/login").await;
    let res = app
        .post(
            "/login",
            &[
                ("csrf_token", &page.csrf()),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await;
    res.assert_status(303);
    res.location().to_owned()
}

#[actix_web::test]
async fn sign_in_never_redirects_off_site_whatever_next_holds() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let hostile = [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\u{b}/evil.example",
            "/\r\n/evil.example",
            "/\r\nSet-Cookie: pwned=1",
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example/",
            "/ok/../\u{0}",
        ];
        for next in hostile {
            app.swap_cookies(Default::default());
            assert_eq!(sign_in_next(&app, next).await, "/", "next={next:?}");
            // The form never carries it back either.
            let q: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            let login = app.get(&format!("/login?next={q}")).await;
            login.assert_status(200);
            assert!(login.body.contains("name=\"next\" value=\"/\""), "{next:?}");
        }
        app.swap_cookies(Default::default());
        let keys = format!("/teams/{slug}/settings/api-keys");
        assert_eq!(sign_in_next(&app, &keys).await, keys);
    })
    .await;
}

#[actix_web::test]
async fn forwarded_host_headers_do_not_make_a_cross_origin_post_same_origin() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let csrf = app.csrf_of_session(&slug).await;
        let url = format!("/teams/{slug}/settings");
        let post = |extra: Vec<(&'static str, &'static str)>| {
            let body = format!("csrf_token={csrf}&name=Pwned&rate_limit=600");
            let mut req = TestRequest::post()
                .uri(&url)
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .insert_header(("origin", "https://evil.example"))
                .set_payload(body);
            for h in extra {
                req = req.insert_header(h);
            }
            req
        };
        for spoof in [
            vec![("x-forwarded-host", "evil.example")],
            vec![
                ("x-forwarded-host", "evil.example"),
                ("x-forwarded-proto", "https"),
            ],
            vec![("forwarded", "host=evil.example;proto=https")],
        ] {
            let res = app.send(post(spoof)).await;
            res.assert_status(403);
            assert!(res.body.contains("Request refused"));
        }
        // Nor does a Host header of its own choosing that no agency claimed.
        app.set_host("evil.example");
        let res = app
            .send(
                TestRequest::post()
                    .uri(&url)
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .insert_header(("origin", "http://evil.example"))
                    .set_payload(format!("csrf_token={csrf}&name=Pwned&rate_limit=600")),
            )
            .await;
        res.assert_status(403);
        app.set_host("localhost:8080");
        let name: String = app
            .db(|c| {
                teams::table
                    .filter(teams::slug.eq(&slug))
                    .select(teams::name)
                    .first(c)
            })
            .expect("team");
        assert_eq!(name, "Acme");
    })
    .await;
}

#[actix_web::test]
async fn guessing_keys_from_one_address_is_braked_with_429_but_its_valid_keys_still_work() {
    each_db_with(
        |c| c.failed_key_limit = 20,
        |app| async move {
            let slug = app.set_up("ada@example.com", "Acme").await;
            let (_, key) = app.make_key(admin(&slug));
            let guess = &unknown_key();
            for _ in 0..20 {
                app.api("GET", "/me", guess, None).await.assert_status(401);
            }
            // The 21st failure is over the limit: from now on this address's guesses wait.
            let braked = app.api("GET", "/me", guess, None).await;
            braked.assert_status(429);
            assert_eq!(braked.json()["error"]["code"], "RATE_LIMITED");
            let wait: i64 = braked.header("retry-after").parse().expect("Retry-After");
            assert!((1..=60).contains(&wait), "{wait}");
            // A malformed key is a guess too, and a guessed leak report.
            app.api("GET", "/me", "sk_live_nonsense", None)
                .await
                .assert_status(429);
            app.api("POST", "/revoke", &key, Some(json!({"key": guess})))
                .await
                .assert_status(429);
            // But a valid key from the braked address is admitted: whoever shares a NAT or a
            // cloud egress address with the guesser is not cut off (docs/decisions.md).
            // From the database (a fresh key) and from the cache alike.
            let (_, fresh) = app.make_key(admin(&slug));
            let me = app.api("GET", "/me", &fresh, None).await;
            me.assert_status(200);
            assert_eq!(me.json()["team"]["name"], "Acme", "{}", me.body);
            for _ in 0..3 {
                app.api("GET", "/me", &key, None).await.assert_status(200);
            }
            app.api("GET", "/bots", &key, None).await.assert_status(200);
            // Another address is not affected.
            app.set_peer("198.51.100.20");
            app.api("GET", "/me", &key, None).await.assert_status(200);
            app.api("GET", "/me", guess, None).await.assert_status(401);
            // The window ends.
            app.set_peer("203.0.113.7");
            app.clock().advance(61);
            app.api("GET", "/me", guess, None).await.assert_status(401);
            // A missing Authorization header is not a guess and never counts.
            for _ in 0..30 {
                let res = app.send(TestRequest::get().uri("/v1/me")).await;
                res.assert_status(401);
            }
            app.api("GET", "/me", &key, None).await.assert_status(200);
            // Braked again, the address can still report a real key leaked.
            for _ in 0..21 {
                app.api("GET", "/me", guess, None).await;
            }
            let report = app
                .api("POST", "/revoke", &fresh, Some(json!({"key": fresh})))
                .await;
            report.assert_status(200);
            assert_eq!(report.json()["revoked"], true);
            app.api("GET", "/me", &fresh, None).await.assert_status(429);
        },
    )
    .await;
}

/// A guessed key, sent as if forwarded for `client`.
async fn guess_forwarded_for(app: &TestApp, client: &str) -> crate::helpers::Resp {
    let guess = unknown_key();
    app.send(
        TestRequest::get()
            .uri("/v1/me")
            .insert_header(("authorization", format!("Bearer {guess}")))
            .insert_header(("x-forwarded-for", client.to_owned())),
    )
    .await
}

#[actix_web::test]
async fn spoofed_forwarded_for_does_not_dodge_the_brake_but_a_trusted_proxy_separates_clients() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend.clone(), |c| c.failed_key_limit = 5).await;
        for i in 0..8 {
            let res = guess_forwarded_for(&app, &format!("192.0.2.{i}")).await;
            res.assert_status(if i >= 5 { 429 } else { 401 });
        }
        // Behind a trusted proxy, each forwarded client has a count of its own.
        let proxied = TestApp::spawn_with(backend, |c| {
            c.failed_key_limit = 5;
            c.trusted_proxies = latchkey::config::parse_cidrs("203.0.113.7").expect("cidr");
        })
        .await;
        for i in 0..8 {
            guess_forwarded_for(&proxied, &format!("192.0.2.{i}"))
                .await
                .assert_status(401);
        }
    }
}

#[actix_web::test]
async fn probing_dashboard_ids_from_one_address_is_braked_with_429() {
    each_db_with(
        |c| c.not_found_limit = 10,
        |app| async move {
            let slug = app.set_up("ada@example.com", "Acme").await;
            for i in 0..11 {
                app.get(&format!("/teams/{slug}/settings/api-keys/key_{i}/edit"))
                    .await
                    .assert_status(404);
            }
            let braked = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
            braked.assert_status(429);
            assert!(braked.header("retry-after").parse::<i64>().is_ok());
            app.set_peer("198.51.100.20");
            app.get(&format!("/teams/{slug}/settings/api-keys"))
                .await
                .assert_status(200);
            app.set_peer("203.0.113.7");
            app.clock().advance(61);
            app.get(&format!("/teams/{slug}/settings/api-keys"))
                .await
                .assert_status(200);
        },
    )
    .await;
}

/// One failed sign-in attempt for `email` with a wrong password; returns the status.
async fn fail_sign_in(app: &TestApp, email: &str) -> u16 {
    let page = app.get("/login").await;
    let res = app
        .post(
            "/login",
            &[
                ("csrf_token", &page.csrf()),
                ("email", email),
                ("password", "wrong password, wrong"),
                ("next", "/"),
            ],
        )
        .await;
    res.status.as_u16()
}

#[actix_web::test]
async fn a_strangers_failures_do_not_lock_the_owner_out_of_their_own_address() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        // Ada has signed in from her address (set-up did, and again now).
        app.swap_cookies(Default::default());
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
        // A stranger fails from five addresses of his, 8 times each: throttled after 5 at
        // each; after 20 against the e-mail, new addresses are throttled from the start.
        app.swap_cookies(Default::default());
        let mut statuses = vec![];
        for i in 0..5 {
            app.set_peer(&format!("198.51.100.{}", 60 + i));
            for _ in 0..8 {
                statuses.push(fail_sign_in(&app, "ada@example.com").await);
            }
        }
        let expected: Vec<u16> = (0..4)
            .flat_map(|_| [422, 422, 422, 422, 422, 429, 429, 429])
            .chain([429; 8])
            .collect();
        assert_eq!(statuses, expected);
        // Ada, from her own address, signs in at once.
        app.set_peer("203.0.113.7");
        app.swap_cookies(Default::default());
        app.sign_in("ada@example.com", PASSWORD)
            .await
            .assert_status(303);
        // From an address she never used, the e-mail's ceiling applies.
        app.swap_cookies(Default::default());
        app.set_peer("192.0.2.44");
        assert_eq!(fail_sign_in(&app, "ada@example.com").await, 429);
        // The same attack on an e-mail without an account looks exactly the same (no
        // enumeration).
        let mut unknown = vec![];
        for i in 0..5 {
            app.set_peer(&format!("198.51.100.{}", 80 + i));
            for _ in 0..8 {
                unknown.push(fail_sign_in(&app, "nobody@example.com").await);
            }
        }
        assert_eq!(unknown, expected);
        app.set_peer("192.0.2.45");
        assert_eq!(fail_sign_in(&app, "nobody@example.com").await, 429);
    })
    .await;
}

#[actix_web::test]
async fn secure_session_cookies_are_host_prefixed_and_two_of_them_are_refused() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |c| c.cookie_secure = true).await;
        let login = app.get("/login").await;
        let cookie = login.header("set-cookie");
        assert!(cookie.starts_with("__Host-latchkey_session="), "{cookie}");
        assert!(
            cookie.contains("Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
        let slug = app.set_up("ada@example.com", "Acme").await;
        let mine = app.cookies()["__Host-latchkey_session"].clone();
        let keys = format!("/teams/{slug}/settings/api-keys");
        app.get(&keys).await.assert_status(200);
        // A second cookie of the same name (tossed by a sibling site): refused, not guessed.
        app.swap_cookies(Default::default());
        let res = app
            .send(TestRequest::get().uri(&keys).insert_header((
                "cookie",
                format!("__Host-latchkey_session=attacker; __Host-latchkey_session={mine}"),
            )))
            .await;
        res.assert_status(400);
        assert!(
            res.body.contains("two Latchkey session cookies"),
            "{}",
            res.body
        );
        assert!(!res.body.contains("Acme"));
        let expire = res.header("set-cookie");
        assert!(expire.starts_with("__Host-latchkey_session=;"), "{expire}");
    }
    // Over plain http the name has no prefix (browsers refuse __Host- there); the same rule.
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let res = app
        .send(
            TestRequest::get()
                .uri("/login")
                .insert_header(("cookie", "latchkey_session=a; latchkey_session=b")),
        )
        .await;
    res.assert_status(400);
}

#[actix_web::test]
async fn dashboard_pages_are_never_cached_and_carry_isolation_headers() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        for url in [
            format!("/teams/{slug}/settings/api-keys"),
            format!("/teams/{slug}/settings/members"),
            format!("/teams/{slug}/settings"),
            format!("/teams/{slug}/api-reference"),
            "/login".to_owned(),
        ] {
            let res = app.get(&url).await;
            assert_eq!(res.header("cache-control"), "no-store", "{url}");
            assert_eq!(
                res.header("cross-origin-opener-policy"),
                "same-origin",
                "{url}"
            );
        }
        // Static files stay cacheable.
        let css = app.get("/static/app.css").await;
        assert!(css.header("cache-control").contains("max-age"));
        // The API's CSP is one for JSON.
        let (_, key) = app.make_key(admin(&slug));
        let me = app.api("GET", "/me", &key, None).await;
        assert_eq!(
            me.header("content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'; sandbox"
        );
        assert_eq!(me.header("x-content-type-options"), "nosniff");
        // Sign-out clears what the browser kept.
        let csrf = app.csrf_of_session(&slug).await;
        let out = app.post("/logout", &[("csrf_token", &csrf)]).await;
        out.assert_status(303);
        assert_eq!(out.header("clear-site-data"), "\"cache\", \"storage\"");
    })
    .await;
}

#[actix_web::test]
async fn unknown_methods_on_dashboard_pages_get_405_with_allow() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let cases = [
            (
                "DELETE",
                format!("/teams/{slug}/settings/api-keys"),
                "GET, POST",
            ),
            ("PUT", "/login".to_owned(), "GET, POST"),
            ("PATCH", format!("/teams/{slug}/settings/members"), "GET"),
            ("GET", "/logout".to_owned(), "POST"),
        ];
        for (method, url, allow) in cases {
            let res = app
                .send(
                    TestRequest::default()
                        .method(method.parse().expect("method"))
                        .uri(&url),
                )
                .await;
            res.assert_status(405);
            assert_eq!(res.header("allow"), allow, "{method} {url}");
        }
        app.get("/no/such/page").await.assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn oversized_request_heads_get_431_on_both_surfaces() {
    each_db(|app| async move {
        let big = "x".repeat(300 * 1024);
        let page = app
            .send(
                TestRequest::get()
                    .uri("/login")
                    .insert_header(("x-big", big.clone())),
            )
            .await;
        page.assert_status(431);
        let api = app
            .send(
                TestRequest::get()
                    .uri("/v1/me")
                    .insert_header(("x-big", big)),
            )
            .await;
        api.assert_status(431);
        assert_eq!(api.json()["error"]["code"], "HEADERS_TOO_LARGE");
    })
    .await;
}

#[actix_web::test]
async fn names_with_direction_overrides_or_zero_width_characters_are_refused() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let form = app
            .get(&format!("/teams/{slug}/settings/api-keys/new"))
            .await;
        let spoof = "Production\u{202e}revres";
        let res = app
            .post(
                &format!("/teams/{slug}/settings/api-keys"),
                &[
                    ("csrf_token", &form.csrf()),
                    ("name", spoof),
                    ("scopes", "admin"),
                    ("mode", "live"),
                ],
            )
            .await;
        res.assert_status(422);
        assert!(res.body.contains("Remove the invisible characters"));
        let n: i64 = app
            .db(|c| api_keys::table.count().get_result(c))
            .expect("count");
        assert_eq!(n, 0);
        let (_, key) = app.make_key(admin(&slug));
        let bot = app
            .api(
                "POST",
                "/bots",
                &key,
                Some(json!({"name": "Help\u{200b}desk"})),
            )
            .await;
        bot.assert_status(422);
        assert!(
            bot.json()["error"]["fields"]["name"]
                .as_str()
                .is_some_and(|m| m.contains("invisible formatting"))
        );
        let n: i64 = app
            .db(|c| bots::table.count().get_result(c))
            .expect("count");
        assert_eq!(n, 0);
    })
    .await;
}

//! The key check of `/v1`: exact error bodies, strict header parsing, revocation and grace on
//! the very next request, scopes, rate limits, IP allowlists, usage.

use actix_web::test::TestRequest;
use diesel::prelude::*;
use latchkey::db::schema::{api_key_usage, api_keys, teams};
use serde_json::json;

use crate::helpers::{KeySpec, PASSWORD, TestApp, each_db};

const INVALID: &str =
    r#"{"error":{"code":"INVALID_API_KEY","message":"The provided API key is invalid"}}"#;
const EXPIRED: &str =
    r#"{"error":{"code":"API_KEY_EXPIRED","message":"This API key has expired"}}"#;

fn all(team: &str) -> KeySpec<'_> {
    KeySpec {
        team,
        scopes: &["admin"],
        mode: "live",
    }
}

async fn me_with_header(app: &TestApp, value: &[u8]) -> crate::helpers::Resp {
    let v = actix_web::http::header::HeaderValue::from_bytes(value).expect("header value");
    app.send(
        TestRequest::get()
            .uri("/v1/me")
            .insert_header(("authorization", v)),
    )
    .await
}

#[actix_web::test]
async fn me_describes_the_calling_key() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["bots:read", "conversations:read"],
            mode: "test",
        });
        let res = app.api("GET", "/me", &key, None).await;
        res.assert_status(200);
        let body = res.json();
        assert_eq!(body["team"]["slug"], "acme");
        assert_eq!(body["api_key"]["id"], id.as_str());
        assert_eq!(body["api_key"]["mode"], "test");
        assert_eq!(
            body["api_key"]["scopes"],
            json!(["bots:read", "conversations:read"])
        );
        assert_eq!(body["api_key"]["expires_at"], serde_json::Value::Null);
        assert!(
            !res.body.contains(&key[8..]),
            "the secret is never sent back"
        );
        // Every field, with names that need escaping and an expiry set. (Changed in the
        // database directly, so the cache must not have been filled yet: a fresh key.)
        let (id, key) = app.make_key(all(&slug));
        let (team_id, created_at): (String, i64) = app
            .db(|c| {
                diesel::update(teams::table.filter(teams::slug.eq("acme")))
                    .set(teams::name.eq("Acme \"Robotics\" </script>"))
                    .execute(c)?;
                diesel::update(api_keys::table.find(&id))
                    .set((
                        api_keys::name.eq("Ops \\ \"prod\" — ✓"),
                        api_keys::expires_at.eq(Some(1_800_000_000_i64)),
                        api_keys::environment.eq(Some("prod")),
                    ))
                    .execute(c)?;
                api_keys::table
                    .find(&id)
                    .select((api_keys::team_id, api_keys::created_at))
                    .first(c)
            })
            .expect("update");
        let res = app.api("GET", "/me", &key, None).await;
        res.assert_status(200);
        assert_eq!(res.header("content-type"), "application/json");
        let masked = format!("{}…{}", &key[..12], &key[key.len() - 4..]);
        assert_eq!(
            res.json(),
            json!({
                "object": "api_key_identity",
                "team": {"id": team_id, "slug": "acme", "name": "Acme \"Robotics\" </script>"},
                "api_key": {
                    "id": id,
                    "name": "Ops \\ \"prod\" — ✓",
                    "masked": masked,
                    "mode": "live",
                    "environment": "prod",
                    "scopes": ["admin"],
                    "created_at": latchkey::timefmt::iso(created_at),
                    "expires_at": "2027-01-15T08:00:00Z",
                    "retiring_until": null,
                }
            })
        );
    })
    .await;
}

#[actix_web::test]
async fn me_shows_a_renamed_key_and_a_renamed_team_on_the_very_next_request() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(all(&slug));
        // Written once and kept with the key's cache entry.
        let first = app.api("GET", "/me", &key, None).await.json();
        assert_eq!(first["team"]["name"], "Acme");
        app.api(
            "PATCH",
            &format!("/api-keys/{id}"),
            &key,
            Some(json!({"name": "Renamed"})),
        )
        .await
        .assert_status(200);
        let me = app.api("GET", "/me", &key, None).await.json();
        assert_eq!(me["api_key"]["name"], "Renamed");
        let settings = app.get(&format!("/teams/{slug}/settings")).await;
        app.post(
            &format!("/teams/{slug}/settings"),
            &[
                ("csrf_token", settings.csrf().as_str()),
                ("name", "Acme Robotics"),
                ("rate_limit", "600"),
                ("audit_retention_days", "365"),
            ],
        )
        .await
        .assert_status(303);
        let me = app.api("GET", "/me", &key, None).await.json();
        assert_eq!(me["team"]["name"], "Acme Robotics");
        assert_eq!(me["api_key"]["name"], "Renamed");
    })
    .await;
}

#[actix_web::test]
async fn malformed_authorization_headers_get_the_exact_invalid_key_body() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app.make_key(all(&slug));
        let mut typo = key.clone().into_bytes();
        typo[20] = if typo[20] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).expect("ascii");
        let cases: Vec<Vec<u8>> = vec![
            format!("Basic {key}").into_bytes(),
            format!("Bearer\t{key}").into_bytes(),
            format!("Bearer {key} extra").into_bytes(),
            format!("Bearer{key}").into_bytes(),
            format!("Bearer {}", "A".repeat(256)).into_bytes(),
            format!("Bearer {typo}").into_bytes(),
            format!("Bearer {}", &key[..key.len() - 1]).into_bytes(),
            b"Bearer sk_live_".to_vec(),
            b"Bearer ".to_vec(),
            format!("Token {key}").into_bytes(),
            format!("Bearer {key}é").into_bytes(),
        ];
        for value in cases {
            let res = me_with_header(&app, &value).await;
            res.assert_status(401);
            assert_eq!(
                res.body,
                INVALID,
                "for {:?}",
                String::from_utf8_lossy(&value)
            );
            assert!(res.header("www-authenticate").starts_with("Bearer"));
        }
        // Missing header; key in the query string instead.
        let missing = app
            .send(TestRequest::get().uri(&format!("/v1/me?api_key={key}")))
            .await;
        missing.assert_status(401);
        assert_eq!(missing.body, INVALID);
        // RFC 6750 §3.1: no credentials is not an invalid token, so the challenge names no error.
        assert_eq!(missing.header("www-authenticate"), r#"Bearer realm="api""#);
        // Two Authorization headers, even if both are the valid key.
        let two = app
            .send(
                TestRequest::get()
                    .uri("/v1/me")
                    .append_header(("authorization", format!("Bearer {key}")))
                    .append_header(("authorization", format!("Bearer {key}"))),
            )
            .await;
        assert_eq!(two.body, INVALID);
        // RFC 6750 allows one or more spaces after the scheme.
        me_with_header(&app, format!("Bearer  {key}").as_bytes())
            .await
            .assert_status(200);
        me_with_header(&app, format!("Bearer   {key}").as_bytes())
            .await
            .assert_status(200);
        // The scheme is case-insensitive.
        me_with_header(&app, format!("bearer {key}").as_bytes())
            .await
            .assert_status(200);
        me_with_header(&app, format!("BEARER {key}").as_bytes())
            .await
            .assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn dashboard_cookies_do_not_authenticate_the_api() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Acme").await;
        // The jar holds a signed-in dashboard session; no key is sent.
        let res = app.send(TestRequest::get().uri("/v1/me")).await;
        res.assert_status(401);
        assert_eq!(res.body, INVALID);
    })
    .await;
}

#[actix_web::test]
async fn a_deleted_key_fails_on_the_very_next_request() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app
            .create_key(
                &slug,
                &[("name", "Doomed"), ("scopes", "admin"), ("mode", "live")],
            )
            .await;
        app.api("GET", "/me", &key, None).await.assert_status(200);
        let id: String = app
            .db(|c| api_keys::table.select(api_keys::id).first(c))
            .expect("id");
        let csrf = app.csrf_of_session(&slug).await;
        app.post(
            &format!("/teams/{slug}/settings/api-keys/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await
        .assert_status(303);
        let res = app.api("GET", "/me", &key, None).await;
        res.assert_status(401);
        assert_eq!(res.body, INVALID);
    })
    .await;
}

#[actix_web::test]
async fn a_rotated_key_works_through_its_grace_period_and_not_a_second_longer() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, old) = app
            .create_key(
                &slug,
                &[("name", "Svc"), ("scopes", "admin"), ("mode", "live")],
            )
            .await;
        let id: String = app
            .db(|c| api_keys::table.select(api_keys::id).first(c))
            .expect("id");
        let csrf = app.csrf_of_session(&slug).await;
        let res = app
            .post(
                &format!("/teams/{slug}/settings/api-keys/{id}/rotate"),
                &[("csrf_token", &csrf), ("grace", "3600")],
            )
            .await;
        let new = res.revealed_key();
        app.api("GET", "/me", &old, None).await.assert_status(200);
        app.api("GET", "/me", &new, None).await.assert_status(200);
        app.clock().advance(3599);
        app.api("GET", "/me", &old, None).await.assert_status(200);
        app.clock().advance(1);
        let res = app.api("GET", "/me", &old, None).await;
        res.assert_status(401);
        assert_eq!(res.body, INVALID);
        app.api("GET", "/me", &new, None).await.assert_status(200);

        // Rotating immediately: the old key fails at once.
        app.sign_in("ada@example.com", PASSWORD).await;
        let new_id: String = app
            .db(|c| {
                api_keys::table
                    .filter(api_keys::retiring_until.is_null())
                    .select(api_keys::id)
                    .first(c)
            })
            .expect("id");
        let csrf = app.csrf_of_session(&slug).await;
        let res = app
            .post(
                &format!("/teams/{slug}/settings/api-keys/{new_id}/rotate"),
                &[("csrf_token", &csrf), ("grace", "0")],
            )
            .await;
        let newest = res.revealed_key();
        assert_eq!(app.api("GET", "/me", &new, None).await.body, INVALID);
        app.api("GET", "/me", &newest, None)
            .await
            .assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn an_expired_key_gets_api_key_expired() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app
            .create_key(
                &slug,
                &[
                    ("name", "Week"),
                    ("scopes", "admin"),
                    ("mode", "live"),
                    ("expiry", "7"),
                ],
            )
            .await;
        app.clock().advance(7 * 86_400 - 1);
        app.api("GET", "/me", &key, None).await.assert_status(200);
        app.clock().advance(1);
        let res = app.api("GET", "/me", &key, None).await;
        res.assert_status(401);
        assert_eq!(res.body, EXPIRED);
    })
    .await;
}

#[actix_web::test]
async fn a_key_without_the_scope_gets_the_exact_403_body() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, reader) = app.make_key(KeySpec { team: &slug, scopes: &["bots:read"], mode: "live" });
        let res = app.api("POST", "/bots", &reader, Some(json!({"name": "x"}))).await;
        res.assert_status(403);
        assert_eq!(
            res.body,
            r#"{"error":{"code":"INSUFFICIENT_PERMISSIONS","message":"API key does not have permission to perform this action","required_scope":"bots:write"}}"#
        );
        // Write implies read; admin implies everything.
        let (_, writer) = app.make_key(KeySpec { team: &slug, scopes: &["bots:write"], mode: "live" });
        app.api("GET", "/bots", &writer, None).await.assert_status(200);
        let (_, admin) = app.make_key(all(&slug));
        app.api("POST", "/bots", &admin, Some(json!({"name": "x"}))).await.assert_status(201);
    })
    .await;
}

#[actix_web::test]
async fn rate_limits_are_exact_and_announced_on_every_response() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(all(&slug));
        app.db(|c| {
            diesel::update(api_keys::table.find(&id))
                .set(api_keys::rate_limit_per_minute.eq(Some(3)))
                .execute(c)
        })
        .expect("set limit");
        // T0 is a minute boundary; the window resets at T0 + 60.
        let reset = (crate::helpers::T0 + 60).to_string();
        for remaining in ["2", "1", "0"] {
            let res = app.api("GET", "/me", &key, None).await;
            res.assert_status(200);
            assert_eq!(res.header("x-ratelimit-limit"), "3");
            assert_eq!(res.header("x-ratelimit-remaining"), remaining);
            assert_eq!(res.header("x-ratelimit-reset"), reset);
        }
        app.clock().advance(45);
        let limited = app.api("GET", "/bots", &key, None).await;
        limited.assert_status(429);
        assert_eq!(limited.header("retry-after"), "15");
        assert_eq!(limited.header("x-ratelimit-remaining"), "0");
        assert_eq!(limited.json()["error"]["code"], "RATE_LIMITED");
        // Another key of the team has its own window (team default 600).
        let (_, other) = app.make_key(all(&slug));
        assert_eq!(
            app.api("GET", "/me", &other, None)
                .await
                .header("x-ratelimit-limit"),
            "600"
        );
        app.clock().advance(15);
        app.api("GET", "/me", &key, None).await.assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn ip_allowlists_refuse_other_addresses() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(all(&slug));
        // Test requests come from 203.0.113.7.
        app.db(|c| {
            diesel::update(api_keys::table.find(&id))
                .set(api_keys::ip_allowlist.eq(Some("198.51.100.0/24")))
                .execute(c)
        })
        .expect("set");
        let res = app.api("GET", "/me", &key, None).await;
        res.assert_status(403);
        assert_eq!(res.json()["error"]["code"], "IP_NOT_ALLOWED");
        app.db(|c| {
            diesel::update(api_keys::table.find(&id))
                .set(api_keys::ip_allowlist.eq(Some("198.51.100.0/24 203.0.113.0/28")))
                .execute(c)
        })
        .expect("set");
        // Written behind the app's back: forget it, as every operation that changes keys does.
        latchkey::cluster::Stale::Key(latchkey::domain::ids::ApiKeyId::parse(&id).expect("key id"))
            .apply(&app.state.key_cache);
        app.api("GET", "/me", &key, None).await.assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn usage_is_gathered_in_memory_and_flushed_in_batches() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(all(&slug));
        for _ in 0..3 {
            app.api("GET", "/me", &key, None).await.assert_status(200);
        }
        let before: Option<i64> = app
            .db(|c| {
                api_keys::table
                    .find(&id)
                    .select(api_keys::last_used_at)
                    .first(c)
            })
            .expect("row");
        assert_eq!(before, None, "no write on the request path");
        app.clock().advance(3600);
        app.api("GET", "/me", &key, None).await.assert_status(200);
        let flushed = app
            .db(|c| {
                app.state
                    .key_tallies
                    .flush(c, latchkey::ops::api_keys::record_addresses)
            })
            .expect("flush");
        assert_eq!(flushed, 1);
        let (at, ip): (Option<i64>, Option<String>) = app
            .db(|c| {
                api_keys::table
                    .find(&id)
                    .select((api_keys::last_used_at, api_keys::last_used_ip))
                    .first(c)
            })
            .expect("row");
        assert_eq!(at, Some(app.clock().now()));
        assert_eq!(ip.as_deref(), Some("203.0.113.7"));
        let hours: Vec<(i64, i64)> = app
            .db(|c| {
                api_key_usage::table
                    .filter(api_key_usage::api_key_id.eq(&id))
                    .select((api_key_usage::hour, api_key_usage::requests))
                    .order(api_key_usage::hour)
                    .load(c)
            })
            .expect("usage");
        assert_eq!(
            hours,
            vec![(crate::helpers::T0, 3), (crate::helpers::T0 + 3600, 1)]
        );
        // A second flush adds to the same hour.
        app.api("GET", "/me", &key, None).await;
        app.db(|c| {
            app.state
                .key_tallies
                .flush(c, latchkey::ops::api_keys::record_addresses)
        })
        .expect("flush");
        let n: i64 = app
            .db(|c| {
                api_key_usage::table
                    .find((&id, crate::helpers::T0 + 3600))
                    .select(api_key_usage::requests)
                    .first(c)
            })
            .expect("n");
        assert_eq!(n, 2);
        // The dashboard shows the last use.
        app.sign_in("ada@example.com", PASSWORD).await;
        let list = app.get(&format!("/teams/{slug}/settings/api-keys")).await;
        assert!(list.body.contains("from 203.0.113.7"));
    })
    .await;
}

#[actix_web::test]
async fn a_flush_of_many_keys_writes_every_key_and_hour_and_never_moves_last_use_back() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        // More keys than one multi-row statement holds, so the flush spans several chunks.
        let ids: Vec<String> = (0..450).map(|_| app.make_key(all(&slug)).0).collect();
        let t0 = app.clock().now();
        // Other threads note later uses of the same keys at once: the flush must keep the
        // newest use and add the counts up.
        let usage = &app.state.key_tallies;
        for id in &ids {
            usage.of(id).record("198.51.100.4".parse().ok(), t0);
        }
        std::thread::scope(|s| {
            s.spawn(|| {
                for id in &ids {
                    usage.of(id).record("198.51.100.5".parse().ok(), t0 + 3600);
                }
            });
            s.spawn(|| {
                for id in ids.iter().step_by(2) {
                    usage.of(id).record(None, t0 + 3601);
                }
            });
        });
        // A key that no longer exists has nothing to count.
        app.state
            .key_tallies
            .of("key_00000000000000000000")
            .record("192.0.2.1".parse().ok(), t0);
        let flushed = app
            .db(|c| {
                app.state
                    .key_tallies
                    .flush(c, latchkey::ops::api_keys::record_addresses)
            })
            .expect("flush");
        assert_eq!(flushed, 450);
        let rows: Vec<(String, i64, i64)> = app
            .db(|c| {
                api_key_usage::table
                    .select((
                        api_key_usage::api_key_id,
                        api_key_usage::hour,
                        api_key_usage::requests,
                    ))
                    .load(c)
            })
            .expect("usage");
        assert_eq!(rows.len(), 900);
        let total: i64 = rows.iter().map(|r| r.2).sum();
        assert_eq!(total, 450 * 2 + 225);
        let last: Vec<(String, Option<i64>, Option<String>)> = app
            .db(|c| {
                api_keys::table
                    .select((api_keys::id, api_keys::last_used_at, api_keys::last_used_ip))
                    .load(c)
            })
            .expect("keys");
        for (i, id) in ids.iter().enumerate() {
            let row = last.iter().find(|r| &r.0 == id).expect("key row");
            if i % 2 == 0 {
                assert_eq!((row.1, row.2.as_deref()), (Some(t0 + 3601), None));
            } else {
                assert_eq!(
                    (row.1, row.2.as_deref()),
                    (Some(t0 + 3600), Some("198.51.100.5"))
                );
            }
        }
        // A late, older observation adds its count but leaves the newer last use alone.
        app.state
            .key_tallies
            .of(&ids[1])
            .record("192.0.2.9".parse().ok(), t0 + 10);
        app.db(|c| {
            app.state
                .key_tallies
                .flush(c, latchkey::ops::api_keys::record_addresses)
        })
        .expect("flush");
        let (at, ip, n): (Option<i64>, Option<String>, i64) = app
            .db(|c| {
                let (at, ip) = api_keys::table
                    .find(&ids[1])
                    .select((api_keys::last_used_at, api_keys::last_used_ip))
                    .first(c)?;
                let n = api_key_usage::table
                    .find((&ids[1], t0))
                    .select(api_key_usage::requests)
                    .first(c)?;
                Ok::<_, diesel::result::Error>((at, ip, n))
            })
            .expect("row");
        assert_eq!(
            (at, ip.as_deref(), n),
            (Some(t0 + 3600), Some("198.51.100.5"), 2)
        );
    })
    .await;
}

#[actix_web::test]
async fn unknown_paths_methods_and_bodies_get_the_json_envelope() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app.make_key(all(&slug));
        let nf = app.api("GET", "/nope", &key, None).await;
        nf.assert_status(404);
        assert_eq!(nf.json()["error"]["code"], "NOT_FOUND");
        let m = app.api("PUT", "/bots", &key, None).await;
        m.assert_status(405);
        assert_eq!(m.json()["error"]["code"], "METHOD_NOT_ALLOWED");

        let text = app
            .send(
                TestRequest::post()
                    .uri("/v1/bots")
                    .insert_header(("authorization", format!("Bearer {key}")))
                    .insert_header(("content-type", "text/plain"))
                    .set_payload("name=x"),
            )
            .await;
        text.assert_status(415);
        assert_eq!(text.json()["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
        let big = app
            .api(
                "POST",
                "/bots",
                &key,
                Some(json!({"name": "x", "description": "d".repeat(70_000)})),
            )
            .await;
        big.assert_status(413);
        assert_eq!(big.json()["error"]["code"], "PAYLOAD_TOO_LARGE");
        let bad = app
            .send(
                TestRequest::post()
                    .uri("/v1/bots")
                    .insert_header(("authorization", format!("Bearer {key}")))
                    .insert_header(("content-type", "application/json"))
                    .set_payload("{not json"),
            )
            .await;
        bad.assert_status(422);
        assert_eq!(
            bad.json()["error"]["fields"]["body"],
            "The body is not valid JSON."
        );
        let gz = app
            .send(
                TestRequest::post()
                    .uri("/v1/bots")
                    .insert_header(("authorization", format!("Bearer {key}")))
                    .insert_header(("content-type", "application/json"))
                    .insert_header(("content-encoding", "gzip"))
                    .set_payload("x"),
            )
            .await;
        gz.assert_status(415);
        assert_eq!(gz.json()["error"]["code"], "UNSUPPORTED_MEDIA_TYPE");
    })
    .await;
}

#[actix_web::test]
async fn scope_changes_in_the_dashboard_apply_to_the_very_next_request() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app
            .create_key(
                &slug,
                &[
                    ("name", "K"),
                    ("scopes", "bots:read"),
                    ("scopes", "bots:write"),
                    ("mode", "live"),
                ],
            )
            .await;
        // Warm the key cache (on for SQLite, off for PostgreSQL: both paths run).
        app.api("POST", "/bots", &key, Some(json!({"name": "x"})))
            .await
            .assert_status(201);
        let id: String = app
            .db(|c| api_keys::table.select(api_keys::id).first(c))
            .expect("id");
        let csrf = app.csrf_of_session(&slug).await;
        app.post(
            &format!("/teams/{slug}/settings/api-keys/{id}"),
            &[
                ("csrf_token", &csrf),
                ("name", "K"),
                ("scopes", "bots:read"),
            ],
        )
        .await
        .assert_status(303);
        let res = app
            .api("POST", "/bots", &key, Some(json!({"name": "y"})))
            .await;
        res.assert_status(403);
        assert_eq!(res.json()["error"]["required_scope"], "bots:write");
        app.api("GET", "/bots", &key, None).await.assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    for backend in crate::helpers::backends() {
        // Test requests come from 203.0.113.7: here it is the load balancer.
        let app = TestApp::spawn_with(backend.clone(), |c| {
            c.trusted_proxies =
                latchkey::config::parse_cidrs("203.0.113.7, 10.0.0.0/8").expect("cidrs");
        })
        .await;
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (id, key) = app.make_key(all(&slug));
        app.db(|c| {
            diesel::update(api_keys::table.find(&id))
                .set(api_keys::ip_allowlist.eq(Some("198.51.100.0/24")))
                .execute(c)
        })
        .expect("set");
        let via = |xff: &str| {
            TestRequest::get()
                .uri("/v1/me")
                .insert_header(("authorization", format!("Bearer {key}")))
                .insert_header(("x-forwarded-for", xff.to_owned()))
        };
        // The right-most address that is not a trusted proxy is the client.
        app.send(via("198.51.100.9")).await.assert_status(200);
        app.send(via("198.51.100.9, 10.1.2.3"))
            .await
            .assert_status(200);
        // A client cannot smuggle an allowed address in front of its own.
        let spoofed = app.send(via("198.51.100.9, 192.0.2.50")).await;
        spoofed.assert_status(403);
        assert_eq!(spoofed.json()["error"]["code"], "IP_NOT_ALLOWED");

        // Without trusted proxies the header is ignored: the peer (203.0.113.7) is the client.
        let plain = TestApp::spawn(backend).await;
        let slug = plain.set_up("ada@example.com", "Acme").await;
        let (id, key) = plain.make_key(all(&slug));
        plain
            .db(|c| {
                diesel::update(api_keys::table.find(&id))
                    .set(api_keys::ip_allowlist.eq(Some("198.51.100.0/24")))
                    .execute(c)
            })
            .expect("set");
        let res = plain
            .send(
                TestRequest::get()
                    .uri("/v1/me")
                    .insert_header(("authorization", format!("Bearer {key}")))
                    .insert_header(("x-forwarded-for", "198.51.100.9")),
            )
            .await;
        res.assert_status(403);
    }
}

//! The isolation matrix: two agencies × two clients × every role, plus a stranger. Every
//! dashboard route and every `/v1` object route, with each actor's session or each client's
//! key, answers as the role rules say; other tenants' objects are 404 and byte-identical to a
//! missing one; refused requests change nothing.

use std::collections::HashMap;

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, bots, integrations, invitations, teams};
use latchkey::domain::role::Role;

use crate::agencies::{create_agency, create_client};
use crate::helpers::{KeySpec, PASSWORD, TestApp, each_db_with};

#[derive(Clone, Debug)]
enum Actor {
    /// Operator of an agency (by slug).
    Operator(String),
    /// Member of a client team (slug) with a role.
    Member(String, Role),
    /// Signed in, member of an unrelated team only.
    Stranger,
}

struct Client {
    slug: String,
    agency: String,
    key_id: String,
    secret: String,
    bot_id: String,
    /// An integration of the client (added by its key, so no member "created" it).
    int_id: String,
}

/// The actor's effective role in `client`, if any.
fn access(actor: &Actor, client: &Client) -> Option<Role> {
    match actor {
        Actor::Operator(agency) if *agency == client.agency => Some(Role::Admin),
        Actor::Member(slug, role) if *slug == client.slug => Some(*role),
        _ => None,
    }
}

/// Rows that refused requests must leave alone.
/// Teams, live keys, bots, invitations, and each integration's (id, name, credential version).
type Rows = (i64, i64, i64, i64, Vec<(String, String, i64)>);

fn fingerprint(app: &TestApp) -> Rows {
    app.db(|c| {
        Ok::<_, diesel::result::Error>((
            teams::table.count().get_result(c)?,
            api_keys::table
                .filter(api_keys::revoked_at.is_null())
                .count()
                .get_result(c)?,
            bots::table.count().get_result(c)?,
            invitations::table.count().get_result(c)?,
            integrations::table
                .order(integrations::id.asc())
                .select((
                    integrations::id,
                    integrations::name,
                    integrations::credential_version,
                ))
                .load(c)?,
        ))
    })
    .expect("fingerprint")
}

#[actix_web::test]
async fn every_actor_gets_exactly_what_their_role_allows_in_every_client() {
    // Every actor probes every client from one address: far more 404s than the probe brake
    // allows a minute (tested on its own in security.rs).
    each_db_with(
        |c| c.not_found_limit = 0,
        |app| async move {
            // Agency A (Ada) with clients a1, a2; agency B (Bea) with b1, b2.
            app.set_up("ada@example.com", "Ada Home").await;
            let agency_a = create_agency(&app, "Agency A").await;
            let mut clients = vec![];
            for name in ["Client A1", "Client A2"] {
                let slug = create_client(&app, &agency_a, name).await;
                clients.push((slug, agency_a.clone()));
            }
            app.add_member("ada-home", "bea@example.com", Role::Viewer)
                .await;
            let ada = app.swap_cookies(Default::default());
            app.sign_in("bea@example.com", PASSWORD).await;
            let agency_b = create_agency(&app, "Agency B").await;
            for name in ["Client B1", "Client B2"] {
                let slug = create_client(&app, &agency_b, name).await;
                clients.push((slug, agency_b.clone()));
            }
            let bea = app.cookies();

            let receiver = crate::receiver::Receiver::ok().await;
            let mut all: Vec<Client> = vec![];
            for (slug, agency) in &clients {
                let (key_id, secret) = app.make_key(KeySpec {
                    team: slug,
                    scopes: &["admin"],
                    mode: "live",
                });
                let bot = app
                    .api(
                        "POST",
                        "/bots",
                        &secret,
                        Some(serde_json::json!({"name": format!("{slug} bot")})),
                    )
                    .await;
                bot.assert_status(201);
                let bot_id = bot.json()["id"].as_str().expect("bot id").to_owned();
                let int = app
                    .api(
                        "POST",
                        "/integrations",
                        &secret,
                        Some(serde_json::json!({"provider": "stripe", "name": format!("{slug} shop"), "base_url": receiver.url(), "credential": {"token": format!("{slug}-token")}})),
                    )
                    .await;
                int.assert_status(201);
                let int_id = int.json()["id"].as_str().expect("int id").to_owned();
                all.push(Client {
                    slug: slug.clone(),
                    agency: agency.clone(),
                    key_id,
                    secret,
                    bot_id,
                    int_id,
                });
            }

            // Actors: both operators, every role in every client, a stranger.
            let mut actors: Vec<(String, Actor, HashMap<String, String>)> = vec![
                ("ada".into(), Actor::Operator(agency_a.clone()), ada),
                ("bea".into(), Actor::Operator(agency_b.clone()), bea),
            ];
            for c in &all {
                for role in Role::ALL {
                    let email = format!("{}-{}@example.com", role.as_str(), c.slug);
                    app.add_member(&c.slug, &email, role).await;
                    app.swap_cookies(Default::default());
                    app.sign_in(&email, PASSWORD).await.assert_status(303);
                    actors.push((email, Actor::Member(c.slug.clone(), role), app.cookies()));
                }
            }
            app.swap_cookies(Default::default());
            let stranger_team = app.team_owned_by("bea@example.com", "Elsewhere");
            app.add_member(&stranger_team, "stranger@example.com", Role::Owner)
                .await;
            app.sign_in("stranger@example.com", PASSWORD).await;
            actors.push(("stranger".into(), Actor::Stranger, app.cookies()));

            assert_eq!(
                actors.len(),
                2 + 4 * 4 + 1,
                "two operators, 16 client members, a stranger"
            );
            let missing_page = app.get("/teams/no-such-team/settings/api-keys").await.body;
            let before = fingerprint(&app);

            for (name, actor, jar) in &actors {
                app.swap_cookies(jar.clone());
                let home = app.get("/").await;
                home.assert_status(303);
                let csrf = app.get(home.location()).await.csrf();
                for c in &all {
                    let role = access(actor, c);
                    let base = format!("/teams/{}/settings", c.slug);
                    let reads = [
                        format!("{base}/api-keys"),
                        format!("{base}/integrations"),
                        format!("{base}/members"),
                        base.clone(),
                        format!("/teams/{}/api-reference", c.slug),
                    ];
                    for url in &reads {
                        let res = app.get(url).await;
                        match role {
                            Some(_) => res.assert_status(200),
                            None => {
                                res.assert_status(404);
                                assert_eq!(res.body, missing_page, "{name} {url}");
                                &res
                            }
                        };
                    }
                    let new_form = app.get(&format!("{base}/api-keys/new")).await;
                    let expect_new = match role {
                        None => 404,
                        Some(r) if r.can_create_keys() => 200,
                        Some(_) => 403,
                    };
                    assert_eq!(
                        new_form.status.as_u16(),
                        expect_new,
                        "{name} new key in {}",
                        c.slug
                    );
                    // The client's admin key was created by nobody here: only owners and admins
                    // (operators included) may touch it.
                    let expect_manage = match role {
                        None => 404,
                        Some(r) if r.can_manage_keys() => 200,
                        Some(_) => 403,
                    };
                    for url in ["edit", "rotate", "delete"]
                        .iter()
                        .map(|action| format!("{base}/api-keys/{}/{action}", c.key_id))
                        .chain(["edit", "delete"].iter().map(|action| {
                            format!("{base}/integrations/{}/{action}", c.int_id)
                        }))
                    {
                        let res = app.get(&url).await;
                        assert_eq!(res.status.as_u16(), expect_manage, "{name} {url}");
                        if expect_manage == 404 {
                            assert_eq!(res.body, missing_page, "{name} {url}");
                        }
                    }
                    // Refused writes, sent for real: they must answer 404/403 and change nothing.
                    if expect_manage != 200 {
                        for (url, form) in [
                            (format!("{base}/api-keys/{}/delete", c.key_id), vec![]),
                            (
                                format!("{base}/api-keys/{}/rotate", c.key_id),
                                vec![("grace", "0")],
                            ),
                            (
                                format!("{base}/api-keys/{}", c.key_id),
                                vec![("name", "pwned"), ("scopes", "bots:read")],
                            ),
                            (base.clone(), vec![("name", "pwned"), ("rate_limit", "1")]),
                            (format!("{base}/integrations/{}/delete", c.int_id), vec![]),
                            (format!("{base}/integrations/{}/test", c.int_id), vec![]),
                            (
                                format!("{base}/integrations/{}", c.int_id),
                                vec![("name", "pwned"), ("token", "stolen")],
                            ),
                            (
                                format!("{base}/members/invitations"),
                                vec![("email", "x@evil.test"), ("role", "viewer")],
                            ),
                        ] {
                            let mut fields = vec![("csrf_token", csrf.as_str())];
                            fields.extend(form);
                            let res = app.post(&url, &fields).await;
                            let expect = if role.is_none() { 404 } else { 403 };
                            // Developers may invite nobody and edit no settings either.
                            assert_eq!(res.status.as_u16(), expect, "{name} POST {url}");
                        }
                    }
                    if expect_new != 200 {
                        let res = app
                            .post(
                                &format!("{base}/api-keys"),
                                &[
                                    ("csrf_token", &csrf),
                                    ("name", "pwned"),
                                    ("scopes", "bots:read"),
                                    ("mode", "live"),
                                    ("expiry", "never"),
                                ],
                            )
                            .await;
                        assert_eq!(
                            res.status.as_u16(),
                            expect_new,
                            "{name} create key in {}",
                            c.slug
                        );
                    }
                }
                // Agency pages: only that agency's operators.
                for agency in [&agency_a, &agency_b] {
                    let mine = matches!(actor, Actor::Operator(a) if a == agency);
                    for url in [
                        format!("/agencies/{agency}"),
                        format!("/agencies/{agency}/operators"),
                        format!("/agencies/{agency}/brand"),
                    ] {
                        let res = app.get(&url).await;
                        assert_eq!(
                            res.status.as_u16(),
                            if mine { 200 } else { 404 },
                            "{name} {url}"
                        );
                    }
                    if !mine {
                        for (url, form) in [
                            (
                                format!("/agencies/{agency}/clients"),
                                vec![("name", "Pwned")],
                            ),
                            (
                                format!("/agencies/{agency}/clients/{}/suspend", all[0].slug),
                                vec![],
                            ),
                            (
                                format!("/agencies/{agency}/clients/{}/delete", all[2].slug),
                                vec![("confirm", "Client B1")],
                            ),
                            (
                                format!("/agencies/{agency}/operators/invitations"),
                                vec![("email", "x@evil.test")],
                            ),
                        ] {
                            let mut fields = vec![("csrf_token", csrf.as_str())];
                            fields.extend(form);
                            app.post(&url, &fields).await.assert_status(404);
                        }
                    }
                }
                // /v1 ignores sessions entirely.
                let me = app.get("/v1/me").await;
                me.assert_status(401);
                assert!(me.body.contains("INVALID_API_KEY"), "{name}");
            }
            assert_eq!(
                fingerprint(&app),
                before,
                "refused requests changed nothing"
            );

            // Keys: a client's key reaches its own objects only; others' are a random id's 404.
            app.swap_cookies(Default::default());
            let random = app
                .api(
                    "GET",
                    "/bots/bot_00000000000000000000",
                    &all[0].secret,
                    None,
                )
                .await;
            random.assert_status(404);
            for k in &all {
                for o in &all {
                    let url = format!("/bots/{}", o.bot_id);
                    let res = app.api("GET", &url, &k.secret, None).await;
                    if k.slug == o.slug {
                        res.assert_status(200);
                    } else {
                        res.assert_status(404);
                        assert_eq!(res.body, random.body, "{} → {}", k.slug, o.slug);
                        app.api("DELETE", &url, &k.secret, None)
                            .await
                            .assert_status(404);
                        app.api(
                            "PATCH",
                            &url,
                            &k.secret,
                            Some(serde_json::json!({"name": "pwned"})),
                        )
                        .await
                        .assert_status(404);
                        app.api(
                            "DELETE",
                            &format!("/api-keys/{}", o.key_id),
                            &k.secret,
                            None,
                        )
                        .await
                        .assert_status(404);
                        let missing = format!("/integrations/int_{}", "0".repeat(20));
                        for (method, suffix, body) in [
                            ("GET", "", None),
                            ("PATCH", "", Some(serde_json::json!({"credential": {"token": "mine"}}))),
                            ("POST", "/requests", Some(serde_json::json!({"path": "/x"}))),
                            ("POST", "/test", None),
                            ("DELETE", "", None),
                        ] {
                            let theirs = app
                                .api(method, &format!("/integrations/{}{suffix}", o.int_id), &k.secret, body.clone())
                                .await;
                            let none = app
                                .api(method, &format!("{missing}{suffix}"), &k.secret, body)
                                .await;
                            theirs.assert_status(404);
                            assert_eq!(theirs.body, none.body, "{} → {} {method} {suffix}", k.slug, o.slug);
                        }
                    }
                }
            }
            assert_eq!(
                fingerprint(&app),
                before,
                "cross-client API calls changed nothing"
            );
            let names: Vec<String> = app
                .db(|c| bots::table.select(bots::name).load(c))
                .expect("bots");
            assert!(names.iter().all(|n| n != "pwned"));
            assert_eq!(receiver.seen().len(), 0, "no refused call reached an integration");
            // Each agency dashboard lists its own clients only.
            app.swap_cookies(actors[0].2.clone());
            let list = app.get(&format!("/agencies/{agency_a}")).await;
            assert!(list.body.contains("Client A1") && !list.body.contains("Client B1"));
        },
    )
    .await;
}

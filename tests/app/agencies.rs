//! Agencies: operators manage every client, clients see only themselves, suspension and
//! deletion reach the API on the next request, the hygiene table, and white-label brands
//! (validation, host-based branding, assets).

use actix_web::test::TestRequest;
use diesel::prelude::*;
use latchkey::db::schema::{agencies, audit_events, teams, users};
use latchkey::domain::ids::{AgencyId, UserId};
use latchkey::domain::role::{AgencyRole, Role};

use crate::helpers::{KeySpec, PASSWORD, TestApp, each_db};

/// Creates an agency through the page (owned by the signed-in user); returns its slug.
pub async fn create_agency(app: &TestApp, name: &str) -> String {
    let page = app.get("/agencies/new").await;
    page.assert_status(200);
    let res = app
        .post(
            "/agencies/new",
            &[("csrf_token", &page.csrf()), ("name", name)],
        )
        .await;
    res.assert_status(303);
    res.location()
        .strip_prefix("/agencies/")
        .expect("agency page")
        .to_owned()
}

/// Adds a client through the agency dashboard; returns its team slug.
pub async fn create_client(app: &TestApp, agency: &str, name: &str) -> String {
    let page = app.get(&format!("/agencies/{agency}")).await;
    page.assert_status(200);
    app.post(
        &format!("/agencies/{agency}/clients"),
        &[("csrf_token", &page.csrf()), ("name", name)],
    )
    .await
    .assert_status(303);
    app.db(|c| {
        teams::table
            .filter(teams::name.eq(name))
            .select(teams::slug)
            .first::<String>(c)
    })
    .expect("client team")
}

/// Makes an existing user an operator of the agency.
pub fn add_operator(app: &TestApp, agency: &str, email: &str) {
    app.db(|c| {
        let agency_id: String = agencies::table
            .filter(agencies::slug.eq(agency))
            .select(agencies::id)
            .first(c)?;
        let user: String = users::table
            .filter(users::email.eq(email))
            .select(users::id)
            .first(c)?;
        latchkey::models::agency::add_operator(
            c,
            &AgencyId::from_db(agency_id),
            &UserId::from_db(user),
            AgencyRole::Operator,
            0,
        )
    })
    .expect("operator");
}

/// A multipart body with text fields and an optional `logo` file.
pub fn multipart(fields: &[(&str, &str)], logo: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----latchkeyboundary7MA4YWxk";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some(bytes) = logo {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn post_brand(
    app: &TestApp,
    agency: &str,
    fields: &[(&str, &str)],
    logo: Option<&[u8]>,
) -> crate::helpers::Resp {
    let (ct, body) = multipart(fields, logo);
    app.send(
        TestRequest::post()
            .uri(&format!("/agencies/{agency}/brand"))
            .insert_header(("content-type", ct))
            .set_payload(body),
    )
    .await
}

/// Form fields, logo bytes, and the message the 422 page must show.
type BrandCase = (
    Vec<(&'static str, &'static str)>,
    Option<Vec<u8>>,
    &'static str,
);

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend_from_slice(&[0u8; 64]);
    v
}

#[actix_web::test]
async fn operators_manage_every_client_and_are_audited_as_operators() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = create_agency(&app, "Acme Agency").await;
        let north = create_client(&app, &agency, "Northwind").await;
        let globex = create_client(&app, &agency, "Globex").await;
        app.add_member(&globex, "gina@globex.test", Role::Owner)
            .await;
        add_operator(&app, &agency, "gina@globex.test");
        app.add_member(&north, "nick@northwind.test", Role::Owner)
            .await;

        // Ada operates the agency: the client's key page names agency and client.
        let page = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        page.assert_status(200);
        assert!(page.body.contains("data-testid=\"breadcrumb\""));
        assert!(page.body.contains(">Acme Agency</a>"));
        assert!(page.body.contains("operator of Acme Agency"));
        app.create_key(
            &north,
            &[
                ("name", "Webhook relay"),
                ("scopes", "bots:read"),
                ("mode", "live"),
            ],
        )
        .await;
        let (actor_agency, action): (Option<String>, String) = app
            .db(|c| {
                audit_events::table
                    .filter(audit_events::action.eq("api_key.created"))
                    .select((audit_events::actor_agency_id, audit_events::action))
                    .first(c)
            })
            .expect("event");
        let agency_id: String = app
            .db(|c| {
                agencies::table
                    .filter(agencies::slug.eq(&agency))
                    .select(agencies::id)
                    .first(c)
            })
            .expect("agency");
        assert_eq!(
            actor_agency.as_deref(),
            Some(agency_id.as_str()),
            "{action}"
        );

        // Nick, a client member, sees his client only: not the agency, not Globex.
        app.swap_cookies(Default::default());
        app.sign_in("nick@northwind.test", PASSWORD).await;
        let own = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        own.assert_status(200);
        assert!(!own.body.contains("data-testid=\"breadcrumb\""));
        let missing = app.get("/teams/no-such-team/settings/api-keys").await;
        for url in [
            format!("/teams/{globex}/settings/api-keys"),
            format!("/teams/{globex}/settings/members"),
            format!("/agencies/{agency}"),
            format!("/agencies/{agency}/brand"),
        ] {
            let res = app.get(&url).await;
            res.assert_status(404);
            assert_eq!(res.body, missing.body, "{url} looks like nothing");
        }
        let csrf = own.csrf();
        app.post(
            &format!("/agencies/{agency}/clients"),
            &[("csrf_token", &csrf), ("name", "Sneaky")],
        )
        .await
        .assert_status(404);
        let n: i64 = app
            .db(|c| {
                teams::table
                    .filter(teams::name.eq("Sneaky"))
                    .count()
                    .get_result(c)
            })
            .expect("n");
        assert_eq!(n, 0);
    })
    .await;
}

#[actix_web::test]
async fn suspending_a_client_refuses_its_keys_on_the_next_request_until_resumed() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = create_agency(&app, "Acme Agency").await;
        let north = create_client(&app, &agency, "Northwind").await;
        let (_, key) = app.make_key(KeySpec {
            team: &north,
            scopes: &["bots:read"],
            mode: "live",
        });
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        // The dashboard asks first, and says what breaks (with and without htmx).
        let url = format!("/agencies/{agency}/clients/{north}/suspend");
        let page = app.get(&format!("/agencies/{agency}")).await;
        assert!(page.body.contains(&format!("href=\"{url}\"")));
        for confirm in [app.get(&url).await, app.get_htmx(&url).await] {
            confirm.assert_status(200);
            assert!(confirm.body.contains("Suspend Northwind?"));
            assert!(confirm.body.contains("1 key works now"));
            assert!(confirm.body.contains("ACCOUNT_SUSPENDED"));
        }
        assert!(!app.get_htmx(&url).await.body.contains("<html"));
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        app.get(&format!("/agencies/{agency}/clients/{north}/resume"))
            .await
            .assert_status(404);
        app.post(&url, &[("csrf_token", &page.csrf())])
            .await
            .assert_status(303);
        let refused = app.api("GET", "/bots", &key, None).await;
        refused.assert_status(403);
        assert_eq!(
            refused.body,
            r#"{"error":{"code":"ACCOUNT_SUSPENDED","message":"This account is suspended"}}"#
        );
        let keys = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        assert!(keys.body.contains("data-testid=\"suspended-banner\""));
        let list = app.get(&format!("/agencies/{agency}")).await;
        assert!(list.body.contains("data-testid=\"resume-client\""));
        app.post(
            &format!("/agencies/{agency}/clients/{north}/resume"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(303);
        app.api("GET", "/bots", &key, None).await.assert_status(200);
        let actions: Vec<String> = app
            .db(|c| {
                audit_events::table
                    .filter(audit_events::agency_id.is_not_null())
                    .select(audit_events::action)
                    .load(c)
            })
            .expect("events");
        assert!(actions.contains(&"client.suspended".to_owned()));
        assert!(actions.contains(&"client.resumed".to_owned()));
        // Another agency's client, or a bad action, is 404.
        app.post(
            &format!("/agencies/{agency}/clients/ada-labs/suspend"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(404);
        app.post(
            &format!("/agencies/{agency}/clients/{north}/explode"),
            &[("csrf_token", &page.csrf())],
        )
        .await
        .assert_status(404);
    })
    .await;
}

#[actix_web::test]
async fn deleting_a_client_needs_its_name_typed_and_kills_its_keys() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = create_agency(&app, "Acme Agency").await;
        let north = create_client(&app, &agency, "Northwind").await;
        let (_, key) = app.make_key(KeySpec {
            team: &north,
            scopes: &["admin"],
            mode: "live",
        });
        app.api("GET", "/me", &key, None).await.assert_status(200);
        let url = format!("/agencies/{agency}/clients/{north}/delete");
        let form = app.get(&url).await;
        form.assert_status(200);
        let wrong = app
            .post(
                &url,
                &[("csrf_token", &form.csrf()), ("confirm", "northwind")],
            )
            .await;
        wrong.assert_status(422);
        assert!(wrong.body.contains("name exactly as shown to confirm"));
        app.api("GET", "/me", &key, None).await.assert_status(200);
        app.post(
            &url,
            &[("csrf_token", &form.csrf()), ("confirm", "Northwind")],
        )
        .await
        .assert_status(303);
        let gone = app.api("GET", "/me", &key, None).await;
        gone.assert_status(401);
        assert!(gone.body.contains("INVALID_API_KEY"));
        let n: i64 = app
            .db(|c| {
                teams::table
                    .filter(teams::slug.eq(&north))
                    .count()
                    .get_result(c)
            })
            .expect("n");
        assert_eq!(n, 0);

        // Operators (not owners) of the agency may not delete.
        let west = create_client(&app, &agency, "Westwind").await;
        let other = app.team_owned_by("ada@example.com", "Scratch");
        app.add_member(&other, "op@example.com", Role::Viewer).await;
        add_operator(&app, &agency, "op@example.com");
        app.swap_cookies(Default::default());
        app.sign_in("op@example.com", PASSWORD).await;
        let list = app.get(&format!("/agencies/{agency}")).await;
        assert!(!list.body.contains("data-testid=\"delete-client\""));
        let url = format!("/agencies/{agency}/clients/{west}/delete");
        app.get(&url).await.assert_status(403);
        app.post(
            &url,
            &[("csrf_token", &list.csrf()), ("confirm", "Westwind")],
        )
        .await
        .assert_status(403);
    })
    .await;
}

#[actix_web::test]
async fn the_agency_dashboard_counts_key_hygiene_and_sorts_and_searches() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = create_agency(&app, "Acme Agency").await;
        let north = create_client(&app, &agency, "Northwind").await;
        create_client(&app, &agency, "Globex").await;
        let now = app.clock().now();
        let spec = |scopes: &'static [&'static str]| KeySpec {
            team: &north,
            scopes,
            mode: "live",
        };
        let (old, _) = app.make_key(spec(&["bots:read"]));
        let (expiring, _) = app.make_key(spec(&["bots:read"]));
        let (_admin, _) = app.make_key(spec(&["admin"]));
        let (expired, _) = app.make_key(spec(&["admin"]));
        app.db(|c| {
            use latchkey::db::schema::api_keys;
            diesel::update(api_keys::table.find(&old))
                .set(api_keys::created_at.eq(now - 100 * 86_400))
                .execute(c)?;
            diesel::update(api_keys::table.find(&expiring))
                .set(api_keys::expires_at.eq(Some(now + 3 * 86_400)))
                .execute(c)?;
            diesel::update(api_keys::table.find(&expired))
                .set(api_keys::expires_at.eq(Some(now - 1)))
                .execute(c)
        })
        .expect("update");
        let page = app
            .get(&format!("/agencies/{agency}?sort=active&dir=desc"))
            .await;
        page.assert_status(200);
        let row_start = page
            .body
            .find("data-client-name=\"Northwind\"")
            .expect("row");
        let globex_at = page.body.find("data-client-name=\"Globex\"").expect("row");
        assert!(row_start < globex_at, "sorted by active keys, most first");
        let row = &page.body[row_start..globex_at];
        // A cell's text, without its tags (the counts are links).
        let cells: Vec<String> = row
            .split("class=\"num")
            .skip(1)
            .map(|c| {
                let cell = &c[c.find('>').expect(">") + 1..c.find("</td>").expect("</td>")];
                let mut text = String::new();
                let mut in_tag = false;
                for ch in cell.chars() {
                    match ch {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => text.push(c),
                        _ => {}
                    }
                }
                text
            })
            .collect();
        // active, expiring ≤ 7 d, unused 30 d+ (the 100-day-old never-used key), > 90 d, admin,
        // integrations.
        assert_eq!(cells, vec!["3", "1", "1", "1", "1", "0"]);
        // Each count links to the client's list filtered by the same rule: the same number.
        for (testid, count) in [
            ("count-expiring", 1),
            ("count-unused", 1),
            ("count-old", 1),
            ("count-admin", 1),
        ] {
            let at = row
                .find(&format!("data-testid=\"{testid}\""))
                .expect("count link");
            let before = &row[..at];
            let href = &before[before.rfind("href=\"").expect("href") + 6..];
            let href = href[..href.find('"').expect("quote")]
                .replace("&#38;", "&")
                .replace("&amp;", "&");
            let list = app.get(&href).await;
            list.assert_status(200);
            let word = if count == 1 {
                "key matches"
            } else {
                "keys match"
            };
            assert!(
                list.body.contains(&format!("{count} {word}")),
                "{href}: {}",
                list.body
            );
        }
        assert!(row.contains("0 integrations of Northwind"), "{row}");
        let found = app.get(&format!("/agencies/{agency}?q=glob")).await;
        assert!(found.body.contains("data-client-name=\"Globex\""));
        assert!(!found.body.contains("data-client-name=\"Northwind\""));
        let none = app.get(&format!("/agencies/{agency}?q=zzz")).await;
        assert!(none.body.contains("data-testid=\"clients-no-match\""));
        // Unknown sort keys fall back to the name.
        app.get(&format!("/agencies/{agency}?sort=%27;drop&dir=sideways"))
            .await
            .assert_status(200);
    })
    .await;
}

#[actix_web::test]
async fn bad_brand_input_is_refused_with_messages_and_changes_nothing() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = create_agency(&app, "Acme Agency").await;
        let other = create_agency(&app, "Bravo Agency").await;
        let form = app.get(&format!("/agencies/{other}/brand")).await;
        let csrf = form.csrf();
        post_brand(
            &app,
            &other,
            &[("csrf_token", &csrf), ("hosts", "portal.bravo.test")],
            None,
        )
        .await
        .assert_status(303);
        let version = |app: &TestApp| -> i64 {
            app.db(|c| {
                agencies::table
                    .filter(agencies::slug.eq(&agency))
                    .select(agencies::brand_version)
                    .first(c)
            })
            .expect("version")
        };
        let before = version(&app);
        let mut big = png();
        big.resize(256 * 1024 + 1, 0);
        let svg =
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
        let cases: Vec<BrandCase> = vec![
            (vec![], Some(svg), "SVG is not accepted"),
            (vec![], Some(big), "256 KB or smaller"),
            (
                vec![("product_name", "javascript:alert(1)")],
                None,
                "cannot contain a javascript: URL",
            ),
            (
                vec![("support_email", "javascript:alert(1)//@x.com")],
                None,
                "not a URL",
            ),
            (vec![("primary_color", "red")], None, "Use a hex colour"),
            (vec![("primary_color", "#12345")], None, "Use a hex colour"),
            (
                vec![("hosts", "javascript:alert(1)")],
                None,
                "Enter host names only",
            ),
            (
                vec![("hosts", "https://dash.acme.test/")],
                None,
                "Enter host names only",
            ),
            (
                vec![("hosts", "portal.bravo.test")],
                None,
                "already used by another agency",
            ),
            (vec![("hosts", "localhost")], None, "Enter host names only"),
        ];
        for (fields, logo, message) in cases {
            let mut all = vec![("csrf_token", csrf.as_str())];
            all.extend(fields.iter().copied());
            let res = post_brand(&app, &agency, &all, logo.as_deref()).await;
            res.assert_status(422);
            assert!(res.body.contains(message), "{fields:?}: {message}");
        }
        assert_eq!(version(&app), before, "nothing saved");
        // Without the token: refused.
        post_brand(&app, &agency, &[("primary_color", "#0f766e")], None)
            .await
            .assert_status(403);
        assert_eq!(version(&app), before);
    })
    .await;
}

#[actix_web::test]
async fn an_agency_host_wears_the_agency_brand_everywhere_and_unknown_hosts_fall_back() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = create_agency(&app, "Acme Agency").await;
        let north = create_client(&app, &agency, "Northwind").await;
        let form = app.get(&format!("/agencies/{agency}/brand")).await;
        let logo = png();
        post_brand(
            &app,
            &agency,
            &[
                ("csrf_token", &form.csrf()),
                ("product_name", "AcmeDesk"),
                ("primary_color", "#0F766E"),
                ("support_email", "help@acme-agency.test"),
                ("hosts", "Dash.Acme-Agency.test\n"),
            ],
            Some(&logo),
        )
        .await
        .assert_status(303);
        let (agency_id, version): (String, i64) = app
            .db(|c| {
                agencies::table
                    .filter(agencies::slug.eq(&agency))
                    .select((agencies::id, agencies::brand_version))
                    .first(c)
            })
            .expect("agency");
        let css = app
            .get(&format!("/brand/{agency_id}/brand.css?v={version}"))
            .await;
        css.assert_status(200);
        assert_eq!(css.header("content-type"), "text/css; charset=utf-8");
        assert!(css.body.contains("--brand: #0f766e;"));
        let img = app
            .get(&format!("/brand/{agency_id}/logo?v={version}"))
            .await;
        img.assert_status(200);
        assert_eq!(img.header("content-type"), "image/png");
        app.get("/brand/agc_nope/logo").await.assert_status(404);

        // The client's pages wear the agency brand, on any host.
        let keys = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        assert!(keys.body.contains("AcmeDesk"));
        assert!(
            !keys.body.contains("Latchkey"),
            "no Latchkey name for clients"
        );
        // Every page of a client and of the agency says the brand's name, never Latchkey's.
        for path in [
            format!("/teams/{north}/settings/integrations"),
            format!("/teams/{north}/settings/integrations/new?provider=custom"),
            format!("/teams/{north}/settings/webhooks"),
            format!("/teams/{north}/api-reference"),
            format!("/agencies/{agency}/webhooks"),
        ] {
            let page = app.get(&path).await;
            page.assert_status(200);
            assert!(page.body.contains("AcmeDesk"), "{path}");
            assert!(!page.body.contains("Latchkey"), "{path} names Latchkey");
        }
        assert!(
            keys.body
                .contains(&format!("/brand/{agency_id}/brand.css?v={version}"))
        );

        // Signed out on the agency's host: the sign-in page and errors are branded too.
        let ada = app.swap_cookies(Default::default());
        app.set_host("dash.acme-agency.test");
        for url in ["/login", "/no-such-page"] {
            let page = app.get(url).await;
            assert!(page.body.contains("AcmeDesk"), "{url}");
            assert!(!page.body.contains("Latchkey"), "{url}");
        }
        // An unknown host falls back to the default brand.
        app.set_host("unknown.example.net");
        let page = app.get("/login").await;
        assert!(page.body.contains("Latchkey"));
        assert!(!page.body.contains("AcmeDesk"));
        // Ada's own team, viewed on the agency's host, wears that host's brand.
        app.swap_cookies(ada);
        app.set_host("dash.acme-agency.test");
        let own = app.get("/teams/ada-labs/settings/api-keys").await;
        assert!(own.body.contains("AcmeDesk"));
        // Links handed out on the agency's host point at that host.
        let members = app.get(&format!("/teams/{north}/settings/members")).await;
        let invited = app
            .post(
                &format!("/teams/{north}/settings/members/invitations"),
                &[
                    ("csrf_token", &members.csrf()),
                    ("email", "nick@northwind.test"),
                    ("role", "viewer"),
                ],
            )
            .await;
        invited.assert_status(200);
        assert!(
            invited
                .body
                .contains("value=\"http://dash.acme-agency.test:8080/invitations?token="),
            "{}",
            invited.body
        );
        app.set_host("localhost:8080");
        let own = app.get("/teams/ada-labs/settings/api-keys").await;
        assert!(!own.body.contains("AcmeDesk"));

        // "Powered by" is opt-in.
        assert!(!keys.body.contains("data-testid=\"powered-by\""));
        post_brand(
            &app,
            &agency,
            &[
                ("csrf_token", &form.csrf()),
                ("product_name", "AcmeDesk"),
                ("powered_by", "on"),
            ],
            None,
        )
        .await
        .assert_status(303);
        let keys = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        assert!(keys.body.contains("Powered by Latchkey"));
        assert!(
            keys.body.contains("/logo?v="),
            "logo kept when none uploaded"
        );
    })
    .await;
}

#[actix_web::test]
async fn an_agency_host_keeps_its_brand_on_the_outage_page_while_the_database_is_away() {
    crate::helpers::each_db_with(
        |c| c.db_wait_ms = 200,
        |app| async move {
            app.set_up("ada@example.com", "Ada Labs").await;
            let agency = create_agency(&app, "Acme Agency").await;
            let form = app.get(&format!("/agencies/{agency}/brand")).await;
            post_brand(
                &app,
                &agency,
                &[
                    ("csrf_token", &form.csrf()),
                    ("product_name", "AcmeDesk"),
                    ("hosts", "dash.acme-agency.test"),
                ],
                None,
            )
            .await
            .assert_status(303);
            app.swap_cookies(Default::default());
            app.set_host("dash.acme-agency.test");
            assert!(app.get("/login").await.body.contains("AcmeDesk"));
            // Every connection is taken: the database cannot be reached.
            let held: Vec<_> = (0..4)
                .map(|_| app.state.pool.get().expect("connection"))
                .collect();
            let page = app.get("/login").await;
            page.assert_status(503);
            assert!(
                page.body.contains("cannot reach its database"),
                "{}",
                page.body
            );
            assert!(page.body.contains("AcmeDesk"), "the agency's brand");
            assert!(
                !page.body.contains("Latchkey"),
                "no other product name: {}",
                page.body
            );
            drop(held);
            app.get("/login").await.assert_status(200);
        },
    )
    .await;
}

#[actix_web::test]
async fn operators_switch_between_clients_from_the_switcher_and_client_members_see_only_theirs() {
    each_db(|app| async move {
        app.set_up("ada@example.com", "Ada Labs").await;
        let agency = create_agency(&app, "Acme Agency").await;
        let north = create_client(&app, &agency, "Northwind").await;
        let globex = create_client(&app, &agency, "Globex").await;
        let page = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        page.assert_status(200);
        assert!(page.body.contains("Clients of Acme Agency"));
        let switch = |body: &str, slug: &str| {
            body.contains(&format!(
                "<a href=\"/teams/{slug}/settings/api-keys\" data-testid=\"switch-client\""
            ))
        };
        assert!(switch(&page.body, &north) && switch(&page.body, &globex));
        assert!(page.body.contains(&format!(
            "<a href=\"/teams/{north}/settings/api-keys\" data-testid=\"switch-client\" aria-current=\"true\">Northwind</a>"
        )));
        // Globex comes before Northwind: by name.
        assert!(page.body.find(">Globex</a>") < page.body.find(">Northwind</a>"));
        // The agency's own pages list them too; nothing current.
        let dash = app.get(&format!("/agencies/{agency}")).await;
        assert!(dash.body.contains("Clients of Acme Agency"));
        assert!(!dash.body.contains("data-testid=\"switch-client\" aria-current"));
        // A plain team has no client list.
        let own = app.get("/teams/ada-labs/settings/api-keys").await;
        assert!(!own.body.contains("Clients of"));

        // A member of one client does not see its siblings.
        app.add_member(&north, "bob@northwind.test", Role::Admin).await;
        app.swap_cookies(Default::default());
        app.sign_in("bob@northwind.test", PASSWORD).await.assert_status(303);
        let theirs = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        theirs.assert_status(200);
        assert!(!theirs.body.contains("Clients of"));
        assert!(!theirs.body.contains("Globex"));

        // Past 30 clients the list ends with a link to all of them.
        app.swap_cookies(Default::default());
        app.sign_in("ada@example.com", PASSWORD).await.assert_status(303);
        let agency_id: String = app
            .db(|c| agencies::table.filter(agencies::slug.eq(&agency)).select(agencies::id).first(c))
            .expect("agency");
        app.db(|c| {
            let agency = AgencyId::from_db(agency_id.clone());
            for i in 0..30 {
                latchkey::models::team::Team::create(c, &format!("Zeta {i:02}"), Some(&agency), 0)?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .expect("clients");
        let page = app.get(&format!("/teams/{north}/settings/api-keys")).await;
        assert_eq!(page.body.matches("data-testid=\"switch-client\"").count(), 30);
        assert!(page.body.contains(&format!(
            "<a href=\"/agencies/{agency}\" data-testid=\"switch-all-clients\">All 32 clients →</a>"
        )));
    })
    .await;
}

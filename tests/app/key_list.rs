//! The keys list at scale: search, filters, orders and keyset pages in the URL (with and
//! without htmx), hygiene hints at their exact boundaries, the one banner, retiring keys
//! beneath their successors, and the same query on `GET /v1/api-keys`.

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, teams};
use latchkey::domain::api_key_secret::{ApiKeySecret, KeyMode};

use crate::helpers::{KeySpec, T0, TestApp, each_db};

const DAY: i64 = 86_400;

fn keys_url(slug: &str) -> String {
    format!("/teams/{slug}/settings/api-keys")
}

/// The names of the key rows on a page, in order.
fn row_names(body: &str) -> Vec<String> {
    body.split("data-testid=\"key-row\" data-key-name=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("quote")].to_owned())
        .collect()
}

/// The `href` of the link with `testid`, unescaped.
fn link(body: &str, testid: &str) -> Option<String> {
    let at = body.find(&format!("data-testid=\"{testid}\""))?;
    let before = &body[..at];
    let h = before.rfind("href=\"")? + 6;
    let end = before[h..].find('"')? + h;
    Some(before[h..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// Settings of a test key, set directly in the database after it is made.
#[derive(Default, Clone, Copy)]
struct Shape {
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
}

/// Makes a key named `name` with `scopes` in `mode`, then gives it `shape`; returns its id.
fn key(app: &TestApp, slug: &str, name: &str, scopes: &[&str], mode: &str, shape: Shape) -> String {
    let (id, _) = app.make_key(KeySpec {
        team: slug,
        scopes,
        mode,
    });
    app.db(|c| {
        diesel::update(api_keys::table.find(&id))
            .set((
                api_keys::name.eq(name),
                api_keys::created_at.eq(shape.created_at),
                api_keys::last_used_at.eq(shape.last_used_at),
                api_keys::expires_at.eq(shape.expires_at),
            ))
            .execute(c)
            .expect("shape key")
    });
    id
}

fn used_now(created_at: i64) -> Shape {
    Shape {
        created_at,
        last_used_at: Some(T0 - 60),
        expires_at: Some(T0 + 60 * DAY),
    }
}

#[actix_web::test]
async fn a_long_list_is_cut_into_keyset_pages_of_fifty_in_a_stable_order() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        // 120 keys; every 10 share one creation second, so the order depends on the id.
        let mut ids = vec![];
        for i in 0..120 {
            let created = T0 - DAY - (i / 10) * 60;
            ids.push((
                created,
                key(
                    &app,
                    &slug,
                    &format!("svc-{i:03}"),
                    &["bots:read"],
                    "live",
                    used_now(created),
                ),
            ));
        }
        ids.sort_by(|a, b| b.cmp(a));
        let expected: Vec<String> = app.db(|c| {
            ids.iter()
                .map(|(_, id)| {
                    api_keys::table
                        .find(id)
                        .select(api_keys::name)
                        .first::<String>(c)
                        .expect("name")
                })
                .collect()
        });

        let first = app.get(&keys_url(&slug)).await;
        first.assert_status(200);
        assert!(first.body.contains("120 keys · 50 per page"), "count line");
        let mut seen = row_names(&first.body);
        assert_eq!(seen.len(), 50);
        assert!(link(&first.body, "first-page").is_none());
        let mut next = link(&first.body, "next-page").expect("a next page");
        assert!(next.contains("after=key_"), "{next}");
        let mut pages = 1;
        loop {
            let page = app.get(&next).await;
            page.assert_status(200);
            pages += 1;
            let names = row_names(&page.body);
            seen.extend(names.iter().cloned());
            assert!(
                link(&page.body, "first-page").is_some(),
                "back to the first page"
            );
            match link(&page.body, "next-page") {
                Some(n) => next = n,
                None => {
                    assert_eq!(names.len(), 20, "the last page holds the rest");
                    break;
                }
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(
            seen, expected,
            "newest first, ties broken by id, nothing twice or lost"
        );

        // The same pages through htmx: only the content, with the results region.
        let frag = app.get_htmx(&next).await;
        frag.assert_status(200);
        assert!(!frag.body.contains("<html"));
        assert!(frag.body.contains("id=\"key-results\""));
        assert_eq!(row_names(&frag.body), expected[100..]);

        // A cursor that names no key of this team is a 404; a malformed one a 422.
        app.get(&format!(
            "{}?after=key_00000000000000000000",
            keys_url(&slug)
        ))
        .await
        .assert_status(404);
        let bad = app
            .get(&format!("{}?after=nonsense", keys_url(&slug)))
            .await;
        bad.assert_status(422);
        assert!(bad.body.contains("No such key in this list."));
    })
    .await;
}

#[actix_web::test]
async fn search_filters_and_orders_are_read_from_the_url() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let billing = key(
            &app,
            &slug,
            "Billing worker",
            &["bots:read"],
            "live",
            used_now(T0 - 3 * DAY),
        );
        key(
            &app,
            &slug,
            "billing-cron",
            &["admin"],
            "test",
            used_now(T0 - 2 * DAY),
        );
        key(
            &app,
            &slug,
            "Zapier",
            &["bots:read"],
            "live",
            Shape {
                expires_at: Some(T0 + 2 * DAY),
                ..used_now(T0 - DAY)
            },
        );
        key(
            &app,
            &slug,
            "alpha",
            &["channels:read"],
            "live",
            Shape {
                last_used_at: None,
                ..used_now(T0 - 4 * DAY)
            },
        );
        let (tail, prefix_head): (String, String) = app.db(|c| {
            api_keys::table
                .find(&billing)
                .select((api_keys::tail, api_keys::head))
                .first::<(String, String)>(c)
                .map(|(t, h)| (t, format!("sk_live_{h}")))
                .expect("parts")
        });
        let list = |q: String| {
            let app = &app;
            let url = format!("{}?{q}", keys_url(&slug));
            async move {
                let res = app.get(&url).await;
                res.assert_status(200);
                row_names(&res.body)
            }
        };
        // Part of the name, any case.
        assert_eq!(
            list("q=BILLING".into()).await,
            ["billing-cron", "Billing worker"]
        );
        // The last four (case-sensitive), the masked key as shown, and its start.
        assert_eq!(list(format!("q={tail}")).await, ["Billing worker"]);
        let masked = format!("{prefix_head}…{tail}");
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        assert_eq!(
            list(format!("q={}", enc(&masked))).await,
            ["Billing worker"]
        );
        assert_eq!(
            list(format!("q={}", enc(&prefix_head))).await,
            ["Billing worker"]
        );
        // A `%` or `_` is a character, not a wildcard.
        assert!(list("q=%25".into()).await.is_empty());
        // Filters.
        assert_eq!(list("mode=test".into()).await, ["billing-cron"]);
        assert_eq!(list("status=expiring".into()).await, ["Zapier"]);
        assert_eq!(list("hint=admin".into()).await, ["billing-cron"]);
        assert_eq!(
            list("creator=api".into()).await.len(),
            4,
            "made directly: no person"
        );
        // Orders: by name ignoring case, by expiry (never last), by last use (never last).
        // (A space sorts before a hyphen.)
        assert_eq!(
            list("sort=name".into()).await,
            ["alpha", "Billing worker", "billing-cron", "Zapier"]
        );
        assert_eq!(list("sort=expires".into()).await[0], "Zapier");
        assert_eq!(
            list("sort=last-used".into())
                .await
                .last()
                .map(String::as_str),
            Some("alpha")
        );
        assert_eq!(list("sort=oldest".into()).await[0], "alpha");
        // No match: said so, with a way back.
        let none = app
            .get(&format!("{}?q=nothing-like-this", keys_url(&slug)))
            .await;
        none.assert_status(200);
        assert!(none.body.contains("No keys match"));
        assert!(none.body.contains("data-testid=\"clear-filters\""));

        // Wrong values: 422 with a message at each field, and nothing listed.
        let bad = app
            .get(&format!(
                "{}?status=gone&sort=random&creator=bob",
                keys_url(&slug)
            ))
            .await;
        bad.assert_status(422);
        for m in [
            "Choose a status from the list.",
            "Choose an order from the list.",
            "Choose a person from the list.",
        ] {
            assert!(bad.body.contains(m), "{m}");
        }
        assert!(row_names(&bad.body).is_empty());
        let count: i64 = app.db(|c| api_keys::table.count().get_result(c).expect("count"));
        assert_eq!(count, 4, "a search writes nothing");
    })
    .await;
}

#[actix_web::test]
async fn a_whole_secret_typed_into_the_search_is_neither_searched_nor_echoed() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, secret) = app
            .create_key(
                &slug,
                &[
                    ("name", "Prod"),
                    ("scopes", "bots:read"),
                    ("mode", "live"),
                    ("expiry", "never"),
                ],
            )
            .await;
        assert!(ApiKeySecret::parse(&secret).is_ok());
        let url = format!("{}?q={secret}&sort=name", keys_url(&slug));
        for res in [app.get(&url).await, app.get_htmx(&url).await] {
            res.assert_status(422);
            assert!(res.body.contains("That is a whole secret key."));
            assert!(!res.body.contains(&secret), "the secret is not shown back");
        }
        // htmx puts the list's URL without the secret in the address bar.
        let res = app.get_htmx(&url).await;
        assert_eq!(
            res.header("hx-push-url"),
            format!("{}?sort=name", keys_url(&slug))
        );
        let _ = KeyMode::Live;
    })
    .await;
}

#[actix_web::test]
async fn hygiene_hints_start_at_their_exact_boundaries_and_the_banner_links_to_them() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let fresh = |created| Shape {
            created_at: created,
            last_used_at: Some(T0 - 60),
            expires_at: Some(T0 + 60 * DAY),
        };
        key(
            &app,
            &slug,
            "ninety-days",
            &["bots:read"],
            "live",
            fresh(T0 - 90 * DAY),
        );
        key(
            &app,
            &slug,
            "ninety-days-and-a-second",
            &["bots:read"],
            "live",
            fresh(T0 - 90 * DAY - 1),
        );
        key(
            &app,
            &slug,
            "used-29-days-ago",
            &["bots:read"],
            "live",
            Shape {
                last_used_at: Some(T0 - 30 * DAY + 1),
                ..fresh(T0 - 40 * DAY)
            },
        );
        key(
            &app,
            &slug,
            "used-30-days-ago",
            &["bots:read"],
            "live",
            Shape {
                last_used_at: Some(T0 - 30 * DAY),
                ..fresh(T0 - 40 * DAY)
            },
        );
        key(
            &app,
            &slug,
            "admin-forever",
            &["admin"],
            "live",
            Shape {
                expires_at: None,
                ..fresh(T0 - DAY)
            },
        );
        key(
            &app,
            &slug,
            "admin-expiring",
            &["admin"],
            "live",
            fresh(T0 - DAY),
        );

        let attention = app
            .get(&format!("{}?hint=attention&sort=name", keys_url(&slug)))
            .await;
        attention.assert_status(200);
        assert_eq!(
            row_names(&attention.body),
            [
                "admin-forever",
                "ninety-days-and-a-second",
                "used-30-days-ago"
            ]
        );
        // Each hint has its fix.
        let all = app.get(&format!("{}?sort=name", keys_url(&slug))).await;
        let row = |name: &str| {
            let start = all
                .body
                .find(&format!("data-key-name=\"{name}\""))
                .expect("row");
            let end = all.body[start..].find("</tr>").expect("row end") + start;
            all.body[start..end].to_owned()
        };
        assert!(row("ninety-days-and-a-second").contains("data-testid=\"hint-old\""));
        assert!(row("ninety-days-and-a-second").contains(">Rotate</a>"));
        assert!(!row("ninety-days").contains("hint-"));
        assert!(row("used-30-days-ago").contains("data-testid=\"hint-unused\""));
        assert!(row("used-30-days-ago").contains(">Delete</a>"));
        assert!(!row("used-29-days-ago").contains("hint-"));
        assert!(row("admin-forever").contains("Narrow its scopes"));
        assert!(
            !row("admin-expiring").contains("hint-"),
            "admin with an expiry is a note only"
        );

        // The banner counts them and links to the filtered list.
        assert!(all.body.contains("3 keys need attention."));
        let to = link(&all.body, "banner-link").unwrap_or_default();
        assert!(all.body.contains("data-testid=\"banner-attention\""));
        assert_eq!(to, format!("{}?hint=attention", keys_url(&slug)));
        assert!(
            !attention.body.contains("banner-attention"),
            "not on the list it links to"
        );
    })
    .await;
}

#[actix_web::test]
async fn expiry_banners_warn_owners_a_week_and_a_day_ahead() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        key(
            &app,
            &slug,
            "soon",
            &["bots:read"],
            "live",
            Shape {
                expires_at: Some(T0 + 7 * DAY + 1),
                ..used_now(T0 - DAY)
            },
        );
        let page = app.get(&keys_url(&slug)).await;
        assert!(
            !page.body.contains("banner-expiring"),
            "8 days ahead: no banner"
        );
        app.clock().advance(1);
        let page = app.get(&keys_url(&slug)).await;
        assert!(page.body.contains("data-testid=\"banner-expiring-7d\""));
        assert!(page.body.contains("1 key expires within 7 days."));
        assert_eq!(
            link(&page.body, "banner-link").as_deref(),
            Some(format!("{}?status=expiring&sort=expires", keys_url(&slug)).as_str())
        );
        app.clock().advance(6 * DAY);
        // (The session went idle meanwhile.)
        app.sign_in("ada@example.com", crate::helpers::PASSWORD)
            .await
            .assert_status(303);
        let page = app.get(&keys_url(&slug)).await;
        assert!(page.body.contains("data-testid=\"banner-expiring-1d\""));
        assert!(page.body.contains("1 key expires within a day."));
        // Only one banner, the most urgent.
        assert_eq!(page.body.matches("class=\"notice notice-warn\"").count(), 1);
    })
    .await;
}

#[actix_web::test]
async fn a_retiring_key_is_listed_beneath_its_successor_until_a_filter_lists_each_alone() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, _) = app
            .create_key(
                &slug,
                &[
                    ("name", "Old name"),
                    ("scopes", "bots:read"),
                    ("mode", "live"),
                    ("expiry", "never"),
                ],
            )
            .await;
        app.create_key(
            &slug,
            &[
                ("name", "Other"),
                ("scopes", "bots:read"),
                ("mode", "live"),
                ("expiry", "never"),
            ],
        )
        .await;
        let id: String = app.db(|c| {
            api_keys::table
                .filter(api_keys::name.eq("Old name"))
                .select(api_keys::id)
                .first(c)
                .expect("id")
        });
        app.clock().advance(60);
        let page = app.get(&keys_url(&slug)).await;
        let rotate = app
            .post(
                &format!("{}/{id}/rotate", keys_url(&slug)),
                &[("csrf_token", &page.csrf()), ("grace", "86400")],
            )
            .await;
        rotate.assert_status(200);
        app.clock().advance(60);
        let list = app.get(&keys_url(&slug)).await;
        // Successor first (newest), its predecessor right beneath it, then the other key.
        assert_eq!(row_names(&list.body), ["Old name", "Old name", "Other"]);
        assert_eq!(list.body.matches("row-nested").count(), 1);
        assert!(
            list.body
                .contains("Previous key, replaced by the one above")
        );
        assert!(
            list.body.contains("2 keys"),
            "the count is of rows of their own"
        );
        // A filter lists each matching key on its own.
        let retiring = app
            .get(&format!("{}?status=retiring", keys_url(&slug)))
            .await;
        assert_eq!(row_names(&retiring.body), ["Old name"]);
        assert!(!retiring.body.contains("row-nested"));
    })
    .await;
}

#[actix_web::test]
async fn the_api_lists_keys_with_the_same_search_filters_orders_and_pages() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, admin) = app.make_key(KeySpec {
            team: &slug,
            scopes: &["admin"],
            mode: "live",
        });
        for i in 0..5 {
            key(
                &app,
                &slug,
                &format!("worker-{i}"),
                &["bots:read"],
                "live",
                used_now(T0 - DAY - i),
            );
        }
        key(
            &app,
            &slug,
            "test-worker",
            &["bots:read"],
            "test",
            used_now(T0 - DAY),
        );
        key(
            &app,
            &slug,
            "Zed",
            &["bots:read"],
            "live",
            Shape {
                expires_at: Some(T0 + DAY),
                ..used_now(T0 - 9 * DAY)
            },
        );
        let names = |v: &serde_json::Value| -> Vec<String> {
            v["data"]
                .as_array()
                .expect("data")
                .iter()
                .map(|k| k["name"].as_str().expect("name").to_owned())
                .collect()
        };
        let res = app
            .api("GET", "/api-keys?q=worker&sort=name&limit=2", &admin, None)
            .await;
        res.assert_status(200);
        let j = res.json();
        assert_eq!(
            names(&j),
            ["worker-0", "worker-1"],
            "the test key is another mode's"
        );
        assert_eq!(j["has_more"], true);
        let last = j["data"][1]["id"].as_str().expect("id").to_owned();
        let res = app
            .api(
                "GET",
                &format!("/api-keys?q=worker&sort=name&limit=10&starting_after={last}"),
                &admin,
                None,
            )
            .await;
        assert_eq!(names(&res.json()), ["worker-2", "worker-3", "worker-4"]);
        assert_eq!(res.json()["has_more"], false);
        let res = app
            .api("GET", "/api-keys?status=expiring", &admin, None)
            .await;
        assert_eq!(names(&res.json()), ["Zed"]);
        let res = app.api("GET", "/api-keys?hint=old", &admin, None).await;
        assert!(names(&res.json()).is_empty());

        let bad = app
            .api("GET", "/api-keys?status=gone&sort=up", &admin, None)
            .await;
        bad.assert_status(422);
        let j = bad.json();
        assert_eq!(j["error"]["code"], "VALIDATION_FAILED");
        assert_eq!(
            j["error"]["fields"]["status"],
            "Choose a status from the list."
        );
        assert_eq!(
            j["error"]["fields"]["sort"],
            "Choose an order from the list."
        );
        let bad = app
            .api(
                "GET",
                "/api-keys?starting_after=key_00000000000000000000",
                &admin,
                None,
            )
            .await;
        bad.assert_status(422);
        assert_eq!(
            bad.json()["error"]["fields"]["starting_after"],
            "No such api key."
        );
        let team: String = app.db(|c| {
            teams::table
                .filter(teams::slug.eq(&slug))
                .select(teams::id)
                .first(c)
                .expect("team")
        });
        assert!(!team.is_empty());
    })
    .await;
}

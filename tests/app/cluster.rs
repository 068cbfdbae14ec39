//! Two nodes in one process on one PostgreSQL database, each with its own key cache, lease and
//! notification listener: a change that weakens a key through either node is refused by the
//! other on its very next request, although both cache keys. (The three-process version, with
//! a paused node and Redis, is `cluster_process.rs`.)

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;

use crate::agencies::{create_agency, create_client};
use crate::helpers::{Backend, KeySpec, TestApp, backends};

fn postgres() -> Backend {
    backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)))
        .expect("set TEST_DATABASE_URL (CI does) to run the several-nodes tests")
}

/// Two nodes on one fresh database, both holding a lease.
async fn two_nodes() -> (TestApp, TestApp) {
    let a = TestApp::spawn(postgres()).await;
    let b = TestApp::spawn_on(&a.state.config.database_url, |_| {}).await;
    wait_until("both nodes hold a lease", || {
        a.state.key_cache.is_trusted() && b.state.key_cache.is_trusted()
    })
    .await;
    (a, b)
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

fn spec<'a>(team: &'a str, scopes: &'a [&'a str]) -> KeySpec<'a> {
    KeySpec {
        team,
        scopes,
        mode: "live",
    }
}

#[actix_web::test]
async fn a_key_weakened_through_either_node_is_refused_by_the_other_on_its_very_next_request() {
    let (a, b) = two_nodes().await;
    let slug = a.set_up("ada@example.com", "Acme").await;
    let (_, admin) = a.make_key(spec(&slug, &["admin"]));
    let rounds = 40;
    for round in 0..rounds {
        let (id, key) = a.make_key(spec(&slug, &["bots:write"]));
        let (writer, reader) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        // Both nodes admit the key, and now hold it in their caches.
        for node in [&a, &b] {
            node.api("GET", "/bots", &key, None)
                .await
                .assert_status(200);
            node.api("GET", "/bots", &key, None)
                .await
                .assert_status(200);
            assert!(node.state.key_cache.is_trusted() && !node.state.key_cache.is_empty());
        }
        let (change, refused) = match round % 4 {
            0 => {
                let res = writer
                    .api("DELETE", &format!("/api-keys/{id}"), &admin, None)
                    .await;
                res.assert_status(200);
                ("delete", 401)
            }
            1 => {
                let res = writer
                    .api(
                        "POST",
                        &format!("/api-keys/{id}/rotate"),
                        &admin,
                        Some(json!({"grace_period_seconds": 0})),
                    )
                    .await;
                res.assert_status(201);
                ("rotate out", 401)
            }
            2 => {
                let res = writer
                    .api("POST", "/revoke", &key, Some(json!({"key": key})))
                    .await;
                res.assert_status(200);
                ("leak report", 401)
            }
            _ => {
                let res = writer
                    .api(
                        "PATCH",
                        &format!("/api-keys/{id}"),
                        &admin,
                        Some(json!({"scopes": ["bots:read"]})),
                    )
                    .await;
                res.assert_status(200);
                ("scope narrowing", 403)
            }
        };
        let next = reader
            .api("POST", "/bots", &key, Some(json!({"name": "Helper"})))
            .await;
        assert_eq!(
            next.status.as_u16(),
            refused,
            "round {round}: after a {change} the other node refuses: {}",
            next.body
        );
    }
    // The writers never had to wait out a lease: every change was acknowledged.
    let counts = |n: &TestApp| {
        let c = n.state.cluster.settle_counts();
        (c.acknowledged.get(), c.lease_bound.get())
    };
    let (acked_a, bound_a) = counts(&a);
    let (acked_b, bound_b) = counts(&b);
    assert_eq!(acked_a + acked_b, rounds, "one settled wait per change");
    assert_eq!(bound_a + bound_b, 0);
    // Both nodes are in the lease table.
    let nodes = a
        .db(latchkey::models::cluster::nodes)
        .expect("cluster_nodes");
    assert_eq!(nodes.len(), 2, "{nodes:?}");
}

#[actix_web::test]
async fn ending_a_grace_period_on_one_node_refuses_the_old_key_on_the_other() {
    let (a, b) = two_nodes().await;
    let slug = a.set_up("ada@example.com", "Acme").await;
    let (_, admin) = a.make_key(spec(&slug, &["admin"]));
    let (id, old) = a.make_key(spec(&slug, &["bots:read"]));
    // Rotated with an hour's grace: the old key still works on both nodes (and is cached).
    let rotated = a
        .api(
            "POST",
            &format!("/api-keys/{id}/rotate"),
            &admin,
            Some(json!({"grace_period_seconds": 3600})),
        )
        .await;
    rotated.assert_status(201);
    for node in [&a, &b] {
        node.api("GET", "/bots", &old, None)
            .await
            .assert_status(200);
        node.api("GET", "/bots", &old, None)
            .await
            .assert_status(200);
    }
    // A person ends the grace period on node A's dashboard.
    let csrf = a.csrf_of_session(&slug).await;
    a.post(
        &format!("/teams/{slug}/settings/api-keys/{id}/end-grace"),
        &[("csrf_token", &csrf)],
    )
    .await
    .assert_status(303);
    b.api("GET", "/bots", &old, None).await.assert_status(401);
    a.api("GET", "/bots", &old, None).await.assert_status(401);
}

#[actix_web::test]
async fn suspending_a_client_or_changing_a_teams_limit_reaches_every_nodes_cache() {
    let (a, b) = two_nodes().await;
    a.set_up("ada@example.com", "Ada Labs").await;
    let agency = create_agency(&a, "Acme Agency").await;
    let north = create_client(&a, &agency, "Northwind").await;
    let (_, key) = a.make_key(spec(&north, &["bots:read"]));
    b.api("GET", "/bots", &key, None).await.assert_status(200);
    let page = a.get(&format!("/agencies/{agency}")).await;
    a.post(
        &format!("/agencies/{agency}/clients/{north}/suspend"),
        &[("csrf_token", &page.csrf())],
    )
    .await
    .assert_status(303);
    let refused = b.api("GET", "/bots", &key, None).await;
    refused.assert_status(403);
    assert_eq!(refused.json()["error"]["code"], "ACCOUNT_SUSPENDED");
    a.post(
        &format!("/agencies/{agency}/clients/{north}/resume"),
        &[("csrf_token", &page.csrf())],
    )
    .await
    .assert_status(303);
    let ok = b.api("GET", "/bots", &key, None).await;
    ok.assert_status(200);
    assert_eq!(ok.header("x-ratelimit-limit"), "600");
    // The team's default limit, changed on one node, is the other's on its next request.
    let settings = a.get(&format!("/teams/{north}/settings")).await;
    settings.assert_status(200);
    a.post(
        &format!("/teams/{north}/settings"),
        &[
            ("csrf_token", &settings.csrf()),
            ("name", "Northwind"),
            ("rate_limit", "42"),
        ],
    )
    .await
    .assert_status(303);
    let limited = b.api("GET", "/bots", &key, None).await;
    assert_eq!(
        limited.header("x-ratelimit-limit"),
        "42",
        "{}",
        limited.body
    );
}

#[actix_web::test]
async fn a_node_whose_notification_connection_is_cut_still_refuses_a_deleted_key() {
    let (a, b) = two_nodes().await;
    let slug = a.set_up("ada@example.com", "Acme").await;
    let (_, admin) = a.make_key(spec(&slug, &["admin"]));
    let (id, key) = a.make_key(spec(&slug, &["bots:read"]));
    a.api("GET", "/bots", &key, None).await.assert_status(200);
    assert!(a.state.key_cache.is_trusted() && !a.state.key_cache.is_empty());
    // Cut node A's notification connection, as a network fault or an administrator would.
    let listener = format!("latchkey-listener-{}", a.state.cluster.node_id());
    let cut: Vec<bool> = b
        .db(|c| {
            diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity \
                 WHERE application_name = '{listener}'"
            ))
            .load::<Terminated>(c)
        })
        .expect("terminate")
        .into_iter()
        .map(|t| t.cut)
        .collect();
    assert_eq!(cut, vec![true], "node A's listener was found and cut");
    // At once, through node B.
    b.api("DELETE", &format!("/api-keys/{id}"), &admin, None)
        .await
        .assert_status(200);
    a.api("GET", "/bots", &key, None).await.assert_status(401);
    // Node A reconnects by itself and caches again.
    wait_until("node A holds a lease again", || {
        a.state.key_cache.is_trusted()
    })
    .await;
    let (_, again) = a.make_key(spec(&slug, &["bots:read"]));
    a.api("GET", "/bots", &again, None).await.assert_status(200);
    assert!(!a.state.key_cache.is_empty());
}

#[derive(QueryableByName)]
struct Terminated {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    cut: bool,
}

#[actix_web::test]
async fn a_node_knows_every_agency_hosts_brand_before_serving_that_host() {
    let (a, b) = two_nodes().await;
    a.set_up("ada@example.com", "Ada Labs").await;
    let agency = create_agency(&a, "Acme Agency").await;
    let csrf = a.get(&format!("/agencies/{agency}/brand")).await.csrf();
    crate::agencies::post_brand(
        &a,
        &agency,
        &[
            ("csrf_token", &csrf),
            ("product_name", "AcmeDesk"),
            ("hosts", "portal.acme.test"),
        ],
        None,
    )
    .await
    .assert_status(303);
    // Node B never served portal.acme.test; the database may be gone when it first must.
    assert!(b.state.host_brands.recall("portal.acme.test").is_none());
    let learned = latchkey::web::brand::Brand::learn_all(&b.state)
        .await
        .expect("learn");
    assert_eq!(learned, 1);
    let brand = b
        .state
        .host_brands
        .recall("portal.acme.test")
        .expect("known");
    assert_eq!(brand.product, "AcmeDesk");
}

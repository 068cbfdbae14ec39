//! Retention of what grows with use: webhook events with their deliveries and attempts after
//! the configured days, events no endpoint wanted after a day, hourly usage after 400 days,
//! expired sessions and stale sign-in counters — and the rest kept. With several nodes, one
//! prunes at a time.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{Backend, KeySpec, TestApp, backends, each_db_with};
use latchkey::jobs::retention::prune_once;

const DAY: i64 = 86_400;

/// Rows of `table`.
fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.db(|c| {
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<N>(c)
            .expect("count")
            .n
    })
}

/// The rows of every table retention prunes.
fn counts(app: &TestApp) -> Vec<i64> {
    [
        "outbox_events",
        "webhook_deliveries",
        "webhook_attempts",
        "api_key_usage",
        "sessions",
        "login_throttles",
        "login_known_addresses",
    ]
    .iter()
    .map(|table| count(app, table))
    .collect()
}

/// An endpoint of the team, then events `age` seconds old: with a delivery (and two attempts)
/// to it, or none.
async fn seed(app: &TestApp) {
    let slug = app.set_up("ada@example.com", "Acme").await;
    let (key_id, key) = app.make_key(KeySpec {
        team: &slug,
        scopes: &["admin"],
        mode: "live",
    });
    let res = app
        .api(
            "POST",
            "/webhook-endpoints",
            &key,
            Some(json!({"url": "http://127.0.0.1:9/hooks"})),
        )
        .await;
    res.assert_status(201);
    let endpoint = res.json()["id"].as_str().expect("id").to_owned();
    let now = app.clock().now();
    let team = format!("(SELECT id FROM teams WHERE slug = '{slug}')");
    let mut sql = String::new();
    // (id, age, delivered): 40 and 8 days old with deliveries, 2 days and 1 hour old without.
    for (id, age, delivered) in [
        ("evt_old", 40 * DAY, true),
        ("evt_week", 8 * DAY, true),
        ("evt_recent", 3600, true),
        ("evt_unwanted_old", 2 * DAY, false),
        ("evt_unwanted_new", 3600, false),
    ] {
        let at = now - age;
        sql.push_str(&format!(
            "INSERT INTO audit_events (id, team_id, action, actor_kind, actor_label, created_at) \
             VALUES ('aud_{id}', {team}, 'bot.created', 'system', 'Latchkey', {at});\n\
             INSERT INTO outbox_events (id, team_id, agency_id, event_type, payload, \
             audit_event_id, created_at, fanned_out_at) VALUES ('{id}', {team}, NULL, \
             'bot.created', '{{}}', 'aud_{id}', {at}, {at});\n"
        ));
        if delivered {
            sql.push_str(&format!(
                "INSERT INTO webhook_deliveries (id, endpoint_id, outbox_event_id, event_type, \
                 status, attempts, created_at) VALUES ('whd_{id}', '{endpoint}', '{id}', \
                 'bot.created', 'succeeded', 2, {at});\n\
                 INSERT INTO webhook_attempts (id, delivery_id, attempt, at, latency_ms) VALUES \
                 ('wha_1_{id}', 'whd_{id}', 1, {at}, 5), ('wha_2_{id}', 'whd_{id}', 2, {at}, 5);\n"
            ));
        }
    }
    for (hour, _) in [(now - 401 * DAY, "gone"), (now - 399 * DAY, "kept")] {
        sql.push_str(&format!(
            "INSERT INTO api_key_usage (api_key_id, hour, requests) VALUES ('{key_id}', \
             {hour}, 7);\n"
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO sessions (id, user_id, state, created_at, expires_at) VALUES \
         ('s_expired', NULL, '{{}}', {a}, {b}), ('s_live', NULL, '{{}}', {a}, {c});\n\
         INSERT INTO login_throttles (email_digest, failures, last_failure_at) VALUES \
         ('t_old', 3, {d}), ('t_new', 3, {e});\n\
         INSERT INTO login_known_addresses (digest, last_success_at) VALUES \
         ('k_old', {f}), ('k_new', {e});\n",
        a = now - 2 * DAY,
        b = now - 1,
        c = now + DAY,
        d = now - 2 * DAY,
        e = now - 60,
        f = now - 91 * DAY,
    ));
    app.db(|c| c.batch_execute(&sql)).expect("seed");
}

#[actix_web::test]
async fn retention_deletes_old_webhook_events_usage_and_sessions_and_keeps_the_rest() {
    each_db_with(
        |c| c.webhook_retention_days = 7,
        |app| async move {
            seed(&app).await;
            let before = counts(&app);
            let pruned = prune_once(&app.state).await.expect("prune");
            assert!(!pruned.yielded);
            let after = counts(&app);
            // 40 and 8 days old (past 7) go with their deliveries and attempts; the unwanted
            // event of two days ago goes; the hour-old ones stay.
            let gone: Vec<i64> = before.iter().zip(&after).map(|(b, a)| b - a).collect();
            assert_eq!(
                gone,
                vec![3, 2, 4, 1, 1, 1, 1],
                "before {before:?} after {after:?}"
            );
            assert_eq!(pruned.rows, 3 + 1 + 1 + 1 + 1);
            let left: Vec<String> = app
                .db(|c| {
                    latchkey::db::schema::outbox_events::table
                        .select(latchkey::db::schema::outbox_events::id)
                        .order(latchkey::db::schema::outbox_events::id.asc())
                        .load(c)
                })
                .expect("events");
            assert!(
                left.contains(&"evt_recent".to_owned())
                    && left.contains(&"evt_unwanted_new".to_owned())
                    && !left.iter().any(|id| id == "evt_old" || id == "evt_week")
            );
            // Nothing more to do.
            let again = prune_once(&app.state).await.expect("prune");
            assert_eq!(again.rows, 0);
        },
    )
    .await;
}

#[actix_web::test]
async fn with_several_nodes_one_prunes_at_a_time() {
    let Some(backend) = backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)))
    else {
        panic!("set TEST_DATABASE_URL (CI does) to run the several-nodes tests");
    };
    let app = TestApp::spawn(backend).await;
    seed(&app).await;
    // Another node is in the middle of a batch: it holds the retention lock.
    let url = app.state.config.database_url.clone();
    let mut other = diesel::PgConnection::establish(&url).expect("connect");
    other
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({});",
            latchkey::models::retention::RETENTION_LOCK
        ))
        .expect("lock");
    let events = count(&app, "outbox_events");
    let pruned = prune_once(&app.state).await.expect("prune");
    assert!(pruned.yielded, "{pruned:?}");
    assert_eq!(
        count(&app, "outbox_events"),
        events,
        "this node left the work alone"
    );
    other.batch_execute("COMMIT").expect("unlock");
    let pruned = prune_once(&app.state).await.expect("prune");
    assert!(!pruned.yielded);
    assert!(count(&app, "outbox_events") < events);
}

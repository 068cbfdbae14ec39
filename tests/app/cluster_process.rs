//! Several `latchkey` processes on one fresh PostgreSQL database, with Redis: started at once
//! (one migration run, every printed set-up link works), key caches on, and a key weakened
//! through any node refused by every other node on its very next request — also with one
//! node's notification connection cut and with one node stopped (SIGSTOP) during the change.
//! Shared rate limits hold across nodes, and survive Redis going away (a throw-away
//! `redis-server` of this suite's own; the machine's Redis is never stopped). Each test prints
//! what it measured (`-- --nocapture`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::process::{PgDatabase, Reply, Server, free_port, http};

/// The machine's Redis (CI starts it when it is not running).
const MACHINE_REDIS: &str = "redis://127.0.0.1:6379/0";

fn database() -> PgDatabase {
    PgDatabase::create().expect("set TEST_DATABASE_URL (CI does) to run the several-nodes tests")
}

/// One three-node test at a time: each holds up to 51 PostgreSQL connections at its peak.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `n` nodes on `db`, started at the same moment.
fn nodes(dir: &Path, db: &PgDatabase, n: usize, env: &[(&str, &str)]) -> Vec<Server> {
    let servers: Vec<Server> = (0..n).map(|_| Server::spawn(dir, &db.url(), env)).collect();
    for s in &servers {
        s.wait_until_up();
    }
    servers
}

fn json(reply: &Reply) -> Value {
    serde_json::from_str(&reply.body).unwrap_or(Value::Null)
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply
        .headers
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or("")
        .trim()
}

/// An admin key of a fresh team, written into the (already migrated) database.
fn admin_key(db: &PgDatabase) -> String {
    crate::process::seed_admin_key(&db.url())
}

/// Creates a key through node `port`; (id, secret).
fn create_key(port: u16, admin: &str, body: Value) -> (String, String) {
    let res = http(
        port,
        "POST",
        "/v1/api-keys",
        Some(admin),
        Some(&body.to_string()),
    );
    assert_eq!(res.status, 201, "{}", res.body);
    let v = json(&res);
    (
        v["id"].as_str().expect("id").to_owned(),
        v["secret"].as_str().expect("secret").to_owned(),
    )
}

/// The node id `server` registered in the lease table.
fn node_id(db: &PgDatabase, server: &Server) -> String {
    let mut c = PgConnection::establish(&db.url()).expect("db");
    let address = format!("127.0.0.1:{}", server.port);
    let started = Instant::now();
    loop {
        let found: Option<String> = latchkey::db::schema::cluster_nodes::table
            .filter(latchkey::db::schema::cluster_nodes::address.eq(&address))
            .select(latchkey::db::schema::cluster_nodes::node_id)
            .first(&mut c)
            .optional()
            .expect("cluster_nodes");
        if let Some(id) = found {
            return id;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{address} holds no lease"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Terminates `server`'s notification connection; true when there was one to cut.
fn cut_listener(db: &PgDatabase, node: &str) -> bool {
    #[derive(QueryableByName)]
    struct Cut {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        cut: bool,
    }
    let mut c = PgConnection::establish(&db.url()).expect("db");
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity \
         WHERE application_name = 'latchkey-listener-{node}'"
    ))
    .load::<Cut>(&mut c)
    .expect("terminate")
    .iter()
    .any(|c| c.cut)
}

fn signal(server: &Server, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &server.child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig}");
}

/// One way of weakening a key, made through node `port`; the status the key then gets.
fn weaken(kind: usize, port: u16, admin: &str, id: &str, key: &str) -> (&'static str, u16) {
    match kind % 4 {
        0 => {
            let res = http(
                port,
                "DELETE",
                &format!("/v1/api-keys/{id}"),
                Some(admin),
                None,
            );
            assert_eq!(res.status, 200, "{}", res.body);
            ("delete", 401)
        }
        1 => {
            let body = json!({"grace_period_seconds": 0}).to_string();
            let path = format!("/v1/api-keys/{id}/rotate");
            let res = http(port, "POST", &path, Some(admin), Some(&body));
            assert_eq!(res.status, 201, "{}", res.body);
            ("rotate out", 401)
        }
        2 => {
            let body = json!({"key": key}).to_string();
            let res = http(port, "POST", "/v1/revoke", None, Some(&body));
            assert_eq!(res.status, 200, "{}", res.body);
            ("leak report", 401)
        }
        _ => {
            let body = json!({"scopes": ["bots:read"]}).to_string();
            let path = format!("/v1/api-keys/{id}");
            let res = http(port, "PATCH", &path, Some(admin), Some(&body));
            assert_eq!(res.status, 200, "{}", res.body);
            ("scope narrowing", 403)
        }
    }
}

/// One try: a new key, admitted (and so cached) by every node; weakened through `writer`;
/// refused by every other node on its very next request. Returns how long the change took.
fn one_try(servers: &[Server], admin: &str, i: usize, writer: usize) -> Duration {
    let (id, key) = create_key(
        servers[writer].port,
        admin,
        json!({"name": format!("try {i}"), "scopes": ["bots:write"]}),
    );
    for s in servers {
        for _ in 0..2 {
            let ok = http(s.port, "GET", "/v1/bots", Some(&key), None);
            assert_eq!(ok.status, 200, "{}", ok.body);
        }
    }
    let started = Instant::now();
    let (change, refused) = weaken(i, servers[writer].port, admin, &id, &key);
    let took = started.elapsed();
    for (n, s) in servers.iter().enumerate() {
        if n == writer {
            continue;
        }
        let next = http(
            s.port,
            "POST",
            "/v1/bots",
            Some(&key),
            Some(r#"{"name":"x"}"#),
        );
        assert_eq!(
            next.status, refused,
            "try {i}: after a {change} through node {writer}, node {n}'s next request: {}",
            next.body
        );
    }
    took
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[test]
fn three_nodes_started_together_migrate_once_and_every_set_up_link_works() {
    let _turn = one_at_a_time();
    let db = database();
    let dir = tempfile::tempdir().expect("dir");
    let servers = nodes(dir.path(), &db, 3, &[("LATCHKEY_REDIS_URL", MACHINE_REDIS)]);
    let mut c = PgConnection::establish(&db.url()).expect("db");
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let applied = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut c)
        .expect("migrations")
        .n;
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .expect("migrations dir")
        .count();
    assert_eq!(applied as usize, shipped, "each migration ran once");
    // Each node printed its own link; each one works on every node until set-up is done.
    let mut tokens = Vec::new();
    for s in &servers {
        let log = s.log();
        assert!(!log.contains("cannot apply migrations"), "{log}");
        let token = log
            .split("/setup?token=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("a set-up link in:\n{log}"))
            .to_owned();
        tokens.push(token);
    }
    for token in &tokens {
        for s in &servers {
            let page = http(s.port, "GET", &format!("/setup?token={token}"), None, None);
            assert_eq!(page.status, 200, "link {token} on port {}", s.port);
        }
    }
    let bogus = http(servers[0].port, "GET", "/setup?token=nonsense", None, None);
    assert_eq!(bogus.status, 404);
    println!(
        "3 simultaneous first starts: {applied} migrations applied once; {} set-up links, each \
         working on all 3 nodes",
        tokens.len()
    );
}

#[test]
fn a_key_weakened_through_any_of_three_nodes_is_refused_by_every_other_on_the_next_request() {
    let _turn = one_at_a_time();
    let db = database();
    let dir = tempfile::tempdir().expect("dir");
    // Every refusal checked here is an invalid key from this address: brakes off, or the
    // hundred-and-first would be a 429.
    let servers = nodes(
        dir.path(),
        &db,
        3,
        &[
            ("LATCHKEY_REDIS_URL", MACHINE_REDIS),
            ("LATCHKEY_FAILED_KEY_LIMIT", "0"),
        ],
    );
    let admin = admin_key(&db);
    for s in &servers {
        node_id(&db, s);
    }
    // 1. All nodes healthy: 1,000 tries, the writer going round the nodes.
    let tries = 1000;
    let mut took: Vec<Duration> = (0..tries)
        .map(|i| one_try(&servers, &admin, i, i % 3))
        .collect();
    took.sort();
    println!(
        "3 nodes: {tries}/{tries} weakened keys refused by both other nodes on their next \
         request; the change took p50 {:?}, p99 {:?}, max {:?}",
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        percentile(&took, 1.0)
    );
    // 2. One node's notification connection cut just before each change.
    let victim = &servers[2];
    let victim_id = node_id(&db, victim);
    let mut cut_took = Vec::new();
    for i in 0..20 {
        assert!(
            cut_listener(&db, &victim_id) || i > 0,
            "the listener was there to cut"
        );
        cut_took.push(one_try(&servers, &admin, tries + i, i % 2));
    }
    cut_took.sort();
    println!(
        "notification connection cut before each change: 20/20 refused; the change took \
         p50 {:?}, max {:?}",
        percentile(&cut_took, 0.5),
        percentile(&cut_took, 1.0)
    );
    // 3. One node stopped (SIGSTOP) during the change: the writer waits out its lease; resumed,
    //    the node refuses the key on its first request.
    for (i, resume_after) in [Duration::from_millis(500), Duration::from_secs(4)]
        .into_iter()
        .enumerate()
    {
        let i = tries + 100 + i;
        let (id, key) = create_key(
            servers[0].port,
            &admin,
            json!({"name": format!("paused {i}"), "scopes": ["bots:write"]}),
        );
        for s in &servers {
            assert_eq!(
                http(s.port, "GET", "/v1/bots", Some(&key), None).status,
                200
            );
        }
        signal(victim, "-STOP");
        let port = servers[0].port;
        let (admin2, id2, key2) = (admin.clone(), id.clone(), key.clone());
        let change = std::thread::spawn(move || {
            let started = Instant::now();
            let outcome = weaken(0, port, &admin2, &id2, &key2);
            (outcome, started.elapsed())
        });
        std::thread::sleep(resume_after);
        signal(victim, "-CONT");
        let ((what, refused), waited) = change.join().expect("change");
        let next = http(victim.port, "GET", "/v1/bots", Some(&key), None);
        assert_eq!(next.status, refused, "after a {what}: {}", next.body);
        let other = http(servers[1].port, "GET", "/v1/bots", Some(&key), None);
        assert_eq!(other.status, refused);
        println!(
            "node stopped during a {what}, resumed after {resume_after:?}: the change waited \
             {waited:?}; the resumed node refused the key on its first request"
        );
    }
}

#[test]
fn a_limit_of_60_a_minute_holds_across_three_nodes() {
    let _turn = one_at_a_time();
    let db = database();
    let dir = tempfile::tempdir().expect("dir");
    let servers = nodes(dir.path(), &db, 3, &[("LATCHKEY_REDIS_URL", MACHINE_REDIS)]);
    let admin = admin_key(&db);
    let (_, key) = create_key(
        servers[0].port,
        &admin,
        json!({"name": "limited", "rate_limit_per_minute": 60}),
    );
    let mut admitted = std::collections::BTreeMap::<String, Vec<i64>>::new();
    for i in 0..150 {
        let res = http(servers[i % 3].port, "GET", "/v1/me", Some(&key), None);
        assert!(matches!(res.status, 200 | 429), "{}", res.body);
        assert_eq!(header(&res, "x-ratelimit-limit"), "60");
        if res.status == 200 {
            let reset = header(&res, "x-ratelimit-reset").to_owned();
            let remaining: i64 = header(&res, "x-ratelimit-remaining")
                .parse()
                .expect("remaining");
            admitted.entry(reset).or_default().push(remaining);
        } else {
            assert!(
                header(&res, "retry-after")
                    .parse::<i64>()
                    .is_ok_and(|s| s >= 1)
            );
        }
    }
    for (reset, remaining) in &admitted {
        // One count for all three nodes: 59, 58, … 0, whichever node answered.
        let expected: Vec<i64> = (0..remaining.len() as i64).map(|n| 59 - n).collect();
        assert_eq!(remaining, &expected, "window ending {reset}");
        assert!(remaining.len() <= 60, "window ending {reset}");
    }
    let total: usize = admitted.values().map(Vec::len).sum();
    println!(
        "limit 60/min, 150 requests over 3 nodes: {total} admitted in {} window(s) \
         (at most 60 each)",
        admitted.len()
    );
}

/// A `redis-server` of this test's own on a free port (never the machine's).
struct ThrowAwayRedis {
    child: Child,
    port: u16,
}

impl ThrowAwayRedis {
    fn start(port: u16) -> ThrowAwayRedis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; .ci/run installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        ThrowAwayRedis { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ThrowAwayRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn with_redis_gone_keys_still_authenticate_and_each_node_limits_alone_until_it_returns() {
    let _turn = one_at_a_time();
    let db = database();
    let dir = tempfile::tempdir().expect("dir");
    let mut redis = ThrowAwayRedis::start(free_port());
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let servers = nodes(
        dir.path(),
        &db,
        3,
        &[("LATCHKEY_REDIS_URL", &url), ("RUST_LOG", "info")],
    );
    let admin = admin_key(&db);
    let limited = |name: &str| {
        create_key(
            servers[0].port,
            &admin,
            json!({"name": name, "rate_limit_per_minute": 30}),
        )
        .1
    };
    // Requests round the nodes; admitted per window (by X-RateLimit-Reset).
    let count = |key: &str, rounds: usize| {
        let mut admitted = std::collections::BTreeMap::<String, usize>::new();
        for i in 0..rounds {
            let res = http(servers[i % 3].port, "GET", "/v1/me", Some(key), None);
            assert!(
                matches!(res.status, 200 | 429),
                "{}: {}",
                res.status,
                res.body
            );
            if res.status == 200 {
                *admitted
                    .entry(header(&res, "x-ratelimit-reset").to_owned())
                    .or_default() += 1;
            }
        }
        admitted
    };
    let key = limited("before");
    let shared = count(&key, 45);
    assert!(shared.values().all(|&n| n <= 30), "shared: {shared:?}");
    redis.stop();
    // Redis gone: every request is still authenticated (never a 5xx, never a wrong 401), and
    // each node counts alone, so more than one node's limit gets through in all.
    let alone: usize = count(&key, 120).values().sum();
    assert!(alone > 30, "each node counts alone: {alone}");
    let unknown = http(servers[1].port, "GET", "/v1/me", Some("sk_live_x"), None);
    assert_eq!(unknown.status, 401);
    let ready = http(servers[0].port, "GET", "/readyz", None, None);
    assert_eq!(
        ready.status, 200,
        "Redis down is no reason to leave the rotation"
    );
    assert!(ready.body.contains("redis: unavailable"), "{}", ready.body);
    // Redis back (empty, on the same port): shared again about a second later, by itself.
    let _redis_back = ThrowAwayRedis::start(redis.port);
    std::thread::sleep(Duration::from_millis(1500));
    let fresh = limited("after");
    let again = count(&fresh, 45);
    assert!(again.values().all(|&n| n <= 30), "shared again: {again:?}");
    assert!(again.values().sum::<usize>() >= 30, "{again:?}");
    let ready = http(servers[0].port, "GET", "/readyz", None, None);
    assert!(ready.body.contains("redis: ok"), "{}", ready.body);
    for s in &servers {
        let log = s.log();
        assert!(log.contains("Redis unavailable"), "{log}");
        assert!(log.contains("Redis is back"), "{log}");
    }
    println!(
        "limit 30/min over 3 nodes: with Redis {shared:?} admitted of 45; Redis stopped: \
         {alone}/120 admitted (each node alone, every request authenticated); Redis back: \
         {again:?} of 45"
    );
}

//! TestApp: the real `build_app` on a fresh database per test, driven in-process with a
//! cookie jar, like one browser. Every test body runs on SQLite, and also on a fresh
//! PostgreSQL database when `TEST_DATABASE_URL` is set (CI sets it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use actix_http::Request;
use actix_service::Service;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use latchkey::clock::Clock;
use latchkey::config::Config;
use latchkey::db::{self, DbConnection};
use latchkey::domain::base62;
use latchkey::startup::build_app;
use latchkey::state::AppState;

/// 2026-01-15T10:00:00Z: every test starts at this instant.
pub const T0: i64 = 1_768_471_200;
/// The password every test user has.
pub const PASSWORD: &str = "correct horse battery staple";

type BoxedService = Box<
    dyn Service<
            Request,
            Response = ServiceResponse<BoxBody>,
            Error = actix_web::Error,
            Future = std::pin::Pin<
                Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>>,
            >,
        >,
>;

/// Which database a test runs on.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on the server of `TEST_DATABASE_URL`.
    Postgres(String),
}

/// The backends to run every test on.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var("TEST_DATABASE_URL")
        && !url.is_empty()
    {
        v.push(Backend::Postgres(url));
    }
    v
}

/// Runs `body` once per backend, each on a fresh app.
pub async fn each_db<F, Fut>(body: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        // Shown with a failing test's output: which backend failed.
        eprintln!("backend: {backend:?}");
        let app = TestApp::spawn(backend).await;
        body(app).await;
    }
}

/// Like [`each_db`], with the test configuration adjusted by `configure`.
pub async fn each_db_with<C, F, Fut>(configure: C, body: F)
where
    C: Fn(&mut Config),
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        eprintln!("backend: {backend:?}");
        let app = TestApp::spawn_with(backend, &configure).await;
        body(app).await;
    }
}

/// Keeps the database alive for the test and removes it afterwards.
enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// A database the test itself looks after.
    External,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self
            && let Ok(mut c) = diesel::PgConnection::establish(admin_url)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

/// A captured response.
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: actix_web::http::header::HeaderMap,
    /// Body as text.
    pub body: String,
}

impl Resp {
    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// The CSRF token embedded in the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self
            .body
            .find(marker)
            .map(|i| i + marker.len())
            .expect("page has a CSRF field");
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }

    /// The revealed secret on a reveal page.
    pub fn revealed_key(&self) -> String {
        let marker = "data-testid=\"revealed-key\"";
        let at = self.body.find(marker).expect("reveal page shows the key");
        let before = &self.body[..at];
        let v = before.rfind("value=\"").expect("value attribute") + 7;
        let end = before[v..].find('"').expect("closing quote") + v;
        before[v..end].to_owned()
    }

    /// Asserts the status, printing the body on failure.
    #[track_caller]
    pub fn assert_status(&self, expected: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            expected,
            "unexpected status; body:\n{}",
            self.body
        );
        self
    }
}

/// The application under test.
pub struct TestApp {
    svc: BoxedService,
    /// The state handed to `build_app` (pool, clock, config).
    pub state: AppState,
    /// Cookies of the current "browser".
    jar: RefCell<HashMap<String, String>>,
    /// `Host` header of the "browser" (an agency's host name brands the pages).
    host: RefCell<String>,
    /// The address requests come from.
    peer: RefCell<std::net::SocketAddr>,
    /// The node's notification listener (PostgreSQL with the key cache on), as a server runs.
    listener: Option<std::thread::JoinHandle<()>>,
    _db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Before the database is dropped: end the lease and the listener's connection.
        self.state.cluster.stop();
        if let Some(listener) = self.listener.take() {
            let _ = listener.join();
        }
    }
}

/// Logs of all tests, to check that no secret is ever logged.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buf
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(data);
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TestApp {
    /// A fresh app on a fresh database of `backend`.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with the test configuration adjusted by `configure`.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        captured_logs();
        let (url, guard) = match &backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (url, TestDb::Sqlite(dir))
            }
            Backend::Postgres(admin_url) => {
                let name = format!("latchkey_test_{}", base62::random(12).to_lowercase());
                let mut admin = diesel::PgConnection::establish(admin_url)
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                (
                    format!("{base}/{name}"),
                    TestDb::Postgres {
                        admin_url: admin_url.clone(),
                        name,
                    },
                )
            }
        };
        let mut app = Self::spawn_on(&url, configure).await;
        app._db = guard;
        app
    }

    /// An app on the existing database at `url` (which the caller keeps and removes).
    pub async fn spawn_on(url: &str, configure: impl FnOnce(&mut Config)) -> TestApp {
        captured_logs();
        let mut config = Config::for_tests(url);
        configure(&mut config);
        let pool = db::connect(url, config.pool_settings(config.db_pool_size))
            .expect("database opens and migrates");
        let vault =
            latchkey::vault::Keyring::new(vec![latchkey::vault::MasterKey::from_bytes([9u8; 32])])
                .expect("vault");
        latchkey::vault::startup::check(&pool, &vault, T0)
            .await
            .expect("vault check");
        let state =
            AppState::new(pool, config, Clock::fixed(T0), &[7u8; 64], vault).expect("state");
        let listener = state.start_listener().expect("listener thread");
        let svc = test::init_service(build_app(state.clone())).await;
        let svc: BoxedService = Box::new(MapBody { inner: svc });
        TestApp {
            svc,
            state,
            listener,
            jar: RefCell::new(HashMap::new()),
            host: RefCell::new("localhost:8080".to_owned()),
            peer: RefCell::new("203.0.113.7:50000".parse().expect("addr")),
            _db: TestDb::External,
        }
    }

    /// Sends the following requests from `addr` (an IP address); returns the previous one.
    pub fn set_peer(&self, addr: &str) -> String {
        let ip: std::net::IpAddr = addr.parse().expect("ip address");
        let old = self.peer.replace(std::net::SocketAddr::new(ip, 50000));
        old.ip().to_string()
    }

    /// The fixed clock.
    pub fn clock(&self) -> &Clock {
        &self.state.clock
    }

    /// Runs a closure with a database connection.
    pub fn db<T>(&self, f: impl FnOnce(&mut DbConnection) -> T) -> T {
        let mut conn = self.state.pool.get().expect("pooled connection");
        f(&mut conn)
    }

    /// Sends the following requests with this `Host` header; returns the previous one.
    pub fn set_host(&self, host: &str) -> String {
        self.host.replace(host.to_owned())
    }

    /// Replaces the cookie jar (switch "browser"), returning the old one.
    pub fn swap_cookies(&self, jar: HashMap<String, String>) -> HashMap<String, String> {
        self.jar.replace(jar)
    }

    /// A copy of the current cookies.
    pub fn cookies(&self) -> HashMap<String, String> {
        self.jar.borrow().clone()
    }

    /// Sends a request with the jar's cookies and stores the cookies it sets.
    pub async fn send(&self, req: TestRequest) -> Resp {
        let host = self.host.borrow().clone();
        let peer = *self.peer.borrow();
        let mut req = req.insert_header(("host", host)).peer_addr(peer);
        let cookie_header: Vec<String> = self
            .jar
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !cookie_header.is_empty() {
            req = req.insert_header(("cookie", cookie_header.join("; ")));
        }
        let req = req.to_request();
        let res = match self.svc.call(req).await {
            Ok(res) => res,
            // What the server does with an error no middleware turned into a response.
            Err(e) => {
                let res = e.error_response();
                let head = TestRequest::default().to_http_request();
                ServiceResponse::new(head, res)
            }
        };
        for c in res.response().cookies() {
            let expired =
                c.max_age().is_some_and(|a| a.is_zero() || a.is_negative()) || c.value().is_empty();
            if expired {
                self.jar.borrow_mut().remove(c.name());
            } else {
                self.jar
                    .borrow_mut()
                    .insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let body = test::read_body(res).await;
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// GET as a plain browser navigation.
    pub async fn get(&self, path: &str) -> Resp {
        self.send(TestRequest::get().uri(path)).await
    }

    /// GET as htmx.
    pub async fn get_htmx(&self, path: &str) -> Resp {
        self.send(
            TestRequest::get()
                .uri(path)
                .insert_header(("HX-Request", "true")),
        )
        .await
    }

    /// POST a urlencoded form (pairs may repeat keys).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.send(form_request(path, form)).await
    }

    /// POST a form as htmx (token in the header, as `hx-headers` sends it).
    pub async fn post_htmx(&self, path: &str, csrf: &str, form: &[(&str, &str)]) -> Resp {
        self.send(
            form_request(path, form)
                .insert_header(("HX-Request", "true"))
                .insert_header(("X-CSRF-Token", csrf)),
        )
        .await
    }

    /// Creates the owner and first team through the real set-up page; returns the team slug.
    pub async fn set_up(&self, email: &str, team: &str) -> String {
        let token = base62::random(32);
        let now = self.clock().now();
        self.db(|c| latchkey::models::setup::add(c, &token, now))
            .expect("store token");
        let page = self.get(&format!("/setup?token={token}")).await;
        page.assert_status(200);
        let res = self
            .post(
                "/setup",
                &[
                    ("csrf_token", &page.csrf()),
                    ("token", &token),
                    ("name", "Ada Owner"),
                    ("email", email),
                    ("password", PASSWORD),
                    ("team", team),
                ],
            )
            .await;
        res.assert_status(303);
        res.location()
            .strip_prefix("/teams/")
            .and_then(|r| r.strip_suffix("/settings/api-keys"))
            .expect("redirect to the team's key page")
            .to_owned()
    }

    /// Signs in through the real form (in the current jar).
    pub async fn sign_in(&self, email: &str, password: &str) -> Resp {
        let page = self.get("/login").await;
        self.post(
            "/login",
            &[
                ("csrf_token", &page.csrf()),
                ("email", email),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }

    /// Adds a user with `role` to the team `slug` directly in the database.
    pub async fn add_member(&self, slug: &str, email: &str, role: latchkey::domain::role::Role) {
        use diesel::prelude::*;
        use latchkey::db::schema::teams;
        let hash = self
            .state
            .passwords
            .hash(latchkey::domain::inputs::Password::parse_new(PASSWORD.to_owned()).expect("pw"))
            .await
            .expect("hash");
        let now = self.clock().now();
        self.db(|c| {
            let team_id: String = teams::table
                .filter(teams::slug.eq(slug))
                .select(teams::id)
                .first(c)
                .expect("team");
            let id = latchkey::domain::ids::UserId::generate();
            latchkey::models::user::User::insert(
                c,
                &latchkey::models::user::NewUser {
                    id: id.as_str(),
                    email,
                    name: email,
                    password_hash: &hash,
                    created_at: now,
                },
            )
            .expect("user");
            latchkey::models::team::add_member(
                c,
                &latchkey::domain::ids::TeamId::from_db(team_id),
                &id,
                role,
                now,
            )
            .expect("membership");
        });
    }

    /// Creates a key through the dashboard (no JS); returns (reveal response, secret).
    pub async fn create_key(&self, slug: &str, fields: &[(&str, &str)]) -> (Resp, String) {
        let form = self
            .get(&format!("/teams/{slug}/settings/api-keys/new"))
            .await;
        form.assert_status(200);
        let csrf = form.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", &csrf)];
        all.extend_from_slice(fields);
        let res = self
            .post(&format!("/teams/{slug}/settings/api-keys"), &all)
            .await;
        res.assert_status(200);
        let secret = res.revealed_key();
        (res, secret)
    }
}

fn form_request(path: &str, form: &[(&str, &str)]) -> TestRequest {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

/// Adapts the app's service to one with a boxed body, so TestApp has a nameable type.
struct MapBody<S> {
    inner: S,
}

impl<S, B> Service<Request> for MapBody<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>>>>;

    actix_service::forward_ready!(inner);

    fn call(&self, req: Request) -> Self::Future {
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map(ServiceResponse::map_into_boxed_body) })
    }
}

impl TestApp {
    /// The CSRF token of the current session, read from the team's key page.
    pub async fn csrf_of_session(&self, slug: &str) -> String {
        self.get(&format!("/teams/{slug}/settings/api-keys"))
            .await
            .csrf()
    }
}

/// What a test key should be.
pub struct KeySpec<'a> {
    /// Team slug.
    pub team: &'a str,
    /// Scopes (wire names).
    pub scopes: &'a [&'a str],
    /// `live` / `test`.
    pub mode: &'a str,
}

impl TestApp {
    /// Creates a key directly in the database (the dashboard flow is tested elsewhere);
    /// returns (record id, secret).
    pub fn make_key(&self, spec: KeySpec<'_>) -> (String, String) {
        use diesel::prelude::*;
        use latchkey::db::schema::teams;
        use latchkey::domain::api_key_secret::KeyMode;
        use latchkey::domain::scope::{Scope, ScopeSet};
        use latchkey::models::api_key::{ApiKey, KeySettings};
        let now = self.clock().now();
        self.db(|c| {
            let team_id: String = teams::table
                .filter(teams::slug.eq(spec.team))
                .select(teams::id)
                .first(c)
                .expect("team");
            let mut scopes = ScopeSet::empty();
            for s in spec.scopes {
                scopes.insert(Scope::parse(s).expect("scope"));
            }
            let settings = KeySettings {
                name: format!("key {}", base62::random(6)),
                scopes,
                mode: KeyMode::parse(spec.mode).expect("mode"),
                environment: None,
                expires_at: None,
                rate_limit_per_minute: None,
                ip_allowlist: None,
            };
            let id = latchkey::domain::ids::ApiKeyId::generate();
            let (key, secret) = ApiKey::insert(
                c,
                &id,
                &latchkey::domain::ids::TeamId::from_db(team_id),
                &settings,
                None,
                now,
            )
            .expect("insert key");
            (key.id.into(), secret.expose().to_owned())
        })
    }

    /// Calls the API with a bearer key and an optional JSON body.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<serde_json::Value>,
    ) -> Resp {
        let mut req = TestRequest::default()
            .method(method.parse().expect("method"))
            .uri(&format!("/v1{path}"))
            .insert_header(("authorization", format!("Bearer {key}")));
        if let Some(b) = body {
            req = req
                .insert_header(("content-type", "application/json"))
                .set_payload(b.to_string());
        }
        self.send(req).await
    }
}

impl Resp {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl TestApp {
    /// Creates a team owned by the existing user `email`; returns its slug.
    pub fn team_owned_by(&self, email: &str, name: &str) -> String {
        use diesel::prelude::*;
        use latchkey::db::schema::users;
        self.db(|c| {
            let uid: String = users::table
                .filter(users::email.eq(email))
                .select(users::id)
                .first(c)
                .expect("user exists");
            latchkey::models::team::Team::create_with_owner(
                c,
                name,
                &latchkey::domain::ids::UserId::from_db(uid),
                0,
            )
            .expect("team")
            .slug
        })
    }
}

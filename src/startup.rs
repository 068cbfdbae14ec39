//! AppState and build_app: the ONE place where routes and middleware are assembled.

use std::time::Instant;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpResponse, ResponseError, web};
use futures_util::future::Either;

use crate::auth::csrf;
use crate::auth::password::Passwords;
use crate::auth::session_store::DbSessionStore;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::DbPool;
use crate::web::error::PageError;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub pool: DbPool,
    /// Resolved configuration.
    pub config: Config,
    /// Now.
    pub clock: Clock,
    /// Password hashing with bounded concurrency.
    pub passwords: Passwords,
    /// Cookie encryption key (derived from the secret key).
    pub cookie_key: Key,
    /// Per-key request windows, shared by all workers.
    pub rate_limiter: std::sync::Arc<crate::ratelimit::RateLimiter>,
    /// Key usage gathered in memory, flushed in batches.
    pub usage: std::sync::Arc<crate::usage::UsageRecorder>,
    /// Key records for the authentication hot path.
    pub key_cache: std::sync::Arc<crate::key_cache::KeyCache>,
}

impl AppState {
    /// Assembles the state; `secret` is the configured or generated secret key (≥ 32 bytes).
    pub fn new(
        pool: DbPool,
        config: Config,
        clock: Clock,
        secret: &[u8],
    ) -> Result<Self, crate::error::AppError> {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            passwords: Passwords::new(config.password_params, parallel)?,
            cookie_key: Key::derive_from(secret),
            rate_limiter: Default::default(),
            usage: Default::default(),
            key_cache: std::sync::Arc::new(crate::key_cache::KeyCache::new(
                config.key_cache,
                config.worker_count(),
            )),
            pool,
            config,
            clock,
        })
    }
}

impl AppState {
    /// The client's address: the peer, or — behind configured trusted proxies — the forwarded
    /// one. Used for audit events, usage and IP allowlists alike.
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<String> {
        crate::api::auth::client_ip(req, &self.config.trusted_proxies).map(|ip| ip.to_string())
    }

    /// Who acts on `team`, from where and when: what this request's audit events record.
    pub fn actor(
        &self,
        team: crate::domain::ids::TeamId,
        user: Option<crate::domain::ids::UserId>,
        req: &actix_web::HttpRequest,
    ) -> crate::models::audit::Actor {
        crate::models::audit::Actor {
            team,
            user,
            agency: None,
            ip: self.client_ip(req),
            at: self.clock.now(),
        }
    }

    /// Call after a key's record changed (committed), before answering: the next request
    /// with that key must see the change.
    pub fn key_changed(&self, key_id: &str) {
        self.key_cache.invalidate_key(key_id);
    }

    /// Call after a team's settings changed (committed), before answering.
    pub fn team_changed(&self, team_id: &str) {
        self.key_cache.invalidate_team(team_id);
    }
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
                   object-src 'none'; frame-ancestors 'none'";

/// The whole application: dashboard, static assets, health check.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sessions = SessionMiddleware::builder(
        DbSessionStore::new(state.pool.clone(), state.clock.clone()),
        state.cookie_key.clone(),
    )
    .cookie_name("latchkey_session".to_owned())
    .cookie_secure(state.config.cookie_secure)
    .cookie_http_only(true)
    .cookie_same_site(SameSite::Lax)
    .session_lifecycle(
        PersistentSession::default()
            .session_ttl(actix_web::cookie::time::Duration::seconds(
                state.config.session_idle_secs,
            ))
            .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
    )
    .build();
    let public_url = state.config.public_url.clone();

    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PathConfig::default().error_handler(|_, _| PageError::NotFound.into()))
        .app_data(web::QueryConfig::default().error_handler(|_, _| PageError::NotFound.into()))
        .route("/healthz", web::get().to(healthz))
        .service(
            // No session middleware here: /v1 ignores cookies; keys are the only credential.
            web::scope("/v1").configure(crate::api::routes),
        )
        .route("/static/{path:.*}", web::get().to(crate::assets::serve))
        // Brand assets are public (the sign-in page of an agency's host shows them) and
        // session-free, like /static.
        .route(
            "/brand/{agency}/brand.css",
            web::get().to(crate::web::brand::stylesheet),
        )
        .route(
            "/brand/{agency}/logo",
            web::get().to(crate::web::brand::logo),
        )
        .service(
            web::scope("")
                .wrap(sessions)
                .wrap_fn(|req, srv| {
                    let host = crate::web::brand::request_host(req.request());
                    let state = req.app_data::<web::Data<AppState>>().cloned();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?.map_into_boxed_body();
                        let parts = res
                            .response()
                            .extensions()
                            .get::<crate::web::error::ErrorPageParts>()
                            .copied();
                        match (parts, state) {
                            (Some(parts), Some(state)) if host.is_some() || state.config.demo => {
                                Ok(rebrand_error_page(res, parts, host, state).await)
                            }
                            _ => Ok(res),
                        }
                    }
                })
                .configure(crate::web::routes)
                .default_service(web::to(|| async { PageError::NotFound.error_response() })),
        )
        .wrap_fn(move |req, srv| {
            let rejection = refusal(&req, &public_url);
            let started = Instant::now();
            let method = req.method().clone();
            // The path only: query strings may carry one-time tokens.
            let path = req.path().to_owned();
            let outcome = match rejection {
                Some(res) => Either::Left(req.into_response(res)),
                None => Either::Right(srv.call(req)),
            };
            async move {
                let mut res = match outcome {
                    Either::Left(early) => early.map_into_right_body(),
                    Either::Right(fut) => fut.await?.map_into_left_body(),
                };
                // Here rather than in a middleware of the /v1 scope: one layer less on the
                // API's hot path (measured, docs/benchmarks.md).
                add_rate_limit_headers(&mut res);
                let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                tracing::info!(%method, %path, status = res.status().as_u16(), ms, "request");
                Ok(res)
            }
        })
        .wrap(
            DefaultHeaders::new()
                .add((
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                ))
                .add((
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .add((
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .add((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"))),
        )
}

/// Redraws an error page in the brand of the agency that claimed the request's host (and with
/// the demo banner on a demo server).
async fn rebrand_error_page(
    res: ServiceResponse<actix_web::body::BoxBody>,
    parts: crate::web::error::ErrorPageParts,
    host: Option<String>,
    state: web::Data<AppState>,
) -> ServiceResponse<actix_web::body::BoxBody> {
    let brand = crate::error::with_conn(&state.pool, move |c| {
        Ok(crate::web::brand::Brand::resolve(c, host.as_deref(), None)?)
    })
    .await;
    let demo = state.config.demo;
    match brand {
        Ok(brand) if brand.agency_id.is_some() || demo => {
            match parts.render(brand.for_state(&state)) {
                Some(html) => res.map_body(|_, _| actix_web::body::BoxBody::new(html)),
                None => res,
            }
        }
        _ => res,
    }
}

const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// `X-RateLimit-*` on every response of a request whose key reached the rate limiter (API
/// requests only: nothing else records a decision).
fn add_rate_limit_headers<B>(res: &mut ServiceResponse<B>) {
    let decision = res
        .request()
        .extensions()
        .get::<crate::ratelimit::RateDecision>()
        .copied();
    if let Some(d) = decision {
        let headers = res.headers_mut();
        headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(d.limit));
        headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(d.remaining));
        headers.insert(X_RATELIMIT_RESET, HeaderValue::from(d.reset_at));
    }
}

/// Requests refused before routing: compressed bodies (the unbounded-decompression advisory
/// against actix-web ≤ 4.18.1 — refusing is safer than decompressing) and unsafe dashboard
/// requests from another origin.
fn refusal(req: &ServiceRequest, public_url: &str) -> Option<HttpResponse> {
    if req.headers().contains_key(header::CONTENT_ENCODING) {
        if req.path().starts_with("/v1/") {
            return Some(crate::api::error::ApiError::UnsupportedMediaType.error_response());
        }
        return Some(
            HttpResponse::UnsupportedMediaType()
                .content_type("text/plain; charset=utf-8")
                .body("Compressed request bodies are not accepted."),
        );
    }
    let unsafe_ui = csrf::is_unsafe(req.method()) && !req.path().starts_with("/v1/");
    if unsafe_ui && !csrf::same_origin(req.request(), public_url) {
        return Some(PageError::CsrfRejected.error_response());
    }
    None
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

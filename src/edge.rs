//! What every request meets before routing, and every response after it: refusals that need
//! no route (compressed bodies, oversized heads, two session cookies, cross-origin form posts,
//! braked addresses), a deadline on receiving the body, the surface's security headers,
//! `Cache-Control: no-store` on dashboard pages, and the count of not-found probes.
//! Assembled into the app by `startup::build_app`.

use std::time::Duration;

use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpResponse, ResponseError};

use crate::api::error::ApiError;
use crate::auth::csrf::{self, OriginVerdict};
use crate::state::AppState;
use crate::web::error::PageError;

/// Largest request head (target + header names and values) accepted, bytes.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// Which surface a path belongs to: it decides the headers and the error format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// `/v1`: JSON, keys only.
    Api,
    /// Pages and form posts, with sessions.
    Dashboard,
    /// Static files, brand assets, health checks: public, cacheable, no session.
    Asset,
}

impl Surface {
    /// Its name in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Dashboard => "dashboard",
            Self::Asset => "asset",
        }
    }

    /// The surface of `path`.
    pub fn of(path: &str) -> Self {
        if path == "/v1" || path.starts_with("/v1/") {
            Self::Api
        } else if path.starts_with("/static/")
            || path.starts_with("/brand/")
            || path == "/healthz"
            || path == "/readyz"
        {
            Self::Asset
        } else {
            Self::Dashboard
        }
    }
}

/// What the checks before routing decided.
pub enum Checked {
    /// Let the request through (its body, if any, now under a deadline).
    Pass(Surface),
    /// Answer with this instead.
    Refuse(HttpResponse),
}

/// The checks before routing.
pub fn before(req: &mut ServiceRequest, state: &AppState) -> Checked {
    let surface = Surface::of(req.path());
    let refuse = |api: ApiError, page: PageError| match surface {
        Surface::Api => Checked::Refuse(api.error_response()),
        _ => Checked::Refuse(page.error_response()),
    };
    if head_size(req) > MAX_HEAD_BYTES {
        return refuse(ApiError::HeadersTooLarge, PageError::HeadersTooLarge);
    }
    // The unbounded-decompression advisory against actix-web ≤ 4.18.1: refusing compressed
    // bodies is safer than decompressing them.
    if req.headers().contains_key(header::CONTENT_ENCODING) {
        return refuse(
            ApiError::UnsupportedMediaType,
            PageError::UnsupportedMediaType,
        );
    }
    if surface == Surface::Dashboard
        && let Some(refusal) = dashboard_checks(req, state)
    {
        return Checked::Refuse(refusal);
    }
    if has_body(req) {
        let payload = req.take_payload();
        req.set_payload(Payload::Stream {
            payload: Box::pin(crate::deadline::Deadline::new(
                payload,
                Duration::from_secs(state.config.body_timeout_seconds),
            )),
        });
    }
    Checked::Pass(surface)
}

/// The dashboard's own refusals, if any applies.
fn dashboard_checks(req: &mut ServiceRequest, state: &AppState) -> Option<HttpResponse> {
    if session_cookies(req, state.session_cookie_name()) > 1 {
        return Some(conflicting_sessions(state));
    }
    let ip = crate::net::client_ip(req.request(), &state.config.trusted_proxies);
    if let Some(wait) = state.probes.not_found.check(ip, state.clock.now()) {
        return Some(PageError::TooManyRequests { retry_after: wait }.error_response());
    }
    if csrf::is_unsafe(req.method()) {
        let host = crate::web::brand::request_host(req.request());
        match csrf::origin_verdict(req.request(), &state.config.public_url, host) {
            OriginVerdict::Allowed => {}
            OriginVerdict::Refused => return Some(PageError::CsrfRejected.error_response()),
            // The form extractor confirms (asynchronously) that an agency claimed the host.
            OriginVerdict::IfHostClaimed(host) => {
                req.extensions_mut().insert(host);
            }
        }
    }
    None
}

/// The checks after the handler: headers and the not-found count.
pub fn after<B>(res: &mut ServiceResponse<B>, surface: Surface, state: &AppState) {
    match surface {
        Surface::Api => {
            add_rate_limit_headers(res);
            crate::security_headers::apply(res.headers_mut(), &crate::security_headers::API);
        }
        Surface::Dashboard => {
            if res.status() == actix_web::http::StatusCode::NOT_FOUND {
                let ip = crate::net::client_ip(res.request(), &state.config.trusted_proxies);
                let shared = state.shared_limits.as_ref();
                let now = state.clock.now();
                state
                    .probes
                    .fail(crate::probes::Kind::NotFound, shared, ip, now);
            }
            let headers = res.headers_mut();
            // Pages show team data: no browser or proxy cache may keep them.
            if !headers.contains_key(header::CACHE_CONTROL) {
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            crate::security_headers::apply(headers, &crate::security_headers::HTML);
        }
        Surface::Asset => {
            crate::security_headers::apply(res.headers_mut(), &crate::security_headers::HTML)
        }
    }
}

/// Request target plus every header name and value.
fn head_size(req: &ServiceRequest) -> usize {
    let target = req.uri().path().len() + req.uri().query().map_or(0, str::len);
    req.headers()
        .iter()
        .fold(target, |n, (k, v)| n + k.as_str().len() + v.len())
}

fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// How many cookies named `name` the request carries (all `Cookie` headers).
fn session_cookies(req: &ServiceRequest, name: &str) -> usize {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter(|pair| pair.trim_start().split('=').next() == Some(name))
        .count()
}

/// Two session cookies: one may have been planted ("cookie tossing") to sign the victim into
/// an attacker's account. Refuse, and drop ours so the next visit starts clean.
fn conflicting_sessions(state: &AppState) -> HttpResponse {
    let mut res = PageError::ConflictingSessions.error_response();
    let name = state.session_cookie_name();
    let mut expire = actix_web::cookie::Cookie::build(name, "")
        .path("/")
        .http_only(true)
        .secure(state.config.cookie_secure)
        .finish();
    expire.make_removal();
    if let Ok(value) = HeaderValue::from_str(&expire.to_string()) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
    res
}

const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// `X-RateLimit-*` on every response of a request whose key reached the rate limiter. Here
/// rather than in a middleware of the `/v1` scope: one layer less on the API's hot path
/// (measured, docs/benchmarks.md).
fn add_rate_limit_headers<B>(res: &mut ServiceResponse<B>) {
    let decision = res
        .request()
        .extensions()
        .get::<crate::keycheck::ratelimit::RateDecision>()
        .copied();
    if let Some(d) = decision {
        let headers = res.headers_mut();
        headers.insert(X_RATELIMIT_LIMIT, HeaderValue::from(d.limit));
        headers.insert(X_RATELIMIT_REMAINING, HeaderValue::from(d.remaining));
        headers.insert(X_RATELIMIT_RESET, HeaderValue::from(d.reset_at));
    }
}

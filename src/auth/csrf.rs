//! CSRF defence, two layers: a per-session token (hidden `csrf_token` field, or the
//! `X-CSRF-Token` header that htmx sends from `hx-headers`), checked by the form extractor;
//! and an `Origin` / `Sec-Fetch-Site` check on every unsafe method, in middleware.

use actix_session::Session;
use actix_web::HttpRequest;
use actix_web::http::Method;
use subtle::ConstantTimeEq;

use crate::domain::base62;

const SESSION_KEY: &str = "csrf";
/// Header htmx sends the token in.
pub const HEADER: &str = "x-csrf-token";
/// Form field carrying the token.
pub const FIELD: &str = "csrf_token";

/// The session's token, created on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(SESSION_KEY) {
        return t;
    }
    let t = base62::random(43);
    // Failing to store only means the next form post is refused; not worth a 500 here.
    let _ = session.insert(SESSION_KEY, &t);
    t
}

/// Constant-time comparison of a presented token with the session's.
pub fn verify(session: &Session, presented: Option<&str>) -> bool {
    let Ok(Some(expected)) = session.get::<String>(SESSION_KEY) else {
        return false;
    };
    match presented {
        Some(p) if !p.is_empty() => bool::from(p.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

/// True for methods that change state.
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The browser-provenance check: a cross-site `Sec-Fetch-Site`, an `Origin` of `null`, or an
/// `Origin` that is neither the public URL nor this request's own host is refused.
pub fn same_origin(req: &HttpRequest, public_url: &str) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    let Some(origin) = headers.get("origin") else {
        // Non-browser clients send no Origin; the token still protects them.
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if origin == public_url {
        return true;
    }
    let info = req.connection_info();
    origin == format!("{}://{}", info.scheme(), info.host())
}

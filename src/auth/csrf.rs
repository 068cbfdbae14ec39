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

/// What the browser-provenance check decided.
#[derive(Debug)]
pub enum OriginVerdict {
    /// Same origin as the public URL, or a client that sends no `Origin` (the token still
    /// protects those).
    Allowed,
    /// Cross-site, `null`, or an origin that is not ours.
    Refused,
    /// The origin is this request's own host (`Host`, never forwarded headers), which is ours
    /// only if an agency claimed it as a host name: the form extractor looks that up.
    IfHostClaimed(HostToConfirm),
}

/// A host name an agency must have claimed for the request's `Origin` to count as ours.
#[derive(Clone, Debug)]
pub struct HostToConfirm(pub String);

/// The browser-provenance check: a cross-site `Sec-Fetch-Site` or an `Origin` other than the
/// configured public URL is refused, except an agency's own host name (confirmed later).
/// `X-Forwarded-Host` and `Forwarded` are never consulted: a client can send them.
/// `host_name` is the request's `Host`, normalised (lower case, no port).
pub fn origin_verdict(
    req: &HttpRequest,
    public_url: &str,
    host_name: Option<String>,
) -> OriginVerdict {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return OriginVerdict::Refused;
    }
    let Some(origin) = headers.get("origin") else {
        return OriginVerdict::Allowed;
    };
    let Ok(origin) = origin.to_str() else {
        return OriginVerdict::Refused;
    };
    if origin == public_url {
        return OriginVerdict::Allowed;
    }
    // Agency host names are served under the public URL's scheme.
    let scheme = public_url.split_once("://").map_or("https", |(s, _)| s);
    let host = headers.get("host").and_then(|v| v.to_str().ok());
    match (
        origin
            .strip_prefix(scheme)
            .and_then(|o| o.strip_prefix("://")),
        host,
    ) {
        (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host) => {
            match host_name {
                Some(name) => OriginVerdict::IfHostClaimed(HostToConfirm(name)),
                None => OriginVerdict::Refused,
            }
        }
        _ => OriginVerdict::Refused,
    }
}

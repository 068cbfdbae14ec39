//! The security headers of each surface, written once: the edge middleware adds them to every
//! response, and error pages rendered outside it (a failed session store) carry them too.

use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Pages: scripts and styles from our own origin only, never framed, no inline code.
const HTML_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                        font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
                        object-src 'none'; frame-ancestors 'none'";

/// JSON: nothing in a response of ours is ever meant to load or run anything.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

/// Headers of dashboard pages, static files and brand assets.
pub const HTML: [(HeaderName, HeaderValue); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(HTML_CSP),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    // A page we open in a new window cannot reach back into ours (and vice versa).
    (COOP, HeaderValue::from_static("same-origin")),
];

/// Headers of `/v1` responses.
pub const API: [(HeaderName, HeaderValue); 3] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(API_CSP),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
];

/// Adds each of `set` that the response does not already carry.
pub fn apply(headers: &mut HeaderMap, set: &[(HeaderName, HeaderValue)]) {
    for (name, value) in set {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), value.clone());
        }
    }
}

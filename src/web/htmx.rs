//! htmx request detection and the one rule for full page vs fragment.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};

/// Whether to render only the `content` block.
#[derive(Clone, Copy, Debug)]
pub struct Htmx {
    /// `HX-Request: true`, not a history restore, not boosted.
    pub fragment: bool,
}

impl Htmx {
    /// Reads the request headers.
    pub fn from_headers(req: &HttpRequest) -> Self {
        let h = req.headers();
        let is = |name: &str| h.get(name).is_some_and(|v| v.as_bytes() == b"true");
        Self {
            fragment: is("hx-request") && !is("hx-history-restore-request") && !is("hx-boosted"),
        }
    }
}

impl FromRequest for Htmx {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::from_headers(req)))
    }
}

/// Marks a response that shows a one-time secret (a key, an invitation link, a set-up form) so
/// no browser or proxy cache keeps it.
pub fn no_store(mut res: actix_web::HttpResponse) -> actix_web::HttpResponse {
    let headers = res.headers_mut();
    headers.insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    headers.insert(
        actix_web::http::header::PRAGMA,
        actix_web::http::header::HeaderValue::from_static("no-cache"),
    );
    res
}

/// Renders `$page` whole, or only its `content` block for htmx, as an `HttpResponse` builder
/// result with `Vary: HX-Request`. Usage: `render!(htmx, StatusCode::OK, page)`.
#[macro_export]
macro_rules! render {
    ($htmx:expr, $status:expr, $page:expr) => {{
        let page = $page;
        let body = if $htmx.fragment {
            askama::Template::render(&page.as_content())
        } else {
            askama::Template::render(&page)
        };
        body.map(|body| {
            actix_web::HttpResponse::build($status)
                .insert_header(("Content-Type", "text/html; charset=utf-8"))
                .insert_header(("Vary", "HX-Request"))
                .body(body)
        })
    }};
}

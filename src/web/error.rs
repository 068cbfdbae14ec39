//! Error pages. Users get a short, safe explanation; the log gets the cause.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::db::Outage;
use crate::error::{AppError, RETRY_AFTER_UNAVAILABLE};

/// A dashboard request that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in: redirect to sign-in and come back to `next`.
    #[error("sign-in required")]
    SignInRequired {
        /// Path to return to.
        next: String,
    },
    /// A team or agency the page belongs to requires a second factor the user has not set up:
    /// redirect to setting it up.
    #[error("second factor required")]
    SecondFactorRequired,
    /// Unknown, or not yours (identical on purpose).
    #[error("not found")]
    NotFound,
    /// Known to you, but your role does not allow it.
    #[error("forbidden")]
    Forbidden,
    /// Missing/wrong CSRF token or a cross-site request.
    #[error("csrf rejected")]
    CsrfRejected,
    /// Throttled.
    #[error("too many requests")]
    TooManyRequests {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// A request we cannot read (wrong content type, malformed body).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A body over the limit.
    #[error("payload too large: {0}")]
    PayloadTooLarge(&'static str),
    /// The body did not arrive in time.
    #[error("request timeout")]
    RequestTimeout,
    /// A request head over the limit.
    #[error("headers too large")]
    HeadersTooLarge,
    /// A compressed body (refused rather than decompressed).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The browser sent two session cookies.
    #[error("conflicting session cookies")]
    ConflictingSessions,
    /// The page exists, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The server cannot do this right now: the database is down, full, locked or read-only
    /// (`Some`), or too many passwords are being checked at once (`None`). 503 + Retry-After.
    #[error("unavailable: {0}")]
    Unavailable(String, Option<Outage>),
    /// Anything unexpected.
    #[error(transparent)]
    Internal(AppError),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unavailable { outage, .. } => Self::Unavailable(e.to_string(), Some(outage)),
            AppError::HashingBusy => Self::Unavailable(e.to_string(), None),
            other => Self::Internal(other),
        }
    }
}

/// Title and message of a 503 page, by cause.
fn unavailable_words(outage: Option<Outage>) -> (&'static str, &'static str) {
    match outage {
        Some(Outage::StorageFull) => (
            "Storage full",
            "The server is out of disk space, so nothing was saved. Your change was not \
             applied; try again once space has been freed.",
        ),
        Some(Outage::ReadOnly) => (
            "Read-only for now",
            "The database accepts no changes at the moment, so nothing was saved. Try again \
             shortly.",
        ),
        Some(Outage::Busy) => (
            "Busy",
            "The database was busy with other changes, so nothing was saved. Try again in a \
             few seconds.",
        ),
        Some(Outage::ConnectionLost | Outage::Unreachable | Outage::Io) => (
            "Temporarily unavailable",
            "The service cannot reach its database right now. Nothing was changed; try again in \
             a few seconds.",
        ),
        None => (
            "Busy",
            "Too many sign-ins are being checked at once. Try again in a few seconds.",
        ),
    }
}

impl PageError {
    /// An unexpected internal condition.
    pub fn internal(msg: &str) -> Self {
        Self::Internal(AppError::Internal(msg.to_owned()))
    }
}

impl From<diesel::result::Error> for PageError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    brand: super::brand::Brand,
    status: u16,
    title: &'a str,
    message: &'a str,
    /// A 503: the message is also the notice an htmx form shows above itself.
    notice: bool,
}

/// What an error page said, kept on the response so the dashboard scope can redraw it in an
/// agency's brand when the request came in on that agency's host (`error_response` has no
/// request to look at).
#[derive(Clone, Copy, Debug)]
pub struct ErrorPageParts {
    status: u16,
    title: &'static str,
    message: &'static str,
    notice: bool,
}

impl ErrorPageParts {
    /// The page again, in `brand`.
    pub fn render(&self, brand: super::brand::Brand) -> Option<String> {
        ErrorPage {
            brand,
            status: self.status,
            title: self.title,
            message: self.message,
            notice: self.notice,
        }
        .render()
        .ok()
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignInRequired { .. } | Self::SecondFactorRequired => StatusCode::SEE_OTHER,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ConflictingSessions => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let to = match self {
            Self::SignInRequired { next } => Some(format!("/login?next={}", urlencode(next))),
            Self::SecondFactorRequired => Some(super::urls::ACCOUNT.to_owned()),
            _ => None,
        };
        if let Some(location) = to {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location.clone()))
                // htmx follows redirects inside XHR; this makes it navigate the page instead.
                .insert_header(("HX-Redirect", location))
                .finish();
        }
        let (title, message) = match self {
            Self::NotFound => (
                "Page not found",
                "There is nothing here, or you do not have access to it.",
            ),
            Self::Forbidden => (
                "Not allowed",
                "Your role in this team does not allow this action. Ask an owner or admin.",
            ),
            Self::CsrfRejected => (
                "Request refused",
                "This form was stale or came from another site. Go back, reload the page and try again.",
            ),
            Self::TooManyRequests { .. } => (
                "Too many attempts",
                "Too many attempts in a short time. Wait a moment and try again.",
            ),
            Self::BadRequest(msg) => ("Bad request", *msg),
            Self::PayloadTooLarge(msg) => ("Too large", *msg),
            Self::RequestTimeout => (
                "Request timed out",
                "The form took too long to arrive. Nothing was changed; please send it again.",
            ),
            Self::HeadersTooLarge => (
                "Request too large",
                "The request carried too many or too large headers or cookies.",
            ),
            Self::UnsupportedMediaType => (
                "Unsupported request",
                "Compressed request bodies are not accepted.",
            ),
            Self::MethodNotAllowed => (
                "Method not allowed",
                "This page does not accept that kind of request.",
            ),
            Self::ConflictingSessions => (
                "Sign in again",
                "Your browser sent two Latchkey session cookies, so we cannot tell which \
                 account is yours. Both were ignored; sign in again.",
            ),
            Self::Unavailable(cause, outage) => {
                tracing::warn!(error = %cause, "dashboard request refused: unavailable");
                unavailable_words(*outage)
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    "Something went wrong",
                    "The request could not be completed. Nothing was changed; please try again.",
                )
            }
            // Answered with a redirect above; kept for completeness of the match.
            Self::SignInRequired { .. } | Self::SecondFactorRequired => {
                ("Sign in", "Please sign in.")
            }
        };
        let status = self.status_code();
        let notice = matches!(self, Self::Unavailable(..));
        let body = ErrorPage {
            brand: Default::default(),
            status: status.as_u16(),
            title,
            message,
            notice,
        }
        .render()
        .unwrap_or_else(|_| title.to_owned());
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if notice {
            // For htmx: the form (or page) stays as it is, with the input the user typed, and
            // the notice appears above it.
            res.insert_header(("HX-Retarget", "#service-notice"))
                .insert_header(("HX-Reswap", "innerHTML"))
                .insert_header(("HX-Reselect", "[data-testid=service-notice-body]"))
                .insert_header((header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE));
        } else {
            // For htmx requests: show the error page in place of the whole body.
            res.insert_header(("HX-Retarget", "body"))
                .insert_header(("HX-Reswap", "innerHTML"));
        }
        if let Self::TooManyRequests { retry_after } = self {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after)));
        }
        let mut res = res.body(body);
        // Also when this page is answered outside the edge middleware (a failed session store).
        crate::security_headers::apply(res.headers_mut(), &crate::security_headers::HTML);
        res.extensions_mut().insert(ErrorPageParts {
            status: status.as_u16(),
            title,
            message,
            notice,
        });
        res
    }
}

/// An error page drawn in a given brand, for errors answered where no request is left to
/// redraw the page from (a failed session store).
#[derive(Debug)]
pub struct BrandedPageError(pub PageError, pub super::brand::Brand);

impl std::fmt::Display for BrandedPageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for BrandedPageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let res = self.0.error_response();
        let parts = res.extensions().get::<ErrorPageParts>().copied();
        match parts.and_then(|p| p.render(self.1.clone())) {
            Some(html) => res.set_body(actix_web::body::BoxBody::new(html)),
            None => res,
        }
    }
}

/// 405 with the `Allow` header RFC 9110 requires.
pub fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut res = PageError::MethodNotAllowed.error_response();
    if let Ok(value) = HeaderValue::from_str(allow) {
        res.headers_mut().insert(header::ALLOW, value);
    }
    res
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

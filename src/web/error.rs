//! Error pages. Users get a short, safe explanation; the log gets the cause.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;

/// A dashboard request that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Not signed in: redirect to sign-in and come back to `next`.
    #[error("sign-in required")]
    SignInRequired {
        /// Path to return to.
        next: String,
    },
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
    /// A request we cannot read (wrong content type, oversized body).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// Anything unexpected.
    #[error(transparent)]
    Internal(#[from] AppError),
}

impl PageError {
    /// An unexpected internal condition.
    pub fn internal(msg: &str) -> Self {
        Self::Internal(AppError::Internal(msg.to_owned()))
    }
}

impl From<diesel::result::Error> for PageError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Internal(e.into())
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
}

/// What an error page said, kept on the response so the dashboard scope can redraw it in an
/// agency's brand when the request came in on that agency's host (`error_response` has no
/// request to look at).
#[derive(Clone, Copy, Debug)]
pub struct ErrorPageParts {
    status: u16,
    title: &'static str,
    message: &'static str,
}

impl ErrorPageParts {
    /// The page again, in `brand`.
    pub fn render(&self, brand: super::brand::Brand) -> Option<String> {
        ErrorPage {
            brand,
            status: self.status,
            title: self.title,
            message: self.message,
        }
        .render()
        .ok()
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignInRequired { .. } => StatusCode::SEE_OTHER,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::SignInRequired { next } = self {
            let location = format!("/login?next={}", urlencode(next));
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
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    "Something went wrong",
                    "The request could not be completed. Nothing was changed; please try again.",
                )
            }
            // Answered with a redirect above; kept for completeness of the match.
            Self::SignInRequired { .. } => ("Sign in", "Please sign in."),
        };
        let status = self.status_code();
        let body = ErrorPage {
            brand: Default::default(),
            status: status.as_u16(),
            title,
            message,
        }
        .render()
        .unwrap_or_else(|_| title.to_owned());
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            // For htmx requests: show the error page in place of the whole body.
            .insert_header(("HX-Retarget", "body"))
            .insert_header(("HX-Reswap", "innerHTML"));
        if let Self::TooManyRequests { retry_after } = self {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after)));
        }
        let mut res = res.body(body);
        res.extensions_mut().insert(ErrorPageParts {
            status: status.as_u16(),
            title,
            message,
        });
        res
    }
}

/// Percent-encodes a path for a query parameter.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

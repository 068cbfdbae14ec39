//! The JSON error envelope of `/v1`, with the exact bodies of the platform docs (seed 004):
//! `{"error":{"code":"…","message":"…"}}`, plus `required_scope` or `fields` where relevant.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value, json};

use crate::domain::scope::Scope;
use crate::error::AppError;

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed, unknown, deleted or retired key.
    #[error("invalid api key")]
    InvalidApiKey,
    /// No `Authorization` header: the same body as [`ApiError::InvalidApiKey`], but the
    /// challenge names no error (RFC 6750 §3.1: a request without credentials is not one with
    /// an invalid token).
    #[error("missing api key")]
    MissingApiKey,
    /// Past its expiry.
    #[error("api key expired")]
    ApiKeyExpired,
    /// The key lacks the scope the route requires.
    #[error("insufficient permissions: {0}")]
    InsufficientPermissions(Scope),
    /// The key's IP allowlist does not contain the caller.
    #[error("ip not allowed")]
    IpNotAllowed,
    /// The key's team (an agency's client) is suspended.
    #[error("account suspended")]
    AccountSuspended,
    /// Over the key's rate limit.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until the window resets.
        retry_after: i64,
    },
    /// Too many invalid keys from the caller's address this minute.
    #[error("too many failed key checks")]
    TooManyFailures {
        /// Seconds until the address may try again.
        retry_after: i64,
    },
    /// No such object for this team and mode (also: other teams' objects).
    #[error("not found")]
    NotFound,
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Field-level problems, field name → message.
    #[error("validation failed")]
    Validation(Vec<(String, String)>),
    /// Body over the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// Not JSON, or compressed.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body did not arrive in time.
    #[error("request timeout")]
    RequestTimeout,
    /// Request head over the limit.
    #[error("headers too large")]
    HeadersTooLarge,
    /// The database is unreachable.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
    /// An integration call failed at the other end (502) or timed out (504); `reason` is
    /// safe to show (it never holds the credential).
    #[error("upstream: {reason}")]
    Upstream {
        /// 502 or 504.
        status: StatusCode,
        /// What happened.
        reason: String,
    },
    /// Anything unexpected.
    #[error(transparent)]
    Internal(AppError),
}

impl ApiError {
    /// One field's problem.
    pub fn field(name: &str, message: &str) -> Self {
        Self::Validation(vec![(name.to_owned(), message.to_owned())])
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidApiKey | Self::MissingApiKey => "INVALID_API_KEY",
            Self::ApiKeyExpired => "API_KEY_EXPIRED",
            Self::InsufficientPermissions(_) => "INSUFFICIENT_PERMISSIONS",
            Self::IpNotAllowed => "IP_NOT_ALLOWED",
            Self::AccountSuspended => "ACCOUNT_SUSPENDED",
            Self::RateLimited { .. } | Self::TooManyFailures { .. } => "RATE_LIMITED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Validation(_) => "VALIDATION_FAILED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::RequestTimeout => "REQUEST_TIMEOUT",
            Self::HeadersTooLarge => "HEADERS_TOO_LARGE",
            Self::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            Self::Upstream { status, .. } if *status == StatusCode::GATEWAY_TIMEOUT => {
                "UPSTREAM_TIMEOUT"
            }
            Self::Upstream { .. } => "UPSTREAM_FAILED",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            Self::InvalidApiKey | Self::MissingApiKey => "The provided API key is invalid",
            Self::ApiKeyExpired => "This API key has expired",
            Self::InsufficientPermissions(_) => {
                "API key does not have permission to perform this action"
            }
            Self::IpNotAllowed => "Requests from this IP address are not allowed for this API key",
            Self::AccountSuspended => "This account is suspended",
            Self::RateLimited { .. } => {
                "Too many requests for this API key; retry after the time in Retry-After"
            }
            Self::TooManyFailures { .. } => {
                "Too many invalid API keys from this address; retry after the time in Retry-After"
            }
            Self::NotFound => "The requested resource does not exist",
            Self::MethodNotAllowed => "This method is not allowed for this resource",
            Self::Validation(_) => "The request is invalid",
            Self::PayloadTooLarge => "The request body is too large",
            Self::UnsupportedMediaType => {
                "Request bodies must be JSON (Content-Type: application/json)"
            }
            Self::RequestTimeout => "The request body did not arrive in time",
            Self::HeadersTooLarge => "The request headers are too large",
            Self::ServiceUnavailable(_) => "The service is temporarily unavailable; retry shortly",
            Self::Upstream { .. } => {
                "The integration's API could not be reached or did not answer usably"
            }
            Self::Internal(_) => "An internal error occurred",
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        error.insert("message".into(), json!(self.message()));
        match self {
            Self::InsufficientPermissions(scope) => {
                error.insert("required_scope".into(), json!(scope.as_str()));
            }
            Self::Validation(fields) => {
                let fields: Map<String, Value> =
                    fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                error.insert("fields".into(), Value::Object(fields));
            }
            Self::Upstream { reason, .. } => {
                error.insert("reason".into(), json!(reason));
            }
            _ => {}
        }
        json!({ "error": error })
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            // A database that cannot serve now is an outage, not a bug.
            AppError::Unavailable { .. } | AppError::HashingBusy => {
                Self::ServiceUnavailable(e.to_string())
            }
            other => Self::Internal(other),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidApiKey | Self::MissingApiKey | Self::ApiKeyExpired => {
                StatusCode::UNAUTHORIZED
            }
            Self::InsufficientPermissions(_) | Self::IpNotAllowed | Self::AccountSuspended => {
                StatusCode::FORBIDDEN
            }
            Self::RateLimited { .. } | Self::TooManyFailures { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => tracing::error!(error = %cause, "api request failed"),
            Self::ServiceUnavailable(cause) => tracing::warn!(error = %cause, "api unavailable"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Self::InvalidApiKey => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="api", error="invalid_token""#,
                ));
            }
            Self::MissingApiKey => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="api""#));
            }
            Self::ApiKeyExpired => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="api", error="invalid_token", error_description="expired""#,
                ));
            }
            Self::RateLimited { retry_after } | Self::TooManyFailures { retry_after } => {
                res.insert_header((
                    header::RETRY_AFTER,
                    HeaderValue::from((*retry_after).max(1)),
                ));
            }
            Self::ServiceUnavailable(_) => {
                res.insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_UNAVAILABLE));
            }
            _ => {}
        }
        res.json(self.body())
    }
}

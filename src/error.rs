//! The one domain error. Each surface (web pages, JSON API) renders it its own way; users get
//! a safe message, logs get the cause chain.

use crate::db::Outage;

/// Seconds a client is asked to wait (`Retry-After`) after a 503: the same on both surfaces
/// and on `/readyz`.
pub const RETRY_AFTER_UNAVAILABLE: u32 = 5;

/// Anything that can go wrong below the handlers.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The database cannot serve requests right now (down, restarting, full, locked,
    /// read-only): a 503 with a retry hint, not a bug.
    #[error("{outage}: {cause}")]
    Unavailable {
        /// What kind of outage.
        outage: Outage,
        /// The underlying error, for the log.
        cause: String,
    },
    /// A query failed.
    #[error("database: {0}")]
    Db(diesel::result::Error),
    /// The blocking thread pool failed.
    #[error("blocking task: {0}")]
    Blocking(#[from] actix_web::error::BlockingError),
    /// A template failed to render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Password(String),
    /// Too many passwords are being hashed at once; retry shortly.
    #[error("password hashing is saturated")]
    HashingBusy,
    /// Stored data broke an invariant.
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    /// The outage this error stands for, if any.
    pub fn outage(&self) -> Option<Outage> {
        match self {
            Self::Unavailable { outage, .. } => Some(*outage),
            _ => None,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match crate::db::outage::classify(&e) {
            Some(outage) => Self::Unavailable {
                outage,
                cause: e.to_string(),
            },
            None => Self::Db(e),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        // The pool gives up only after its timeout: the server is down or unreachable.
        Self::Unavailable {
            outage: Outage::Unreachable,
            cause: e.to_string(),
        }
    }
}

impl From<Outage> for AppError {
    fn from(outage: Outage) -> Self {
        Self::Unavailable {
            outage,
            cause: "gave up waiting".to_owned(),
        }
    }
}

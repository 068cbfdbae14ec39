//! The one domain error. Each surface (web pages, JSON API) renders it its own way; users get
//! a safe message, logs get the cause chain.

use crate::db::{DbConnection, DbPool, Outage};

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

/// Runs `f` with a pooled connection on the calling thread; a connection the query found dead
/// is marked so, and the pool replaces it.
pub fn run_with_conn<T>(
    pool: &DbPool,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let mut conn = pool.get()?;
    let result = f(&mut conn);
    if let Err(e) = &result
        && e.outage() == Some(Outage::ConnectionLost)
    {
        conn.mark_lost();
    }
    result
}

/// Runs a blocking closure with a pooled connection on the blocking thread pool.
pub async fn with_conn<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || run_with_conn(&pool, f)).await?
}

/// Like [`with_conn`], for closures that only read: when the connection turns out to be dead
/// (the database restarted since it was last used), the read is retried once on a fresh one,
/// so a restart costs only the requests that were in flight.
pub async fn with_read<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: Fn(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || match run_with_conn(&pool, &f) {
        Err(e) if e.outage() == Some(Outage::ConnectionLost) => run_with_conn(&pool, &f),
        other => other,
    })
    .await?
}

/// Like [`with_conn`], for closures that write. On SQLite, writers of this process take turns
/// before they occupy a database thread, so a writer stuck on a lock held elsewhere blocks one
/// thread, not all of them, and reads keep flowing; a turn not had within the busy timeout is
/// a 503.
pub async fn with_write<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let _turn = pool.write_turn().await?;
    with_conn(pool, f).await
}

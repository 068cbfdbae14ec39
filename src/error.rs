//! The one domain error. Each surface (web pages, JSON API) renders it its own way; users get
//! a safe message, logs get the cause chain.

/// Anything that can go wrong below the handlers.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No pooled connection in time.
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A query failed.
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    /// The blocking thread pool failed.
    #[error("blocking task: {0}")]
    Blocking(#[from] actix_web::error::BlockingError),
    /// A template failed to render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Password(String),
    /// Stored data broke an invariant.
    #[error("internal: {0}")]
    Internal(String),
}

/// Runs a blocking closure with a pooled connection on the blocking thread pool.
pub async fn with_conn<T, F>(pool: &crate::db::DbPool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}

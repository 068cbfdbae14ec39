//! The connection and transaction runners every layer above uses: a pooled connection on the
//! calling thread, on the blocking pool, a read retried once after a lost connection, and a
//! write that first takes its turn.

use super::{DbConnection, DbPool, Outage};
use crate::error::AppError;

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

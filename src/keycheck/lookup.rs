//! The key-record lookup behind a cache miss: one indexed read by digest, run where it costs
//! least on each backend.

use crate::db::{DbPool, run_with_conn, with_read};
use crate::domain::api_key_secret::KeyDigest;
use crate::error::AppError;
use crate::models::api_key::{ApiKey, KeyLookup};

/// Finds the key with this digest. On SQLite the read runs on the calling worker thread: an
/// indexed read in WAL mode never waits for writers, and handing it to the blocking pool cost
/// more than the read itself (measured, docs/benchmarks.md). On PostgreSQL a network round
/// trip must not stall a worker, so it goes to the blocking pool, and is retried once on a
/// fresh connection if the server restarted since the last use.
pub async fn find(pool: &DbPool, digest: KeyDigest) -> Result<Option<KeyLookup>, AppError> {
    if pool.is_sqlite() {
        return run_with_conn(pool, |c| Ok(ApiKey::find_by_digest(c, &digest)?));
    }
    with_read(pool, move |c| Ok(ApiKey::find_by_digest(c, &digest)?)).await
}

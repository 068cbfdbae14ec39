//! Keeps idle OAuth connections alive: some providers revoke a refresh token that goes unused
//! (Google after six months, others sooner), so a connection no call has renewed for
//! [`IDLE_AFTER`] is renewed by this sweep. Each renewal is the calls' own single-flight renewal
//! (node lock, PostgreSQL row lock, credential version), so any number of nodes may sweep at once
//! and a connection is still renewed once.

use crate::db::with_read;
use crate::error::AppError;
use crate::models::oauth_connection::OAuthConnection;
use crate::ops::oauth::{self, TokenError};
use crate::state::AppState;

/// How often the sweep runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// A connection whose tokens were last renewed longer ago than this is renewed by the sweep:
/// with an hourly sweep, every connection is renewed at least once a day.
pub const IDLE_AFTER: i64 = 20 * 3600;

/// The most connections one sweep renews (the oldest first; the next sweep takes the rest).
const BATCH: i64 = 500;

/// Renews the idle connections due at the state's current time; returns how many were renewed.
/// A refused grant is recorded as needing reconnecting (by the renewal, once); a provider that
/// does not answer is tried again next sweep.
pub async fn run_once(state: &AppState) -> Result<usize, AppError> {
    let before = state.clock.now() - IDLE_AFTER;
    let due = with_read(&state.pool, move |c| {
        Ok(OAuthConnection::idle(c, before, BATCH)?)
    })
    .await?;
    let mut renewed = 0;
    for (id, version) in due {
        match oauth::keep_alive(state, &id, version).await {
            Ok(()) => renewed += 1,
            Err(TokenError::Failed(e)) => return Err(e),
            Err(TokenError::Refused(_) | TokenError::NotConnected(_)) => {}
            Err(TokenError::Unavailable(why)) => {
                tracing::warn!(integration = %id, reason = %why, "could not renew an idle OAuth connection; will retry");
            }
        }
    }
    Ok(renewed)
}

/// Runs [`run_once`] every [`EVERY`]; failures are logged and retried next time.
pub fn spawn(state: AppState) {
    super::every(state, EVERY, "OAuth keep-alive sweep", |s| async move {
        run_once(&s).await
    });
}

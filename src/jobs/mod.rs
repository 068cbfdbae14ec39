//! Background work that runs inside the server process.

pub mod key_notices;
pub mod mail;
pub mod oauth_keepalive;
pub mod retention;
pub mod webhooks;

use std::future::Future;

use crate::error::AppError;
use crate::state::AppState;

/// Runs `sweep` every `period`, the first time at once; a failure is logged as `what` and tried
/// again next time.
pub fn every<F, Fut, T>(state: AppState, period: std::time::Duration, what: &'static str, sweep: F)
where
    F: Fn(AppState) -> Fut + 'static,
    Fut: Future<Output = Result<T, AppError>> + 'static,
{
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(period);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(state.clone()).await {
                tracing::warn!(error = %e, "{what} failed; will retry");
            }
        }
    });
}

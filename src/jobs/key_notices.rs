//! The key lifecycle sweep: once a minute, announces keys that expire within seven days or one
//! day, that expired, and old keys whose grace period after a rotation ran out
//! (`domain::key_notice`). Each announcement is an audit event and a webhook, made once.

use crate::db::with_read;
use crate::domain::key_notice::{Notice, expiry_notice};
use crate::error::AppError;
use crate::models::key_notice;
use crate::ops::api_keys::announce;
use crate::state::AppState;

/// How often the sweep runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Announces what is due at the state's current time; returns how many announcements it made.
pub async fn run_once(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    let (expiring, retired, sent) = with_read(&state.pool, move |c| {
        let expiring = key_notice::expiring(c, now)?;
        let retired = key_notice::grace_ended(c, now)?;
        let ids: Vec<String> = expiring
            .iter()
            .chain(&retired)
            .map(|k| k.id.to_string())
            .collect();
        Ok((expiring, retired, key_notice::sent(c, &ids)?))
    })
    .await?;
    let done = |id: &str, n: Notice| sent.iter().any(|(k, s)| k == id && s == n.as_str());
    let due = expiring
        .iter()
        .filter_map(|k| Some((k, expiry_notice(k.expires_at?, now)?)))
        .chain(retired.iter().map(|k| (k, Notice::GraceEnded)))
        .filter(|(k, n)| !done(k.id.as_str(), *n));
    let mut made = 0;
    for (key, notice) in due {
        if announce(state, key, notice, now).await? {
            made += 1;
        }
    }
    Ok(made)
}

/// Runs [`run_once`] every [`EVERY`]; failures are logged and retried next time.
pub fn spawn(state: AppState) {
    super::every(state, EVERY, "key lifecycle sweep", |s| async move {
        run_once(&s).await
    });
}

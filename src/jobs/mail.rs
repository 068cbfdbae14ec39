//! The mail job: sends queued mails (`models::mail_queue`) through the configured SMTP server.
//! Due mails are claimed under a lease (and `SKIP LOCKED` on PostgreSQL), so any number of
//! nodes share the queue and each mail goes out once unless a node dies mid-send (then at
//! most once more, after the lease); a refusal or a silent server is retried on
//! `RETRY_DELAYS`, about a day in all, then given up with its last error kept. Runs only
//! when `LATCHKEY_SMTP_URL` is set.

use std::time::Duration;

use crate::db::{with_read, with_write, write_tx};
use crate::error::AppError;
use crate::models::mail_queue;
use crate::state::AppState;

/// Mails claimed per round.
const BATCH: i64 = 20;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Mails the server accepted.
    pub sent: usize,
    /// Mails it did not (retried later or given up).
    pub failed: usize,
}

/// Sends what is due now.
pub async fn run_once(state: &AppState) -> Result<Round, AppError> {
    let Some(mailer) = state.mailer.clone() else {
        return Ok(Round::default());
    };
    let now = state.clock.now();
    if !with_read(&state.pool, move |c| Ok(mail_queue::has_due(c, now)?)).await? {
        return Ok(Round::default());
    }
    let due = with_write(&state.pool, move |c| {
        Ok(write_tx(c, |c| mail_queue::claim_due(c, now, BATCH))?)
    })
    .await?;
    let mut round = Round::default();
    let mut outcomes = Vec::with_capacity(due.len());
    // One at a time: a mail server is slow to greet and mails are few.
    for m in due {
        let outcome = mailer.send(&m.mail()).await.map_err(|e| e.to_string());
        match &outcome {
            Ok(()) => round.sent += 1,
            Err(reason) => {
                round.failed += 1;
                tracing::warn!(mail = %m.id.as_str(), kind = %m.kind, attempt = m.attempts, reason = %reason, "mail not sent; will retry");
            }
        }
        outcomes.push((m.id, m.attempts, outcome));
    }
    let at = state.clock.now();
    with_write(&state.pool, move |c| {
        Ok(write_tx(c, |c| {
            for (id, attempts, outcome) in &outcomes {
                match outcome {
                    Ok(()) => mail_queue::mark_sent(c, id, at)?,
                    Err(reason) => mail_queue::mark_failed(c, id, *attempts, reason, at)?,
                }
            }
            Ok::<_, diesel::result::Error>(())
        })?)
    })
    .await?;
    Ok(round)
}

/// Runs rounds in the background (when e-mail is configured): woken when a mail is queued,
/// and every 15 seconds for retries that come due.
pub fn spawn(state: AppState) {
    if state.mailer.is_none() {
        return;
    }
    actix_web::rt::spawn(async move {
        loop {
            if let Err(e) = run_once(&state).await {
                tracing::warn!(error = %e, "mail round failed; will retry");
            }
            let _ = tokio::time::timeout(Duration::from_secs(15), state.mail_wake.notified()).await;
        }
    });
}

//! Retention: what grows with use is deleted once past its time, so no table grows forever.
//!
//! - Audit events: each team's after its retention (Team settings; 365 days by default),
//!   agency-level events and account security events after a year.
//! - Webhook events with their deliveries and attempts after `LATCHKEY_WEBHOOK_RETENTION_DAYS`
//!   (30 by default); events no endpoint wanted, a day after they were fanned out.
//! - Hourly usage of keys, teams and integrations, and the addresses keys were used from,
//!   after 400 days.
//! - Expired sessions, sign-in failure counters a day after their last failure, "known
//!   address" marks once they no longer count (90 days).
//!
//! Runs at start and then hourly. The new rules delete in batches of [`BATCH`] rows, each its
//! own short transaction with a pause after it, so writers wait for one batch at most; with several nodes, one
//! prunes at a time (`models::retention::take_turn`).

use crate::db::{DbConnection, with_read, with_write, write_tx};
use crate::domain::audit::FIXED_RETENTION_DAYS;
use crate::error::AppError;
use crate::models::retention::{Rule, delete_batch, take_turn};
use crate::models::team::Team;
use crate::models::{audit, security_event, throttle};
use crate::state::AppState;

/// How often the job runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// Rows a batch deletes (one short transaction each). An outbox event takes its delivery and
/// attempts with it, so a batch of events is about four times as many rows: writers waited up
/// to 425 ms behind batches of 5,000 events on SQLite (`bench/retention.py`).
pub const BATCH: i64 = 1_000;
/// A pause between batches, so writers waiting for the database get their turn first.
const BETWEEN_BATCHES: std::time::Duration = std::time::Duration::from_millis(5);
/// Hourly usage is kept this many days (a year and a month: last year's same month).
pub const USAGE_DAYS: i64 = 400;
/// Days a queued mail (sent or given up) is kept, for the record of what was sent.
pub const MAIL_DAYS: i64 = 30;
/// Events no endpoint wanted are kept this long after fan-out (to look into a fan-out).
const UNDELIVERED_SECS: i64 = 86_400;

/// What one run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Team events.
    pub team_events: usize,
    /// Agency-level events.
    pub agency_events: usize,
    /// Account security events.
    pub security_events: usize,
    /// Rows of the batched rules (webhook events, usage, sessions, throttles).
    pub rows: usize,
    /// Another node was pruning: this one stopped.
    pub yielded: bool,
}

/// Runs `f` as one retention transaction, if this node may prune now (`None`: another node is).
async fn exclusively<F>(state: &AppState, f: F) -> Result<Option<usize>, AppError>
where
    F: FnOnce(&mut DbConnection) -> diesel::QueryResult<usize> + Send + 'static,
{
    with_write(&state.pool, move |c| {
        Ok(write_tx(c, |c| {
            if !take_turn(c)? {
                return Ok(None);
            }
            f(c).map(Some)
        })?)
    })
    .await
}

/// The cutoff of `rule` at `now`.
fn cutoff(state: &AppState, rule: Rule, now: i64) -> i64 {
    match rule {
        Rule::WebhookEvents => now - i64::from(state.config.webhook_retention_days) * 86_400,
        Rule::UndeliveredEvents => now - UNDELIVERED_SECS,
        Rule::KeyUsage | Rule::IntegrationUsage | Rule::TeamUsage | Rule::KeyAddresses => {
            now - USAGE_DAYS * 86_400
        }
        Rule::Sessions => now,
        Rule::SignInThrottles => now - throttle::FORGET_AFTER,
        Rule::KnownAddresses => now - throttle::KNOWN_FOR,
        Rule::Mails => now - MAIL_DAYS * 86_400,
        // A day after they stop working: long enough to tell "expired" from "unknown".
        Rule::PasswordResets | Rule::EmailChanges => now - 86_400,
    }
}

/// Deletes what is past its retention at the state's current time.
pub async fn prune_once(state: &AppState) -> Result<Pruned, AppError> {
    let now = state.clock.now();
    let mut pruned = Pruned::default();
    let teams = with_read(&state.pool, |c| Ok(Team::audit_retention_all(c)?)).await?;
    for (team, days) in teams {
        let cutoff = now - i64::from(days) * 86_400;
        match exclusively(state, move |c| audit::prune_team(c, &team, cutoff)).await? {
            Some(n) => pruned.team_events += n,
            None => {
                return Ok(Pruned {
                    yielded: true,
                    ..pruned
                });
            }
        }
    }
    let cutoff_fixed = now - FIXED_RETENTION_DAYS * 86_400;
    let Some(n) = exclusively(state, move |c| audit::prune_agencies(c, cutoff_fixed)).await? else {
        return Ok(Pruned {
            yielded: true,
            ..pruned
        });
    };
    pruned.agency_events = n;
    let Some(n) = exclusively(state, move |c| security_event::prune(c, cutoff_fixed)).await? else {
        return Ok(Pruned {
            yielded: true,
            ..pruned
        });
    };
    pruned.security_events = n;
    for rule in Rule::ALL {
        let cutoff = cutoff(state, rule, now);
        loop {
            let Some(n) = exclusively(state, move |c| delete_batch(c, rule, cutoff, BATCH)).await?
            else {
                return Ok(Pruned {
                    yielded: true,
                    ..pruned
                });
            };
            pruned.rows += n;
            if i64::try_from(n).unwrap_or(i64::MAX) < BATCH {
                break;
            }
            tokio::time::sleep(BETWEEN_BATCHES).await;
        }
    }
    Ok(pruned)
}

/// Runs [`prune_once`] now and every [`EVERY`]; failures are logged and retried next time.
pub fn spawn(state: AppState) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(EVERY);
        loop {
            tick.tick().await;
            match prune_once(&state).await {
                Ok(p) if p.yielded => {
                    tracing::debug!("retention: another node is pruning");
                }
                Ok(p) if p != Pruned::default() => tracing::info!(
                    team_events = p.team_events,
                    agency_events = p.agency_events,
                    security_events = p.security_events,
                    rows = p.rows,
                    "retention: old rows deleted"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "retention failed; will retry"),
            }
        }
    });
}

//! Audit retention: each team's events older than its retention (Team settings; 365 days by
//! default), agency-level events and account security events older than a year, are deleted.
//! Runs at start and then hourly; each team is one short write, so it never holds the
//! database for long.

use crate::db::{with_read, with_write};
use crate::domain::audit::FIXED_RETENTION_DAYS;
use crate::domain::ids::TeamId;
use crate::error::AppError;
use crate::models::team::Team;
use crate::models::{audit, security_event};
use crate::state::AppState;

/// How often the job runs.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// What one run deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Team events.
    pub team_events: usize,
    /// Agency-level events.
    pub agency_events: usize,
    /// Account security events.
    pub security_events: usize,
}

/// Deletes what is past its retention at the state's current time.
pub async fn prune_once(state: &AppState) -> Result<Pruned, AppError> {
    let now = state.clock.now();
    let teams = with_read(&state.pool, |c| Ok(Team::audit_retention_all(c)?)).await?;
    let mut pruned = Pruned::default();
    for (team, days) in teams {
        let cutoff = now - i64::from(days) * 86_400;
        let team = TeamId::from_db(team);
        pruned.team_events += with_write(&state.pool, move |c| {
            Ok(audit::prune_team(c, &team, cutoff)?)
        })
        .await?;
    }
    let cutoff = now - FIXED_RETENTION_DAYS * 86_400;
    pruned.agency_events =
        with_write(&state.pool, move |c| Ok(audit::prune_agencies(c, cutoff)?)).await?;
    pruned.security_events +=
        with_write(&state.pool, move |c| Ok(security_event::prune(c, cutoff)?)).await?;
    Ok(pruned)
}

/// Runs [`prune_once`] now and every [`EVERY`]; failures are logged and retried next time.
pub fn spawn(state: AppState) {
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(EVERY);
        loop {
            tick.tick().await;
            match prune_once(&state).await {
                Ok(p) if p != Pruned::default() => tracing::info!(
                    team_events = p.team_events,
                    agency_events = p.agency_events,
                    security_events = p.security_events,
                    "audit retention: old events deleted"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "audit retention failed; will retry"),
            }
        }
    });
}

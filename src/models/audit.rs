//! Audit events, written in the same transaction as the action they record.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::audit_events;
use crate::domain::ids::{AuditEventId, TeamId, UserId};

/// An audit event row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    /// Id.
    pub id: String,
    /// Team.
    pub team_id: String,
    /// Who did it.
    pub actor_user_id: Option<String>,
    /// What, e.g. `api_key.created`.
    pub action: String,
    /// Which object.
    pub target_id: Option<String>,
    /// Extra, non-secret detail.
    pub detail: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// What to record.
pub struct NewAuditEvent<'a> {
    /// Team.
    pub team: &'a TeamId,
    /// Actor.
    pub actor: Option<&'a UserId>,
    /// Action name.
    pub action: &'a str,
    /// Object id.
    pub target: Option<&'a str>,
    /// Detail (never a secret).
    pub detail: Option<String>,
    /// Client IP.
    pub ip: Option<&'a str>,
    /// Unix seconds.
    pub at: i64,
}

impl AuditEvent {
    /// Appends an event.
    pub fn record(conn: &mut DbConnection, e: NewAuditEvent<'_>) -> QueryResult<()> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::id.eq(AuditEventId::generate().to_string()),
                audit_events::team_id.eq(e.team.as_str()),
                audit_events::actor_user_id.eq(e.actor.map(UserId::as_str)),
                audit_events::action.eq(e.action),
                audit_events::target_id.eq(e.target),
                audit_events::detail.eq(e.detail),
                audit_events::ip.eq(e.ip),
                audit_events::created_at.eq(e.at),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// A team's events, newest first.
    pub fn list_for_team(conn: &mut DbConnection, team: &TeamId) -> QueryResult<Vec<AuditEvent>> {
        audit_events::table
            .filter(audit_events::team_id.eq(team.as_str()))
            .order((audit_events::created_at.desc(), audit_events::id.desc()))
            .select(AuditEvent::as_select())
            .load(conn)
    }
}

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

/// Who acts, for whom, from where and when: everything an event needs besides what happened.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Team the event belongs to.
    pub team: TeamId,
    /// Acting user (None for API-key or system actions).
    pub user: Option<UserId>,
    /// Client IP.
    pub ip: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

impl Actor {
    /// Appends an event; `detail` must never contain a secret.
    pub fn record(
        &self,
        conn: &mut DbConnection,
        action: &str,
        target: Option<&str>,
        detail: Option<String>,
    ) -> QueryResult<()> {
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::id.eq(AuditEventId::generate().to_string()),
                audit_events::team_id.eq(self.team.as_str()),
                audit_events::actor_user_id.eq(self.user.as_ref().map(UserId::as_str)),
                audit_events::action.eq(action),
                audit_events::target_id.eq(target),
                audit_events::detail.eq(detail),
                audit_events::ip.eq(self.ip.as_deref()),
                audit_events::created_at.eq(self.at),
            ))
            .execute(conn)
            .map(|_| ())
    }
}

impl AuditEvent {
    /// A team's events, newest first.
    pub fn list_for_team(conn: &mut DbConnection, team: &TeamId) -> QueryResult<Vec<AuditEvent>> {
        audit_events::table
            .filter(audit_events::team_id.eq(team.as_str()))
            .order((audit_events::created_at.desc(), audit_events::id.desc()))
            .select(AuditEvent::as_select())
            .load(conn)
    }
}

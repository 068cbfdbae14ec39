//! Audit events, written in the same transaction as the action they record. (Reading them
//! arrives with the audit log page.)

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::audit_events;
use crate::domain::ids::{AuditEventId, TeamId, UserId};

/// Who acts, for whom, from where and when: everything an event needs besides what happened.
#[derive(Clone, Debug)]
pub struct Actor {
    /// Team the event belongs to.
    pub team: TeamId,
    /// Acting user (None for API-key or system actions).
    pub user: Option<UserId>,
    /// Set when the user acts as an operator of this agency ("operator X of agency Y").
    pub agency: Option<String>,
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
                audit_events::actor_agency_id.eq(self.agency.as_deref()),
            ))
            .execute(conn)
            .map(|_| ())
    }
}

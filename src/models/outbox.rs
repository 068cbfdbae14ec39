//! The outbox: one row per change, holding the exact bytes a webhook will carry (DESIGN §10).
//! Written in the change's transaction; delivery reads from here.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::outbox_events;
use crate::domain::audit::Owner;
use crate::domain::ids::{AuditEventId, OutboxEventId};

/// Appends an event of `event_type` with `payload` (compact JSON, produced once).
pub fn insert(
    conn: &mut DbConnection,
    id: &OutboxEventId,
    owner: &Owner,
    event_type: &str,
    payload: &str,
    audit_event: &AuditEventId,
    at: i64,
) -> QueryResult<()> {
    let (team_id, agency_id) = match owner {
        Owner::Team(t) => (Some(t.as_str()), None),
        Owner::Agency(a) => (None, Some(a.as_str())),
    };
    diesel::insert_into(outbox_events::table)
        .values((
            outbox_events::id.eq(id.as_str()),
            outbox_events::team_id.eq(team_id),
            outbox_events::agency_id.eq(agency_id),
            outbox_events::event_type.eq(event_type),
            outbox_events::payload.eq(payload),
            outbox_events::audit_event_id.eq(audit_event.as_str()),
            outbox_events::created_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

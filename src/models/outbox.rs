//! The outbox: one row per change, holding the exact bytes a webhook will carry (DESIGN §10).
//! Written in the change's transaction; the delivery job claims events from here, fans them
//! out into deliveries and reads their bytes back for every attempt. The claim takes
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of nodes can run it.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::outbox_events;
use crate::domain::audit::Owner;
use crate::domain::ids::{AgencyId, AuditEventId, OutboxEventId, TeamId};

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

/// An outbox event waiting to be turned into deliveries.
#[derive(Debug, Clone, Queryable)]
pub struct PendingEvent {
    /// Id (the deliveries' `webhook-id`).
    pub id: OutboxEventId,
    /// Team of the change (or none: an agency's own event).
    pub team_id: Option<TeamId>,
    /// Agency of an agency-level event.
    pub agency_id: Option<AgencyId>,
    /// `api_key.created`…
    pub event_type: String,
    /// When it happened.
    pub created_at: i64,
}

/// Claims up to `limit` outbox events not yet fanned out, oldest first (locked for this
/// transaction on PostgreSQL; others skip them).
pub fn claim_events(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<PendingEvent>> {
    let q = outbox_events::table
        .filter(outbox_events::fanned_out_at.is_null())
        .order((outbox_events::created_at.asc(), outbox_events::id.asc()))
        .limit(limit)
        .select((
            outbox_events::id,
            outbox_events::team_id,
            outbox_events::agency_id,
            outbox_events::event_type,
            outbox_events::created_at,
        ));
    match conn {
        DbConnection::Postgres(c) => q.for_update().skip_locked().load(c),
        DbConnection::Sqlite(c) => q.load(c),
    }
}

/// Whether any event still waits to be fanned out (an indexed read).
pub fn any_to_fan_out(conn: &mut DbConnection) -> QueryResult<bool> {
    Ok(waiting(conn)? > 0)
}

/// How many events wait to be fanned out (the queue's depth, for `/metrics`).
pub fn waiting(conn: &mut DbConnection) -> QueryResult<i64> {
    outbox_events::table
        .filter(outbox_events::fanned_out_at.is_null())
        .select(diesel::dsl::count_star())
        .first(conn)
}

/// Marks events as fanned out.
pub fn mark_fanned_out(conn: &mut DbConnection, ids: &[OutboxEventId], at: i64) -> QueryResult<()> {
    diesel::update(outbox_events::table.filter(outbox_events::id.eq_any(ids)))
        .set(outbox_events::fanned_out_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// The newest outbox event's id (none yet: an empty string, which sorts before every id).
pub fn newest_event(conn: &mut DbConnection) -> QueryResult<String> {
    outbox_events::table
        .order(outbox_events::id.desc())
        .select(outbox_events::id)
        .first(conn)
        .optional()
        .map(Option::unwrap_or_default)
}

/// The payload bytes of event `event_id` (what every delivery of it sends).
pub fn payload(conn: &mut DbConnection, event_id: &str) -> QueryResult<Option<String>> {
    outbox_events::table
        .find(event_id)
        .select(outbox_events::payload)
        .first(conn)
        .optional()
}

/// What a delivery log shows of one event: its payload (the bytes every delivery of it sends)
/// and the kind and label of what its audit event is about (`client`, "Harbor Coffee").
pub type Shown = (String, Option<(String, String)>);

/// [`Shown`] of events `ids`, by event id.
pub fn shown(
    conn: &mut DbConnection,
    ids: &[&str],
) -> QueryResult<std::collections::HashMap<String, Shown>> {
    use crate::db::schema::audit_events;
    let events: Vec<(String, String, String)> = outbox_events::table
        .filter(outbox_events::id.eq_any(ids))
        .select((
            outbox_events::id,
            outbox_events::payload,
            outbox_events::audit_event_id,
        ))
        .load(conn)?;
    let audit_ids: Vec<&str> = events.iter().map(|(_, _, a)| a.as_str()).collect();
    let targets: std::collections::HashMap<String, (Option<String>, Option<String>)> =
        audit_events::table
            .filter(audit_events::id.eq_any(audit_ids))
            .select((
                audit_events::id,
                audit_events::target_kind,
                audit_events::target_label,
            ))
            .load::<(String, Option<String>, Option<String>)>(conn)?
            .into_iter()
            .map(|(id, kind, label)| (id, (kind, label)))
            .collect();
    Ok(events
        .into_iter()
        .map(|(id, payload, audit)| {
            let target = match targets.get(&audit) {
                Some((Some(kind), Some(label))) => Some((kind.clone(), label.clone())),
                _ => None,
            };
            (id, (payload, target))
        })
        .collect())
}

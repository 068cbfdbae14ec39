//! Audit events: written by operations (`ops/`) in the same transaction as the change they
//! record, read newest first with keyset cursors by the audit pages, the API and the exports.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{audit_events, teams};
use crate::domain::audit::{Actor, Change, Owner, Who};
use crate::domain::ids::{AgencyId, AuditEventId, TeamId};

/// The insert shape of one event.
#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    id: &'a str,
    team_id: Option<&'a str>,
    agency_id: Option<&'a str>,
    action: &'a str,
    actor_kind: &'a str,
    actor_user_id: Option<&'a str>,
    actor_key_id: Option<&'a str>,
    actor_agency_id: Option<&'a str>,
    actor_label: &'a str,
    target_kind: Option<&'a str>,
    target_id: Option<&'a str>,
    target_label: Option<&'a str>,
    detail: Option<&'a str>,
    ip: Option<&'a str>,
    created_at: i64,
}

/// Appends the event for `change` to `owner`'s log and returns its id. `change.detail` must
/// never hold a secret.
pub fn insert(
    conn: &mut DbConnection,
    owner: &Owner,
    actor: &Actor,
    change: &Change,
) -> QueryResult<AuditEventId> {
    let id = AuditEventId::generate_ordered();
    let detail = (!change.detail.is_empty())
        .then(|| serde_json::Value::Object(change.detail.clone()).to_string());
    let (team_id, agency_id) = match owner {
        Owner::Team(t) => (Some(t.as_str()), None),
        Owner::Agency(a) => (None, Some(a.as_str())),
    };
    let (key_id, acting_agency) = match &actor.who {
        Who::Key { id, .. } => (Some(id.as_str()), None),
        Who::Operator { agency, .. } => (None, Some(agency.as_str())),
        Who::User { .. } | Who::System => (None, None),
    };
    let target = &change.target;
    let present = |s: &'static str| (!s.is_empty()).then_some(s);
    let row = NewAuditEvent {
        id: id.as_str(),
        team_id,
        agency_id,
        action: change.action.as_str(),
        actor_kind: actor.who.kind(),
        actor_user_id: actor.who.user().map(|u| u.as_str()),
        actor_key_id: key_id,
        actor_agency_id: acting_agency.or(agency_id),
        actor_label: actor.who.label(),
        target_kind: present(target.kind),
        target_id: (!target.id.is_empty()).then_some(target.id.as_str()),
        target_label: (!target.label.is_empty()).then_some(target.label.as_str()),
        detail: detail.as_deref(),
        ip: actor.ip.as_deref(),
        created_at: actor.at,
    };
    diesel::insert_into(audit_events::table)
        .values(&row)
        .execute(conn)?;
    Ok(id)
}

/// One stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    /// `aud_…`.
    pub id: String,
    /// The team whose log holds it (None for agency-level events).
    pub team_id: Option<String>,
    /// The agency whose log holds it (agency-level events).
    pub agency_id: Option<String>,
    /// Dotted action name.
    pub action: String,
    /// `user`, `operator`, `api_key` or `system`.
    pub actor_kind: String,
    /// The acting user.
    pub actor_user_id: Option<String>,
    /// The acting key.
    pub actor_key_id: Option<String>,
    /// The agency an operator acted for.
    pub actor_agency_id: Option<String>,
    /// The actor's name at the time.
    pub actor_label: String,
    /// What kind of object it is about.
    pub target_kind: Option<String>,
    /// That object's id.
    pub target_id: Option<String>,
    /// Its name at the time.
    pub target_label: Option<String>,
    /// JSON object of details (never a secret).
    pub detail: Option<String>,
    /// The client's address.
    pub ip: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl AuditEvent {
    /// The details as a JSON object (empty when none or unreadable).
    pub fn detail_map(&self) -> serde_json::Map<String, serde_json::Value> {
        match self.detail.as_deref().map(serde_json::from_str) {
            Some(Ok(serde_json::Value::Object(map))) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// What a log view narrows to; every part is optional and they combine with AND.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// One dotted action name.
    pub action: Option<String>,
    /// A user id or key id: events that user or key performed.
    pub actor: Option<String>,
    /// An object id: events about it.
    pub target: Option<String>,
    /// From this instant (inclusive, Unix seconds).
    pub from: Option<i64>,
    /// Before this instant (exclusive, Unix seconds).
    pub until: Option<i64>,
}

/// Where a page starts: strictly older than this event.
pub type Cursor = (i64, String);

fn owned_by(owner: &Owner) -> audit_events::BoxedQuery<'static, crate::db::DbBackend> {
    match owner {
        Owner::Team(t) => audit_events::table
            .filter(audit_events::team_id.eq(t.as_str().to_owned()))
            .into_boxed(),
        Owner::Agency(a) => audit_events::table
            .filter(audit_events::agency_id.eq(a.as_str().to_owned()))
            .into_boxed(),
    }
}

/// Up to `limit` events of `owner` matching `filter`, newest first, strictly older than
/// `before`. The caller asks for one more than it shows to know whether more exist.
pub fn page(
    conn: &mut DbConnection,
    owner: &Owner,
    filter: &AuditFilter,
    before: Option<&Cursor>,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut q = owned_by(owner);
    if let Some(action) = &filter.action {
        q = q.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(actor) = &filter.actor {
        q = q.filter(
            audit_events::actor_user_id
                .eq(actor.clone())
                .or(audit_events::actor_key_id.eq(actor.clone())),
        );
    }
    if let Some(target) = &filter.target {
        q = q.filter(audit_events::target_id.eq(target.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::created_at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(audit_events::created_at.lt(until));
    }
    if let Some((at, id)) = before {
        q = q.filter(
            audit_events::created_at.lt(*at).or(audit_events::created_at
                .eq(*at)
                .and(audit_events::id.lt(id.clone()))),
        );
    }
    q.order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)
}

/// The cursor of event `id` in `owner`'s log, if it is there.
pub fn cursor_of(conn: &mut DbConnection, owner: &Owner, id: &str) -> QueryResult<Option<Cursor>> {
    owned_by(owner)
        .filter(audit_events::id.eq(id.to_owned()))
        .select((audit_events::created_at, audit_events::id))
        .first(conn)
        .optional()
}

/// Deletes a team's events older than `cutoff`; returns how many.
pub fn prune_team(conn: &mut DbConnection, team: &TeamId, cutoff: i64) -> QueryResult<usize> {
    diesel::delete(
        audit_events::table
            .filter(audit_events::team_id.eq(team.as_str()))
            .filter(audit_events::created_at.lt(cutoff)),
    )
    .execute(conn)
}

/// Deletes an agency's own events older than `cutoff`; returns how many.
pub fn prune_agency(conn: &mut DbConnection, agency: &AgencyId, cutoff: i64) -> QueryResult<usize> {
    diesel::delete(
        audit_events::table
            .filter(audit_events::agency_id.eq(agency.as_str()))
            .filter(audit_events::created_at.lt(cutoff)),
    )
    .execute(conn)
}

/// Every team with its retention in days.
pub fn team_retention(conn: &mut DbConnection) -> QueryResult<Vec<(String, i32)>> {
    teams::table
        .select((teams::id, teams::audit_retention_days))
        .load(conn)
}

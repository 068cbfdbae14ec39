//! Audit events: written by operations (`ops/`) in the same transaction as the change they
//! record, read newest first with keyset cursors by the audit pages, the API and the exports.

use diesel::prelude::*;

use super::like_literal;
use crate::db::DbConnection;
use crate::db::schema::{agencies, api_keys, audit_events};
use crate::domain::audit::{Actor, AuditAction, AuditFilter, Change, Match, Owner, Who, describe};
use crate::domain::ids::{AgencyId, ApiKeyId, AuditEventId, TeamId, UserId};

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
    pub id: AuditEventId,
    /// The team whose log holds it (None for agency-level events).
    pub team_id: Option<TeamId>,
    /// The agency whose log holds it (agency-level events).
    pub agency_id: Option<AgencyId>,
    /// Dotted action name.
    pub action: String,
    /// `user`, `operator`, `api_key` or `system`.
    pub actor_kind: String,
    /// The acting user.
    pub actor_user_id: Option<UserId>,
    /// The acting key.
    pub actor_key_id: Option<ApiKeyId>,
    /// The agency an operator acted for.
    pub actor_agency_id: Option<AgencyId>,
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
    /// The typed action (None for a name this version does not know).
    pub fn typed_action(&self) -> Option<AuditAction> {
        AuditAction::parse(&self.action)
    }

    /// The event in plain words.
    pub fn description(&self) -> String {
        describe(
            self.typed_action(),
            &self.action,
            self.target_label.as_deref().unwrap_or_default(),
            &self.detail_map(),
            crate::timefmt::short,
        )
    }

    /// Who acted, in words: "Ada Lovelace", "Key “CI deploy”", "Omar Haddad (operator of
    /// Northstar Digital)", "Latchkey".
    pub fn actor_text(&self, agencies: &std::collections::HashMap<String, String>) -> String {
        match self.actor_kind.as_str() {
            "api_key" => format!("Key “{}”", self.actor_label),
            "operator" => match self
                .actor_agency_id
                .as_ref()
                .and_then(|a| agencies.get(a.as_str()))
            {
                Some(agency) => format!("{} (operator of {agency})", self.actor_label),
                None => format!("{} (agency operator)", self.actor_label),
            },
            _ => self.actor_label.clone(),
        }
    }

    /// The event as the API and the NDJSON export show it.
    pub fn to_json(
        &self,
        agencies: &std::collections::HashMap<String, String>,
    ) -> serde_json::Value {
        let actor_id = self
            .actor_user_id
            .as_deref()
            .or(self.actor_key_id.as_deref());
        let agency = self
            .actor_agency_id
            .as_ref()
            .filter(|_| self.actor_kind == "operator");
        serde_json::json!({
            "id": self.id,
            "object": "audit_event",
            "action": self.action,
            "description": self.description(),
            "actor": {
                "type": self.actor_kind,
                "id": actor_id,
                "name": self.actor_label,
                "agency_id": agency,
                "agency_name": agency.and_then(|a| agencies.get(a.as_str())),
            },
            "target": self.target_kind.as_ref().map(|kind| serde_json::json!({
                "type": kind,
                "id": self.target_id,
                "name": self.target_label,
            })),
            "detail": self.detail_map(),
            "ip": self.ip,
            "created_at": crate::timefmt::iso(self.created_at),
        })
    }

    /// The details as a JSON object (empty when none or unreadable).
    pub fn detail_map(&self) -> serde_json::Map<String, serde_json::Value> {
        match self.detail.as_deref().map(serde_json::from_str) {
            Some(Ok(serde_json::Value::Object(map))) => map,
            _ => serde_json::Map::new(),
        }
    }
}

/// `lower(column)` of a text column named in SQL.
fn lower_of(column: &str) -> diesel::expression::SqlLiteral<diesel::sql_types::Text> {
    diesel::dsl::sql::<diesel::sql_types::Text>(&format!("lower({column})"))
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

/// One page of a log: up to `limit` events older than the event `before` (by id), and
/// whether more exist. `None` when `before` names no event of this log.
pub fn page_before(
    conn: &mut DbConnection,
    owner: &Owner,
    filter: &AuditFilter,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Option<(Vec<AuditEvent>, bool)>> {
    let cursor = match before {
        None => None,
        Some(id) => match cursor_of(conn, owner, id)? {
            Some(c) => Some(c),
            None => return Ok(None),
        },
    };
    let mut rows = page(conn, owner, filter, cursor.as_ref(), limit + 1)?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(Some((rows, more)))
}

/// Names of the agencies operators acted for in `events`, by id.
pub fn agency_names(
    conn: &mut DbConnection,
    events: &[AuditEvent],
) -> QueryResult<std::collections::HashMap<String, String>> {
    let mut ids: Vec<&str> = events
        .iter()
        .filter(|e| e.actor_kind == "operator")
        .filter_map(|e| e.actor_agency_id.as_deref())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(String, String)> = agencies::table
        .filter(agencies::id.eq_any(ids))
        .select((agencies::id, agencies::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
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
    if let Some(action) = filter.action {
        q = q.filter(audit_events::action.eq(action.as_str()));
    }
    match &filter.actor {
        None => {}
        Some(Match::Id(actor)) => {
            q = q.filter(
                audit_events::actor_user_id
                    .eq(actor.clone())
                    .or(audit_events::actor_key_id.eq(actor.clone())),
            );
        }
        Some(Match::Text { lower, .. }) => {
            q = q.filter(
                lower_of("audit_events.actor_label")
                    .like(format!("%{}%", like_literal(lower)))
                    .escape('\\'),
            );
        }
    }
    match &filter.target {
        None => {}
        Some(Match::Id(target)) => q = q.filter(audit_events::target_id.eq(target.clone())),
        Some(Match::Text { raw, lower }) => {
            // Words of the key's name as the event recorded it (a deleted or renamed key is
            // still found), or its last four characters.
            let by_tail = api_keys::table
                .filter(api_keys::tail.eq(raw.clone()))
                .select(api_keys::id.nullable());
            q = q.filter(audit_events::target_kind.eq("api_key")).filter(
                lower_of("audit_events.target_label")
                    .like(format!("%{}%", like_literal(lower)))
                    .escape('\\')
                    .nullable()
                    .or(audit_events::target_id.eq_any(by_tail)),
            );
        }
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_events::created_at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(audit_events::created_at.lt(until));
    }
    if let Some((at, id)) = before {
        // `created_at <= at` first: a bound the index range can start from (an OR alone
        // made PostgreSQL scan from the newest event for every page).
        q = q.filter(audit_events::created_at.le(*at)).filter(
            audit_events::created_at
                .lt(*at)
                .or(audit_events::id.lt(id.clone())),
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

/// Deletes every agency's own events older than `cutoff` (one retention for all agencies);
/// returns how many.
pub fn prune_agencies(conn: &mut DbConnection, cutoff: i64) -> QueryResult<usize> {
    diesel::delete(
        audit_events::table
            .filter(audit_events::agency_id.is_not_null())
            .filter(audit_events::created_at.lt(cutoff)),
    )
    .execute(conn)
}

/// The key that created key `key_id` through the API (from its `api_key.created` event), if
/// it was made that way: the key's id and name.
pub fn created_by_key(
    conn: &mut DbConnection,
    owner: &Owner,
    key_id: &str,
) -> QueryResult<Option<(String, String)>> {
    let creator: Option<Option<String>> = owned_by(owner)
        .filter(audit_events::target_id.eq(key_id.to_owned()))
        .filter(audit_events::action.eq(AuditAction::ApiKeyCreated.as_str()))
        .select(audit_events::actor_key_id)
        .first(conn)
        .optional()?;
    let Some(Some(creator)) = creator else {
        return Ok(None);
    };
    api_keys::table
        .find(&creator)
        .select((api_keys::id, api_keys::name))
        .first(conn)
        .optional()
}

//! Webhook endpoints, deliveries and attempts (the outbox events they come from are
//! `models/outbox.rs`).
//! The claim queries take `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of nodes can
//! run the delivery job; on SQLite the single writer (`BEGIN IMMEDIATE`) serialises them.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{teams, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::domain::ids::{
    AgencyId, AttemptId, DeliveryId, OutboxEventId, TeamId, UserId, WebhookEndpointId,
};

/// A webhook endpoint row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct WebhookEndpoint {
    /// Id.
    pub id: WebhookEndpointId,
    /// The team it belongs to (or none: an agency's).
    pub team_id: Option<TeamId>,
    /// The agency it belongs to (or none: a team's).
    pub agency_id: Option<AgencyId>,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// Space-separated event types, or `*`.
    pub event_types: String,
    /// Deliveries are made.
    pub enabled: bool,
    /// Why it was disabled (`410 Gone`, five days of failures, by a person).
    pub disabled_reason: Option<String>,
    /// The sealed signing secret.
    pub secret: String,
    /// Its version (part of the seal's binding).
    pub secret_version: i64,
    /// The previous sealed secret, during a rotation's overlap.
    pub previous_secret: Option<String>,
    /// Its version.
    pub previous_secret_version: Option<i64>,
    /// When the overlap ends.
    pub previous_until: Option<i64>,
    /// Who added it.
    pub created_by: Option<UserId>,
    /// The newest outbox event when it was added: it receives the events after it.
    pub since_event: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// When the current run of failures began (none after a success).
    pub failing_since: Option<i64>,
}

impl WebhookEndpoint {
    /// Sets the event after which the endpoint receives (inside its creation transaction).
    pub fn start_after(conn: &mut DbConnection, id: &str, event: &str) -> QueryResult<()> {
        diesel::update(webhook_endpoints::table.find(id))
            .set(webhook_endpoints::since_event.eq(event))
            .execute(conn)
            .map(|_| ())
    }

    /// Whether it wants events of `event_type`.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types == "*" || self.event_types.split(' ').any(|t| t == event_type)
    }

    /// Inserts an endpoint.
    pub fn insert(conn: &mut DbConnection, e: &WebhookEndpoint) -> QueryResult<()> {
        diesel::insert_into(webhook_endpoints::table)
            .values(e)
            .execute(conn)
            .map(|_| ())
    }

    /// One endpoint by id.
    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Self>> {
        webhook_endpoints::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    /// The endpoints of `owner` (a team or agency id), oldest first.
    pub fn of_owner(conn: &mut DbConnection, owner: &str) -> QueryResult<Vec<Self>> {
        webhook_endpoints::table
            .filter(
                webhook_endpoints::team_id
                    .eq(owner)
                    .or(webhook_endpoints::agency_id.eq(owner)),
            )
            .order((
                webhook_endpoints::created_at.asc(),
                webhook_endpoints::id.asc(),
            ))
            .select(Self::as_select())
            .load(conn)
    }

    /// Saves what an edit or a rotation may change.
    pub fn save(conn: &mut DbConnection, e: &WebhookEndpoint) -> QueryResult<()> {
        diesel::update(webhook_endpoints::table.find(&e.id))
            .set((
                webhook_endpoints::url.eq(&e.url),
                webhook_endpoints::description.eq(&e.description),
                webhook_endpoints::event_types.eq(&e.event_types),
                webhook_endpoints::enabled.eq(e.enabled),
                webhook_endpoints::disabled_reason.eq(&e.disabled_reason),
                webhook_endpoints::secret.eq(&e.secret),
                webhook_endpoints::secret_version.eq(e.secret_version),
                webhook_endpoints::previous_secret.eq(&e.previous_secret),
                webhook_endpoints::previous_secret_version.eq(e.previous_secret_version),
                webhook_endpoints::previous_until.eq(e.previous_until),
                webhook_endpoints::updated_at.eq(e.updated_at),
                webhook_endpoints::failing_since.eq(e.failing_since),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Deletes an endpoint (its deliveries and attempts go with it).
    pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
        diesel::delete(webhook_endpoints::table.find(id))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Disables an endpoint, saying why.
    pub fn disable(conn: &mut DbConnection, id: &str, reason: &str, at: i64) -> QueryResult<()> {
        diesel::update(webhook_endpoints::table.find(id))
            .set((
                webhook_endpoints::enabled.eq(false),
                webhook_endpoints::disabled_reason.eq(reason),
                webhook_endpoints::updated_at.eq(at),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Notes a delivery's outcome: a success ends a run of failures; a failure starts one if
    /// none is running. Returns when the current run of failures began (none: healthy).
    pub fn note_outcome(
        conn: &mut DbConnection,
        id: &str,
        ok: bool,
        at: i64,
    ) -> QueryResult<Option<i64>> {
        let row = webhook_endpoints::table.find(id);
        if ok {
            diesel::update(row)
                .set(webhook_endpoints::failing_since.eq(None::<i64>))
                .execute(conn)?;
            return Ok(None);
        }
        diesel::update(row.filter(webhook_endpoints::failing_since.is_null()))
            .set(webhook_endpoints::failing_since.eq(at))
            .execute(conn)?;
        row.select(webhook_endpoints::failing_since)
            .first(conn)
            .optional()
            .map(Option::flatten)
    }

    /// Every sealed secret (current and previous): (id, owner id, version, sealed) — what
    /// `vault rewrap` walks and the census counts.
    pub fn sealed(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, i64, String)>> {
        let rows: Vec<WebhookEndpoint> = webhook_endpoints::table
            .order(webhook_endpoints::id.asc())
            .select(Self::as_select())
            .load(conn)?;
        let mut out = Vec::new();
        for e in rows {
            let owner = e.owner().to_owned();
            if let (Some(prev), Some(version)) = (&e.previous_secret, e.previous_secret_version) {
                out.push((e.id.to_string(), owner.clone(), version, prev.clone()));
            }
            out.push((e.id.into(), owner, e.secret_version, e.secret));
        }
        Ok(out)
    }

    /// Endpoint `id` if it belongs to the team or agency `owner` (another's is as missing).
    pub fn of(conn: &mut DbConnection, owner: &str, id: &str) -> QueryResult<Option<Self>> {
        Ok(Self::find(conn, id)?.filter(|e| e.owner() == owner))
    }

    /// Whose endpoint it is, as the audit log names owners.
    pub fn belongs_to(&self) -> Option<crate::domain::audit::Owner> {
        use crate::domain::audit::Owner;
        match (&self.team_id, &self.agency_id) {
            (Some(t), _) => Some(Owner::Team(t.clone())),
            (None, Some(a)) => Some(Owner::Agency(a.clone())),
            (None, None) => None,
        }
    }

    /// The team or agency id the endpoint belongs to (the vault binds its secret to it).
    pub fn owner(&self) -> &str {
        self.team_id
            .as_deref()
            .or(self.agency_id.as_deref())
            .unwrap_or_default()
    }

    /// Replaces a sealed secret of version `version` by its re-wrapped form, if unchanged.
    pub fn rewrap(
        conn: &mut DbConnection,
        id: &str,
        version: i64,
        old: &str,
        new: &str,
    ) -> QueryResult<bool> {
        let current = diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::secret_version.eq(version))
                .filter(webhook_endpoints::secret.eq(old)),
        )
        .set(webhook_endpoints::secret.eq(new))
        .execute(conn)?;
        let previous = diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::previous_secret_version.eq(version))
                .filter(webhook_endpoints::previous_secret.eq(old)),
        )
        .set(webhook_endpoints::previous_secret.eq(new))
        .execute(conn)?;
        Ok(current + previous > 0)
    }
}

/// The ids of enabled endpoints, as a subquery: a disabled endpoint's deliveries wait, pending,
/// for it to be enabled again. (A macro: `claim_due` uses it once per backend.)
macro_rules! enabled_endpoints {
    () => {
        webhook_endpoints::table
            .filter(webhook_endpoints::enabled.eq(true))
            .select(webhook_endpoints::id)
    };
}

/// The change that makes a delivery due at `$now` (a replay).
macro_rules! due_again {
    ($now:expr) => {
        (
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::next_attempt_at.eq($now),
            webhook_deliveries::locked_until.eq(None::<i64>),
        )
    };
}

/// Whether a round has anything to do at `now`: events to fan out or deliveries due (two
/// indexed reads, so an idle server takes no write lock for it).
pub fn has_work(conn: &mut DbConnection, now: i64) -> QueryResult<bool> {
    if super::outbox::any_to_fan_out(conn)? {
        return Ok(true);
    }
    let due: i64 = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(webhook_deliveries::endpoint_id.eq_any(enabled_endpoints!()))
        .select(diesel::dsl::count_star())
        .first(conn)?;
    Ok(due > 0)
}

/// Deliveries still to be sent (pending, due or waiting for a retry), for `/metrics`.
pub fn pending_deliveries(conn: &mut DbConnection) -> QueryResult<i64> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .select(diesel::dsl::count_star())
        .first(conn)
}

/// The enabled endpoints that may receive event `event` of `team` (its own, and its
/// agency's) or of `agency` (the agency's own events go to agency endpoints only), added
/// before it happened.
pub fn endpoints_for(
    conn: &mut DbConnection,
    team: Option<&str>,
    agency: Option<&str>,
    event: &str,
) -> QueryResult<Vec<WebhookEndpoint>> {
    let agency_of_team: Option<String> = match team {
        Some(t) => teams::table
            .find(t)
            .select(teams::agency_id)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten(),
        None => None,
    };
    let agency = agency.map(str::to_owned).or(agency_of_team);
    let mut q = webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .filter(webhook_endpoints::since_event.lt(event.to_owned()))
        .into_boxed();
    q = match (team, agency) {
        (Some(t), Some(a)) => q.filter(
            webhook_endpoints::team_id
                .eq(t.to_owned())
                .or(webhook_endpoints::agency_id.eq(a)),
        ),
        (Some(t), None) => q.filter(webhook_endpoints::team_id.eq(t.to_owned())),
        (None, Some(a)) => q.filter(webhook_endpoints::agency_id.eq(a)),
        (None, None) => return Ok(Vec::new()),
    };
    q.select(WebhookEndpoint::as_select()).load(conn)
}

/// A delivery row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    /// Id.
    pub id: DeliveryId,
    /// Endpoint.
    pub endpoint_id: WebhookEndpointId,
    /// The event (its payload is what is sent).
    pub outbox_event_id: OutboxEventId,
    /// Its type (for filters).
    pub event_type: String,
    /// `pending`, `succeeded`, `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<i64>,
    /// A worker holds it until then.
    pub locked_until: Option<i64>,
    /// Last attempt.
    pub last_attempt_at: Option<i64>,
    /// Its status code.
    pub last_status_code: Option<i32>,
    /// Its latency.
    pub last_latency_ms: Option<i64>,
    /// Why it failed without an answer.
    pub last_error: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

impl Delivery {
    /// A new delivery of event `event` (of `event_type`) to `endpoint`, due at `now`.
    pub fn pending(
        id: DeliveryId,
        endpoint: &WebhookEndpointId,
        event: &OutboxEventId,
        event_type: &str,
        now: i64,
    ) -> Self {
        Self {
            id,
            endpoint_id: endpoint.clone(),
            outbox_event_id: event.clone(),
            event_type: event_type.to_owned(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: Some(now),
            locked_until: None,
            last_attempt_at: None,
            last_status_code: None,
            last_latency_ms: None,
            last_error: None,
            created_at: now,
        }
    }

    /// Inserts deliveries, skipping an (endpoint, event) pair that exists already.
    pub fn insert_new(conn: &mut DbConnection, rows: &[Delivery]) -> QueryResult<usize> {
        let mut n = 0;
        for d in rows {
            let exists: i64 = webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(&d.endpoint_id))
                .filter(webhook_deliveries::outbox_event_id.eq(&d.outbox_event_id))
                .count()
                .get_result(conn)?;
            if exists == 0 {
                diesel::insert_into(webhook_deliveries::table)
                    .values(d)
                    .execute(conn)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Claims up to `limit` due deliveries for `lease` seconds, oldest due first.
    pub fn claim_due(
        conn: &mut DbConnection,
        now: i64,
        limit: i64,
        lease: i64,
    ) -> QueryResult<Vec<Delivery>> {
        // The query twice, once per backend: `as_select` fixes the backend where it is used.
        macro_rules! due {
            () => {
                webhook_deliveries::table
                    .filter(webhook_deliveries::status.eq("pending"))
                    .filter(webhook_deliveries::next_attempt_at.le(now))
                    .filter(webhook_deliveries::endpoint_id.eq_any(enabled_endpoints!()))
                    .filter(
                        webhook_deliveries::locked_until
                            .is_null()
                            .or(webhook_deliveries::locked_until.lt(now)),
                    )
                    .order((
                        webhook_deliveries::next_attempt_at.asc(),
                        webhook_deliveries::id.asc(),
                    ))
                    .limit(limit)
                    .select(Delivery::as_select())
            };
        }
        let rows: Vec<Delivery> = match conn {
            DbConnection::Postgres(c) => due!().for_update().skip_locked().load(c)?,
            DbConnection::Sqlite(c) => due!().load(c)?,
        };
        let ids: Vec<&str> = rows.iter().map(|d| d.id.as_str()).collect();
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set(webhook_deliveries::locked_until.eq(now + lease))
            .execute(conn)?;
        Ok(rows)
    }

    /// Makes every pending delivery of `endpoint` due at `now` (it was just enabled again).
    pub fn all_due(conn: &mut DbConnection, endpoint: &str, now: i64) -> QueryResult<usize> {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(endpoint))
                .filter(webhook_deliveries::status.eq("pending")),
        )
        .set(webhook_deliveries::next_attempt_at.eq(now))
        .execute(conn)
    }

    /// Gives up a claim without an attempt (its endpoint was disabled meanwhile).
    pub fn release(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
        diesel::update(webhook_deliveries::table.find(id))
            .set(webhook_deliveries::locked_until.eq(None::<i64>))
            .execute(conn)
            .map(|_| ())
    }

    /// Records an attempt and the delivery's new state (`next`: when to retry, or none). A
    /// delivery deleted meanwhile (its endpoint was) is skipped: false.
    pub fn record_attempt(
        conn: &mut DbConnection,
        d: &Delivery,
        attempt: &Attempt,
        status: &str,
        next: Option<i64>,
    ) -> QueryResult<bool> {
        let updated = diesel::update(webhook_deliveries::table.find(&d.id))
            .set((
                webhook_deliveries::status.eq(status),
                webhook_deliveries::attempts.eq(attempt.attempt),
                webhook_deliveries::next_attempt_at.eq(next),
                webhook_deliveries::locked_until.eq(None::<i64>),
                webhook_deliveries::last_attempt_at.eq(attempt.at),
                webhook_deliveries::last_status_code.eq(attempt.status_code),
                webhook_deliveries::last_latency_ms.eq(attempt.latency_ms),
                webhook_deliveries::last_error.eq(&attempt.error),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Ok(false);
        }
        diesel::insert_into(webhook_attempts::table)
            .values(attempt)
            .execute(conn)?;
        Ok(true)
    }
}

/// A delivery's states: waiting or retrying, delivered, given up.
pub const DELIVERY_STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

/// Which deliveries of an endpoint the log shows.
#[derive(Debug, Default, Clone)]
pub struct DeliveryFilter {
    /// `pending`, `succeeded` or `failed`.
    pub status: Option<String>,
    /// One event type.
    pub event_type: Option<String>,
    /// Older than this delivery id (the next page).
    pub before: Option<String>,
}

impl Delivery {
    /// Delivery `id` if it is endpoint `endpoint`'s.
    pub fn of_endpoint(
        conn: &mut DbConnection,
        endpoint: &str,
        id: &str,
    ) -> QueryResult<Option<Delivery>> {
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint))
            .filter(webhook_deliveries::id.eq(id))
            .select(Delivery::as_select())
            .first(conn)
            .optional()
    }

    /// Endpoint `endpoint`'s deliveries matching `f`, newest first, at most `limit`.
    pub fn log(
        conn: &mut DbConnection,
        endpoint: &str,
        f: &DeliveryFilter,
        limit: i64,
    ) -> QueryResult<Vec<Delivery>> {
        let mut q = webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint.to_owned()))
            .into_boxed();
        if let Some(s) = &f.status {
            q = q.filter(webhook_deliveries::status.eq(s.clone()));
        }
        if let Some(t) = &f.event_type {
            q = q.filter(webhook_deliveries::event_type.eq(t.clone()));
        }
        if let Some(b) = &f.before {
            q = q.filter(webhook_deliveries::id.lt(b.clone()));
        }
        q.order(webhook_deliveries::id.desc())
            .limit(limit)
            .select(Delivery::as_select())
            .load(conn)
    }

    /// Makes delivery `id` of `endpoint` due again at `now`, whatever its state: one more
    /// attempt (and, if it fails, the retries that are left). 0 when it is not the endpoint's.
    pub fn replay_one(
        conn: &mut DbConnection,
        endpoint: &str,
        id: &str,
        now: i64,
    ) -> QueryResult<usize> {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(endpoint))
                .filter(webhook_deliveries::id.eq(id)),
        )
        .set(due_again!(now))
        .execute(conn)
    }

    /// Makes every undelivered delivery of `endpoint` created at or after `since` due at
    /// `now` — those that failed for good and those still retrying (after an outage nobody
    /// wants to wait hours for the next scheduled attempt) — in one statement; returns how
    /// many. One a worker is sending right now (its claim still holds) is left to it.
    pub fn retry_now_since(
        conn: &mut DbConnection,
        endpoint: &str,
        since: i64,
        now: i64,
    ) -> QueryResult<usize> {
        let retrying = webhook_deliveries::status
            .eq("pending")
            .and(webhook_deliveries::attempts.gt(0))
            .and(
                webhook_deliveries::locked_until
                    .is_null()
                    .or(webhook_deliveries::locked_until.le(now)),
            );
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::endpoint_id.eq(endpoint))
                .filter(webhook_deliveries::status.eq("failed").or(retrying))
                .filter(webhook_deliveries::created_at.ge(since)),
        )
        .set(due_again!(now))
        .execute(conn)
    }
}

impl Attempt {
    /// The attempts of deliveries `ids`, newest first.
    pub fn of_deliveries(conn: &mut DbConnection, ids: &[DeliveryId]) -> QueryResult<Vec<Attempt>> {
        webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq_any(ids))
            .order((
                webhook_attempts::at.desc(),
                webhook_attempts::attempt.desc(),
            ))
            .select(Attempt::as_select())
            .load(conn)
    }

    /// Attempts to `endpoint` at or after `since`: (succeeded, all).
    pub fn outcomes_since(
        conn: &mut DbConnection,
        endpoint: &str,
        since: i64,
    ) -> QueryResult<(i64, i64)> {
        macro_rules! window {
            () => {
                webhook_attempts::table
                    .inner_join(webhook_deliveries::table)
                    .filter(webhook_deliveries::endpoint_id.eq(endpoint))
                    .filter(webhook_attempts::at.ge(since))
            };
        }
        let all: i64 = window!().count().get_result(conn)?;
        let ok: i64 = window!()
            .filter(webhook_attempts::status_code.between(200, 299))
            .count()
            .get_result(conn)?;
        Ok((ok, all))
    }
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct Attempt {
    /// Id.
    pub id: AttemptId,
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// 1, 2, …
    pub attempt: i64,
    /// When.
    pub at: i64,
    /// The answer's status code, if any.
    pub status_code: Option<i32>,
    /// How long it took.
    pub latency_ms: i64,
    /// Why there was no answer.
    pub error: Option<String>,
    /// The first characters of the answer.
    pub excerpt: Option<String>,
}

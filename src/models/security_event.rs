//! An account's own security activity (sign-in, sign-out, failures, throttling), shown on the
//! "Your account" page.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::security_events;
use crate::domain::audit::SecurityAction;
use crate::domain::ids::{SecurityEventId, UserId};

/// One stored security event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = security_events)]
pub struct SecurityEvent {
    /// `sec_…`.
    pub id: SecurityEventId,
    /// The account.
    pub user_id: UserId,
    /// Dotted action name.
    pub action: String,
    /// The client's address.
    pub ip: Option<String>,
    /// The browser, as it named itself (truncated).
    pub user_agent: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// Longest user agent kept.
const USER_AGENT_MAX: usize = 200;

/// Appends a security event for `user`.
pub fn insert(
    conn: &mut DbConnection,
    user: &UserId,
    action: SecurityAction,
    ip: Option<&str>,
    user_agent: Option<&str>,
    at: i64,
) -> QueryResult<()> {
    let agent: Option<String> = user_agent.map(|a| a.chars().take(USER_AGENT_MAX).collect());
    diesel::insert_into(security_events::table)
        .values((
            security_events::id.eq(SecurityEventId::generate_ordered().as_str()),
            security_events::user_id.eq(user.as_str()),
            security_events::action.eq(action.as_str()),
            security_events::ip.eq(ip),
            security_events::user_agent.eq(agent),
            security_events::created_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Whether `user` has an `action` event at or after `since`.
pub fn noted_since(
    conn: &mut DbConnection,
    user: &UserId,
    action: SecurityAction,
    since: i64,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        security_events::table
            .filter(security_events::user_id.eq(user.as_str()))
            .filter(security_events::action.eq(action.as_str()))
            .filter(security_events::created_at.ge(since)),
    ))
    .get_result(conn)
}

/// The account's newest events, strictly older than `before` (created_at, id).
pub fn page(
    conn: &mut DbConnection,
    user: &UserId,
    before: Option<(i64, String)>,
    limit: i64,
) -> QueryResult<Vec<SecurityEvent>> {
    let mut q = security_events::table
        .filter(security_events::user_id.eq(user.as_str().to_owned()))
        .into_boxed();
    if let Some((at, id)) = before {
        q = q.filter(security_events::created_at.le(at)).filter(
            security_events::created_at
                .lt(at)
                .or(security_events::id.lt(id)),
        );
    }
    q.order((
        security_events::created_at.desc(),
        security_events::id.desc(),
    ))
    .limit(limit)
    .select(SecurityEvent::as_select())
    .load(conn)
}

/// The cursor of event `id` of `user`, if it is theirs.
pub fn cursor_of(
    conn: &mut DbConnection,
    user: &UserId,
    id: &str,
) -> QueryResult<Option<(i64, String)>> {
    security_events::table
        .filter(security_events::user_id.eq(user.as_str()))
        .filter(security_events::id.eq(id))
        .select((security_events::created_at, security_events::id))
        .first(conn)
        .optional()
}

/// Deletes events older than `cutoff`; returns how many.
pub fn prune(conn: &mut DbConnection, cutoff: i64) -> QueryResult<usize> {
    diesel::delete(security_events::table.filter(security_events::created_at.lt(cutoff)))
        .execute(conn)
}

//! Server-side session rows. The row id is the SHA-256 of the cookie's session key.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::sessions;

/// A stored session.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    /// JSON object of the session state.
    pub state: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Loads an unexpired session by the digest of its key.
pub fn load(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<Option<SessionRow>> {
    sessions::table
        .find(id)
        .filter(sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .first(conn)
        .optional()
}

/// What the "Sessions" list shows of a signed-in session, kept in columns beside its state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The signed-in user.
    pub user_id: Option<String>,
    /// Its public handle (random, made at sign-in; never the cookie's key).
    pub handle: Option<String>,
    /// The address it signed in from.
    pub ip: Option<String>,
    /// The browser's user agent at sign-in.
    pub user_agent: Option<String>,
    /// When it signed in (Unix seconds).
    pub signed_in_at: Option<i64>,
}

/// Inserts a new session, first clearing expired ones (keeps the table bounded).
pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    facts: &Facts,
    state: &str,
    now: i64,
    expires_at: i64,
) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::user_id.eq(&facts.user_id),
            sessions::state.eq(state),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
            sessions::handle.eq(&facts.handle),
            sessions::ip.eq(&facts.ip),
            sessions::user_agent.eq(&facts.user_agent),
            sessions::signed_in_at.eq(facts.signed_in_at),
            sessions::last_seen_at.eq(Some(now)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Replaces the state of a live session; returns false if it no longer exists.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    facts: &Facts,
    state: &str,
    now: i64,
    expires_at: i64,
) -> QueryResult<bool> {
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::expires_at.gt(now)),
    )
    .set((
        sessions::user_id.eq(&facts.user_id),
        sessions::state.eq(state),
        sessions::expires_at.eq(expires_at),
        sessions::handle.eq(&facts.handle),
        sessions::ip.eq(&facts.ip),
        sessions::user_agent.eq(&facts.user_agent),
        sessions::signed_in_at.eq(facts.signed_in_at),
        sessions::last_seen_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Extends a session, noting it active at `now`.
pub fn touch(conn: &mut DbConnection, id: &str, now: i64, expires_at: i64) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set((
            sessions::expires_at.eq(expires_at),
            sessions::last_seen_at.eq(Some(now)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A signed-in session of a user, as "Your account" lists it.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    /// Public handle.
    pub handle: Option<String>,
    /// Address at sign-in.
    pub ip: Option<String>,
    /// User agent at sign-in.
    pub user_agent: Option<String>,
    /// Signed in at.
    pub signed_in_at: Option<i64>,
    /// Last request (to the minute).
    pub last_seen_at: Option<i64>,
}

/// `user`'s live sessions, the most recently active first.
pub fn of_user(conn: &mut DbConnection, user: &str, now: i64) -> QueryResult<Vec<Listed>> {
    sessions::table
        .filter(sessions::user_id.eq(user))
        .filter(sessions::expires_at.gt(now))
        .order((sessions::last_seen_at.desc(), sessions::created_at.desc()))
        .select((
            sessions::handle,
            sessions::ip,
            sessions::user_agent,
            sessions::signed_in_at,
            sessions::last_seen_at,
        ))
        .load(conn)
}

/// Ends `user`'s session with `handle`; false when there is none (another user's handle
/// included).
pub fn end_one(conn: &mut DbConnection, user: &str, handle: &str) -> QueryResult<bool> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user))
            .filter(sessions::handle.eq(handle)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Ends every session of `user` but the one with handle `keep` (all of them when `None`);
/// returns how many ended.
pub fn end_all(conn: &mut DbConnection, user: &str, keep: Option<&str>) -> QueryResult<usize> {
    match keep {
        Some(k) => diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(user))
                .filter(sessions::handle.ne(k).or(sessions::handle.is_null())),
        )
        .execute(conn),
        None => diesel::delete(sessions::table.filter(sessions::user_id.eq(user))).execute(conn),
    }
}

/// Ends a session.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id))
        .execute(conn)
        .map(|_| ())
}

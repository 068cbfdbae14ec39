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

/// Inserts a new session, first clearing expired ones (keeps the table bounded).
pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    user_id: Option<&str>,
    state: &str,
    now: i64,
    expires_at: i64,
) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::user_id.eq(user_id),
            sessions::state.eq(state),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Replaces the state of a live session; returns false if it no longer exists.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    user_id: Option<&str>,
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
        sessions::user_id.eq(user_id),
        sessions::state.eq(state),
        sessions::expires_at.eq(expires_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Extends a session.
pub fn touch(conn: &mut DbConnection, id: &str, expires_at: i64) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::expires_at.eq(expires_at))
        .execute(conn)
        .map(|_| ())
}

/// Ends a session.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id))
        .execute(conn)
        .map(|_| ())
}

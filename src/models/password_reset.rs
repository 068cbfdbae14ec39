//! One-time password reset links: only the SHA-256 of the token is stored; a link works once,
//! for [`RESET_TTL`] seconds.

use diesel::prelude::*;

use super::{LinkToken, sha256_hex};
use crate::db::DbConnection;
use crate::db::schema::password_resets;
use crate::domain::ids::UserId;

/// How long a reset link works.
pub const RESET_TTL: i64 = 3600;

/// Links one account may be sent per hour (more requests are answered alike and send nothing).
pub const PER_HOUR: i64 = 3;

/// Makes a reset link for `user` at `now`; returns its token.
pub fn create(conn: &mut DbConnection, user: &UserId, now: i64) -> QueryResult<LinkToken> {
    let token = LinkToken::draw();
    diesel::insert_into(password_resets::table)
        .values((
            password_resets::token_digest.eq(token.digest()),
            password_resets::user_id.eq(user.as_str()),
            password_resets::created_at.eq(now),
            password_resets::expires_at.eq(now + RESET_TTL),
        ))
        .execute(conn)?;
    Ok(token)
}

/// Links made for `user` since `since`.
pub fn made_since(conn: &mut DbConnection, user: &UserId, since: i64) -> QueryResult<i64> {
    password_resets::table
        .filter(password_resets::user_id.eq(user.as_str()))
        .filter(password_resets::created_at.ge(since))
        .count()
        .get_result(conn)
}

/// The account a usable (unused, unexpired) `token` resets.
pub fn usable(conn: &mut DbConnection, token: &str, now: i64) -> QueryResult<Option<UserId>> {
    password_resets::table
        .find(sha256_hex(token))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .select(password_resets::user_id)
        .first::<String>(conn)
        .optional()
        .map(|u| u.map(UserId::from_db))
}

/// Uses `token` up (and every other open link of its account): the account it resets, or
/// `None` when it was not usable — a second tab or a replay loses the race.
pub fn redeem(conn: &mut DbConnection, token: &str, now: i64) -> QueryResult<Option<UserId>> {
    let Some(user) = usable(conn, token, now)? else {
        return Ok(None);
    };
    let n = diesel::update(
        password_resets::table
            .find(sha256_hex(token))
            .filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(Some(now)))
    .execute(conn)?;
    if n != 1 {
        return Ok(None);
    }
    diesel::update(
        password_resets::table
            .filter(password_resets::user_id.eq(user.as_str()))
            .filter(password_resets::used_at.is_null()),
    )
    .set(password_resets::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(Some(user))
}

//! Changes of an account's e-mail address waiting for the link sent to the new address: only
//! the SHA-256 of the token is stored; a link works once, for [`CHANGE_TTL`] seconds.

use diesel::prelude::*;

use super::{LinkToken, sha256_hex};
use crate::db::DbConnection;
use crate::db::schema::email_changes;
use crate::domain::ids::UserId;

/// How long a confirmation link works.
pub const CHANGE_TTL: i64 = 86_400;

/// Makes a confirmation link moving `user` to `new_email`; returns its token. Earlier open
/// links of the account stop working (only the latest request counts).
pub fn create(
    conn: &mut DbConnection,
    user: &UserId,
    new_email: &str,
    now: i64,
) -> QueryResult<LinkToken> {
    diesel::update(
        email_changes::table
            .filter(email_changes::user_id.eq(user.as_str()))
            .filter(email_changes::used_at.is_null()),
    )
    .set(email_changes::used_at.eq(Some(now)))
    .execute(conn)?;
    let token = LinkToken::draw();
    diesel::insert_into(email_changes::table)
        .values((
            email_changes::token_digest.eq(token.digest()),
            email_changes::user_id.eq(user.as_str()),
            email_changes::new_email.eq(new_email),
            email_changes::created_at.eq(now),
            email_changes::expires_at.eq(now + CHANGE_TTL),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The account and new address of a usable (unused, unexpired) `token`.
pub fn usable(
    conn: &mut DbConnection,
    token: &str,
    now: i64,
) -> QueryResult<Option<(UserId, String)>> {
    email_changes::table
        .find(sha256_hex(token))
        .filter(email_changes::used_at.is_null())
        .filter(email_changes::expires_at.gt(now))
        .select((email_changes::user_id, email_changes::new_email))
        .first::<(String, String)>(conn)
        .optional()
        .map(|r| r.map(|(u, e)| (UserId::from_db(u), e)))
}

/// Uses `token` up: the account and its new address, or `None` when it was not usable (a
/// second tab or a replay loses the race).
pub fn redeem(
    conn: &mut DbConnection,
    token: &str,
    now: i64,
) -> QueryResult<Option<(UserId, String)>> {
    let Some(found) = usable(conn, token, now)? else {
        return Ok(None);
    };
    let n = diesel::update(
        email_changes::table
            .find(sha256_hex(token))
            .filter(email_changes::used_at.is_null()),
    )
    .set(email_changes::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok((n == 1).then_some(found))
}

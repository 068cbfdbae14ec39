//! The one-time set-up link printed at first start, stored as a digest.

use diesel::prelude::*;

use super::sha256_hex;
use crate::db::DbConnection;
use crate::db::schema::setup_tokens;

/// How long a printed set-up link works.
pub const SETUP_TOKEN_TTL: i64 = 24 * 3600;

/// Adds a set-up token (and forgets expired ones). Earlier tokens stay valid until they
/// expire or set-up is done: with several nodes starting on one database, each prints its own
/// link, and whichever one the operator opens must work.
pub fn add(conn: &mut DbConnection, token: &str, now: i64) -> QueryResult<()> {
    diesel::delete(setup_tokens::table.filter(setup_tokens::expires_at.le(now))).execute(conn)?;
    diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_digest.eq(sha256_hex(token)),
            setup_tokens::expires_at.eq(now + SETUP_TOKEN_TTL),
        ))
        .execute(conn)
        .map(|_| ())
}

/// True when `token` is one of the unexpired set-up tokens. The lookup is by digest, so the
/// comparison never touches the plaintext.
pub fn is_valid(conn: &mut DbConnection, token: &str, now: i64) -> QueryResult<bool> {
    if token.is_empty() || token.len() > 128 {
        return Ok(false);
    }
    diesel::select(diesel::dsl::exists(
        setup_tokens::table
            .filter(setup_tokens::token_digest.eq(sha256_hex(token)))
            .filter(setup_tokens::expires_at.gt(now)),
    ))
    .get_result(conn)
}

/// Removes all set-up tokens (set-up is done).
pub fn clear(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::delete(setup_tokens::table)
        .execute(conn)
        .map(|_| ())
}

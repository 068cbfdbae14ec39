//! An account's authenticator secret (sealed) and recovery codes (digests).

use diesel::prelude::*;

use super::sha256_hex;
use crate::db::DbConnection;
use crate::db::schema::{agencies, agency_members, memberships, recovery_codes, teams, user_totp};
use crate::domain::ids::UserId;

/// An account's authenticator.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_totp)]
pub struct Totp {
    /// The sealed base32 secret.
    pub secret: String,
    /// When enrolment was started.
    pub created_at: i64,
    /// When a first code confirmed it; until then sign-in does not ask for codes.
    pub confirmed_at: Option<i64>,
    /// The last step a code was accepted for.
    pub last_step: i64,
}

/// `user`'s authenticator, confirmed or not.
pub fn find(conn: &mut DbConnection, user: &UserId) -> QueryResult<Option<Totp>> {
    user_totp::table
        .find(user.as_str())
        .select(Totp::as_select())
        .first(conn)
        .optional()
}

/// Whether `user` signs in with a second factor.
pub fn enrolled(conn: &mut DbConnection, user: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        user_totp::table
            .find(user.as_str())
            .filter(user_totp::confirmed_at.is_not_null()),
    ))
    .get_result(conn)
}

/// Whether `user` has a second factor: an authenticator app or a passkey.
pub fn has_second_factor(conn: &mut DbConnection, user: &UserId) -> QueryResult<bool> {
    Ok(enrolled(conn, user)? || super::passkey::any(conn, user)?)
}

/// Which of `users` have a second factor (the members page's "Two-factor" column).
pub fn with_second_factor_among(
    conn: &mut DbConnection,
    users: &[String],
) -> QueryResult<std::collections::HashSet<String>> {
    let mut with = enrolled_among(conn, users)?;
    with.extend(super::passkey::among(conn, users)?);
    Ok(with)
}

/// Which of `users` have an authenticator app.
fn enrolled_among(
    conn: &mut DbConnection,
    users: &[String],
) -> QueryResult<std::collections::HashSet<String>> {
    Ok(user_totp::table
        .filter(user_totp::user_id.eq_any(users))
        .filter(user_totp::confirmed_at.is_not_null())
        .select(user_totp::user_id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

/// The teams and agencies `user` belongs to that require a second factor of their members,
/// by name.
pub fn required_by(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<String>> {
    let mut names: Vec<String> = teams::table
        .inner_join(memberships::table)
        .filter(memberships::user_id.eq(user.as_str()))
        .filter(teams::require_two_factor.eq(true))
        .select(teams::name)
        .load(conn)?;
    names.extend(
        agencies::table
            .inner_join(agency_members::table)
            .filter(agency_members::user_id.eq(user.as_str()))
            .filter(agencies::require_two_factor.eq(true))
            .select(agencies::name)
            .load::<String>(conn)?,
    );
    names.sort();
    Ok(names)
}

/// Starts (or restarts) enrolment with `sealed`; an account already enrolled keeps its
/// authenticator (false).
pub fn begin(conn: &mut DbConnection, user: &UserId, sealed: &str, now: i64) -> QueryResult<bool> {
    if enrolled(conn, user)? {
        return Ok(false);
    }
    diesel::delete(user_totp::table.find(user.as_str())).execute(conn)?;
    diesel::insert_into(user_totp::table)
        .values((
            user_totp::user_id.eq(user.as_str()),
            user_totp::secret.eq(sealed),
            user_totp::created_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

/// Records that a code of `step` was used: false when that step (or a later one) was already
/// (a replay, possibly on another node) — the update is the check.
pub fn use_step(conn: &mut DbConnection, user: &UserId, step: i64) -> QueryResult<bool> {
    diesel::update(
        user_totp::table
            .find(user.as_str())
            .filter(user_totp::last_step.lt(step)),
    )
    .set(user_totp::last_step.eq(step))
    .execute(conn)
    .map(|n| n == 1)
}

/// Confirms enrolment at `now` and replaces the recovery codes with `codes` (as typed).
pub fn confirm(
    conn: &mut DbConnection,
    user: &UserId,
    codes: &[String],
    now: i64,
) -> QueryResult<()> {
    diesel::update(user_totp::table.find(user.as_str()))
        .set(user_totp::confirmed_at.eq(Some(now)))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.as_str())))
        .execute(conn)?;
    for code in codes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user.as_str()),
                recovery_codes::code_digest.eq(sha256_hex(&code.replace('-', ""))),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Uses up recovery code `normalised` of `user` (false: unknown or used).
pub fn use_recovery_code(
    conn: &mut DbConnection,
    user: &UserId,
    normalised: &str,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .find((user.as_str(), sha256_hex(normalised)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(now)))
    .execute(conn)
    .map(|n| n == 1)
}

/// Recovery codes `user` has left.
pub fn codes_left(conn: &mut DbConnection, user: &UserId) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user.as_str()))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Removes `user`'s authenticator and recovery codes.
pub fn remove(conn: &mut DbConnection, user: &UserId) -> QueryResult<()> {
    diesel::delete(user_totp::table.find(user.as_str())).execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.as_str())))
        .execute(conn)
        .map(drop)
}

/// Every sealed secret (user id, sealed), for the vault's census and re-wrap.
pub fn sealed(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    user_totp::table
        .select((user_totp::user_id, user_totp::secret))
        .load(conn)
}

/// Replaces `user`'s sealed secret `old` with `new` (a re-wrap); false when it changed.
pub fn rewrap(conn: &mut DbConnection, user: &str, old: &str, new: &str) -> QueryResult<bool> {
    diesel::update(
        user_totp::table
            .find(user)
            .filter(user_totp::secret.eq(old)),
    )
    .set(user_totp::secret.eq(new))
    .execute(conn)
    .map(|n| n == 1)
}

//! Which lifecycle notices each key has had (`domain::key_notice`), and the keys that may be
//! due one.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{api_key_notices, api_keys};
use crate::domain::key_notice::{LATE_AT_MOST, Notice};
use crate::models::api_key::ApiKey;

/// Live keys (not deleted, not rotated away) that expire within a week from `now` or expired
/// in the last week.
pub fn expiring(conn: &mut DbConnection, now: i64) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::retiring_until.is_null())
        .filter(api_keys::expires_at.ge(now - LATE_AT_MOST))
        .filter(api_keys::expires_at.le(now + 7 * 86_400))
        .order(api_keys::id.asc())
        .select(ApiKey::as_select())
        .load(conn)
}

/// Rotated-away keys whose grace period ran out in the last week (one ended early was revoked
/// then, and announced by the person who ended it).
pub fn grace_ended(conn: &mut DbConnection, now: i64) -> QueryResult<Vec<ApiKey>> {
    api_keys::table
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::retiring_until.ge(now - LATE_AT_MOST))
        .filter(api_keys::retiring_until.le(now))
        .order(api_keys::id.asc())
        .select(ApiKey::as_select())
        .load(conn)
}

/// The (key, notice) pairs already sent among `keys`.
pub fn sent(conn: &mut DbConnection, keys: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            api_key_notices::table
                .filter(api_key_notices::api_key_id.eq_any(chunk))
                .select((api_key_notices::api_key_id, api_key_notices::kind))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Marks `notice` sent for `key`; false when it was already (another node got there first).
pub fn claim(conn: &mut DbConnection, key: &str, notice: Notice, at: i64) -> QueryResult<bool> {
    let exists: i64 = api_key_notices::table
        .filter(api_key_notices::api_key_id.eq(key))
        .filter(api_key_notices::kind.eq(notice.as_str()))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(api_key_notices::table)
        .values((
            api_key_notices::api_key_id.eq(key),
            api_key_notices::kind.eq(notice.as_str()),
            api_key_notices::at.eq(at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

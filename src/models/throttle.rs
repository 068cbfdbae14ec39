//! Sign-in throttling per e-mail address (known or not, so it reveals nothing). Five free
//! failures, then a wait that doubles from 30 s up to 15 min: slows guessing to a crawl
//! without ever locking the real owner out for long.

use diesel::prelude::*;

use super::sha256_hex;
use crate::db::DbConnection;
use crate::db::schema::login_throttles;

/// Failures allowed before waits begin.
pub const FREE_FAILURES: i32 = 5;
/// Longest wait, seconds.
pub const MAX_WAIT: i64 = 15 * 60;
/// Failures older than this are forgotten.
pub const FORGET_AFTER: i64 = 24 * 3600;

fn wait_for(failures: i32) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = u32::try_from(failures - FREE_FAILURES).unwrap_or(0).min(10);
    (30_i64 << doublings).min(MAX_WAIT)
}

/// Seconds until the next attempt for this e-mail is allowed (0 = now).
pub fn retry_after(conn: &mut DbConnection, email: &str, now: i64) -> QueryResult<i64> {
    let row: Option<(i32, i64)> = login_throttles::table
        .find(sha256_hex(email))
        .select((login_throttles::failures, login_throttles::last_failure_at))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((failures, last)) if now - last < FORGET_AFTER => {
            (last + wait_for(failures) - now).max(0)
        }
        _ => 0,
    })
}

/// Counts a failed attempt.
pub fn record_failure(conn: &mut DbConnection, email: &str, now: i64) -> QueryResult<()> {
    let id = sha256_hex(email);
    let current: Option<(i32, i64)> = login_throttles::table
        .find(&id)
        .select((login_throttles::failures, login_throttles::last_failure_at))
        .first(conn)
        .optional()?;
    match current {
        Some((failures, last)) => {
            let failures = if now - last >= FORGET_AFTER {
                1
            } else {
                failures.saturating_add(1)
            };
            diesel::update(login_throttles::table.find(&id))
                .set((
                    login_throttles::failures.eq(failures),
                    login_throttles::last_failure_at.eq(now),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(login_throttles::table)
                .values((
                    login_throttles::email_digest.eq(&id),
                    login_throttles::failures.eq(1),
                    login_throttles::last_failure_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Forgets failures after a successful sign-in.
pub fn clear(conn: &mut DbConnection, email: &str) -> QueryResult<()> {
    diesel::delete(login_throttles::table.find(sha256_hex(email)))
        .execute(conn)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::wait_for;

    #[test]
    fn waits_start_after_five_failures_and_are_capped() {
        assert_eq!(wait_for(4), 0);
        assert_eq!(wait_for(5), 30);
        assert_eq!(wait_for(6), 60);
        assert_eq!(wait_for(40), 15 * 60);
    }
}

//! Sign-in throttling, so that guessing is slowed to a crawl without handing strangers a way to
//! lock the owner out. Three counters, each failure counting in all of them:
//!
//! - **address + e-mail**: 5 free failures, then a wait that doubles from 30 s up to 15 min.
//!   This is the one that stops a guesser.
//! - **e-mail alone** (every address): 20 free failures, then the same doubling — but *not*
//!   applied from an address the account has signed in from before, so a stranger failing
//!   from elsewhere never locks the owner out of their usual address.
//! - **address alone** (every e-mail): 100 free failures, against one address trying many
//!   accounts.
//!
//! Known and unknown e-mail addresses are counted alike, so a 429 reveals no account.

use std::net::IpAddr;

use diesel::prelude::*;

use super::sha256_hex;
use crate::db::schema::{login_known_addresses, login_throttles};
use crate::db::{DbConnection, write_tx};
use crate::domain::net::address_bucket;

/// Failures allowed per address and e-mail before waits begin.
pub const FREE_FAILURES: i32 = 5;
/// Failures allowed per e-mail, over all addresses, before waits begin at unknown addresses.
pub const FREE_FAILURES_PER_EMAIL: i32 = 20;
/// Failures allowed per address, over all e-mails, before waits begin.
pub const FREE_FAILURES_PER_ADDRESS: i32 = 100;
/// Longest wait, seconds.
pub const MAX_WAIT: i64 = 15 * 60;
/// Failures older than this are forgotten.
pub const FORGET_AFTER: i64 = 24 * 3600;
/// An address stays "known" for an account this long after its last successful sign-in.
pub const KNOWN_FOR: i64 = 90 * 86_400;

fn wait_for(failures: i32, free: i32) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = u32::try_from(failures - free).unwrap_or(0).min(10);
    (30_i64 << doublings).min(MAX_WAIT)
}

/// Who is trying to sign in: the counters' keys (digests; neither address nor e-mail is
/// stored in the clear).
pub struct Attempt {
    pair: String,
    email: String,
    address: String,
    known: String,
}

impl Attempt {
    /// The attempt of `email` from `ip` (None: unknown address, counted as one).
    pub fn new(ip: Option<IpAddr>, email: &str) -> Self {
        let addr = ip.map_or_else(|| "unknown".to_owned(), |ip| address_bucket(ip).to_string());
        Self {
            pair: sha256_hex(&format!("pair\n{addr}\n{email}")),
            email: sha256_hex(email),
            address: sha256_hex(&format!("addr\n{addr}")),
            known: sha256_hex(&format!("known\n{addr}\n{email}")),
        }
    }
}

fn counter(conn: &mut DbConnection, key: &str) -> QueryResult<Option<(i32, i64)>> {
    login_throttles::table
        .find(key)
        .select((login_throttles::failures, login_throttles::last_failure_at))
        .first(conn)
        .optional()
}

fn wait_of(row: Option<(i32, i64)>, free: i32, now: i64) -> i64 {
    match row {
        Some((failures, last)) if now - last < FORGET_AFTER => {
            (last + wait_for(failures, free) - now).max(0)
        }
        _ => 0,
    }
}

/// Seconds until the next attempt is allowed (0 = now).
pub fn retry_after(conn: &mut DbConnection, attempt: &Attempt, now: i64) -> QueryResult<i64> {
    let pair = wait_of(counter(conn, &attempt.pair)?, FREE_FAILURES, now);
    let address = wait_of(
        counter(conn, &attempt.address)?,
        FREE_FAILURES_PER_ADDRESS,
        now,
    );
    let known = login_known_addresses::table
        .find(&attempt.known)
        .select(login_known_addresses::last_success_at)
        .first::<i64>(conn)
        .optional()?
        .is_some_and(|at| now - at < KNOWN_FOR);
    let email = if known {
        0
    } else {
        wait_of(counter(conn, &attempt.email)?, FREE_FAILURES_PER_EMAIL, now)
    };
    Ok(pair.max(address).max(email))
}

fn bump(conn: &mut DbConnection, key: &str, now: i64) -> QueryResult<()> {
    match counter(conn, key)? {
        Some((failures, last)) => {
            let failures = if now - last >= FORGET_AFTER {
                1
            } else {
                failures.saturating_add(1)
            };
            diesel::update(login_throttles::table.find(key))
                .set((
                    login_throttles::failures.eq(failures),
                    login_throttles::last_failure_at.eq(now),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(login_throttles::table)
                .values((
                    login_throttles::email_digest.eq(key),
                    login_throttles::failures.eq(1),
                    login_throttles::last_failure_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Counts a failed attempt in all three counters, in one transaction.
pub fn record_failure(conn: &mut DbConnection, attempt: &Attempt, now: i64) -> QueryResult<()> {
    write_tx(conn, |c| {
        bump(c, &attempt.pair, now)?;
        bump(c, &attempt.email, now)?;
        bump(c, &attempt.address, now)
    })
}

/// After a successful sign-in: forgets this address's failures for the account and remembers
/// the address as the account's own, in one transaction. The e-mail's own count
/// stays: a guesser spread over many addresses must not get a fresh allowance each time the
/// owner signs in; it ages out a day after the last failure.
pub fn succeeded(conn: &mut DbConnection, attempt: &Attempt, now: i64) -> QueryResult<()> {
    write_tx(conn, |c| succeeded_in(c, attempt, now))
}

/// [`succeeded`], inside the caller's transaction (a completed password reset proves the
/// account's owner as a sign-in does).
pub fn succeeded_in(conn: &mut DbConnection, attempt: &Attempt, now: i64) -> QueryResult<()> {
    diesel::delete(login_throttles::table.find(&attempt.pair)).execute(conn)?;
    let updated = diesel::update(login_known_addresses::table.find(&attempt.known))
        .set(login_known_addresses::last_success_at.eq(now))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(login_known_addresses::table)
            .values((
                login_known_addresses::digest.eq(&attempt.known),
                login_known_addresses::last_success_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_are_capped() {
        assert_eq!(wait_for(4, FREE_FAILURES), 0);
        assert_eq!(wait_for(5, FREE_FAILURES), 30);
        assert_eq!(wait_for(6, FREE_FAILURES), 60);
        assert_eq!(wait_for(40, FREE_FAILURES), 15 * 60);
        assert_eq!(wait_for(19, FREE_FAILURES_PER_EMAIL), 0);
        assert_eq!(wait_for(20, FREE_FAILURES_PER_EMAIL), 30);
    }

    #[test]
    fn attempts_from_the_same_ipv6_64_share_counters() {
        let a = Attempt::new("2001:db8:1:2::1".parse().ok(), "ada@example.com");
        let b = Attempt::new("2001:db8:1:2::ffff".parse().ok(), "ada@example.com");
        let c = Attempt::new("2001:db8:1:3::1".parse().ok(), "ada@example.com");
        assert_eq!(a.pair, b.pair);
        assert_ne!(a.pair, c.pair);
        assert_eq!(a.email, c.email);
    }
}

//! Where sealed values are stored, for the commands that walk all of them: the census (how
//! many values each master key has sealed — checked at start, printed by `vault rewrap`) and
//! the re-wrap: integration credentials, webhook signing secrets and authenticator secrets.

use std::collections::BTreeMap;

use super::{Binding, Keyring, key_id_of};
use crate::db::DbConnection;
use crate::models::integration::Integration;
use crate::models::two_factor;
use crate::models::webhook::WebhookEndpoint;

/// The field integration credentials are sealed under.
const INTEGRATION_CREDENTIAL: &str = "credential";
/// The field webhook signing secrets are sealed under.
const SIGNING_SECRET: &str = "signing_secret";
/// The field authenticator secrets are sealed under.
const TOTP_SECRET: &str = "totp_secret";

/// Where user `user`'s authenticator secret is sealed (bound to the account: a secret copied
/// to another user's row does not open).
pub fn totp_secret(user: &str) -> Binding<'_> {
    Binding {
        team: user,
        owner: user,
        field: TOTP_SECRET,
        version: 1,
    }
}

/// Where endpoint `id`'s signing secret of `version` is sealed (`owner`: its team or agency).
pub fn webhook_secret<'a>(owner: &'a str, id: &'a str, version: i64) -> Binding<'a> {
    Binding {
        team: owner,
        owner: id,
        field: SIGNING_SECRET,
        version,
    }
}

/// Where integration `id`'s credential of `version` is sealed.
pub fn integration_credential<'a>(team: &'a str, id: &'a str, version: i64) -> Binding<'a> {
    Binding {
        team,
        owner: id,
        field: INTEGRATION_CREDENTIAL,
        version,
    }
}

/// Sealed values per master key id.
pub fn census(conn: &mut DbConnection) -> diesel::QueryResult<BTreeMap<String, usize>> {
    let mut counts = BTreeMap::new();
    let all = Integration::sealed(conn)?
        .into_iter()
        .chain(WebhookEndpoint::sealed(conn)?)
        .map(|(_, _, _, sealed)| sealed)
        .chain(
            two_factor::sealed(conn)?
                .into_iter()
                .map(|(_, sealed)| sealed),
        );
    for sealed in all {
        let id = key_id_of(&sealed).unwrap_or("(unreadable)").to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    Ok(counts)
}

/// What a re-wrap did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewrapped {
    /// Values moved to the current key.
    pub rewrapped: usize,
    /// Values already on it.
    pub current: usize,
    /// Values that did not open (their ids), left as they were.
    pub failed: Vec<String>,
}

/// Re-wraps every sealed value's data key with the current master key (values changed
/// meanwhile are left to their writer). Run inside one connection, a row at a time.
pub fn rewrap_all(conn: &mut DbConnection, ring: &Keyring) -> diesel::QueryResult<Rewrapped> {
    let mut report = Rewrapped::default();
    for (id, team, version, sealed) in Integration::sealed(conn)? {
        let place = integration_credential(&team, &id, version);
        match ring.rewrap(&place, &sealed) {
            Ok(None) => report.current += 1,
            Ok(Some(new)) => {
                if Integration::rewrap(conn, &id, &sealed, &new)? {
                    report.rewrapped += 1;
                }
            }
            Err(_) => report.failed.push(id),
        }
    }
    for (id, owner, version, sealed) in WebhookEndpoint::sealed(conn)? {
        match ring.rewrap(&webhook_secret(&owner, &id, version), &sealed) {
            Ok(None) => report.current += 1,
            Ok(Some(new)) => {
                if WebhookEndpoint::rewrap(conn, &id, version, &sealed, &new)? {
                    report.rewrapped += 1;
                }
            }
            Err(_) => report.failed.push(id),
        }
    }
    for (user, sealed) in two_factor::sealed(conn)? {
        match ring.rewrap(&totp_secret(&user), &sealed) {
            Ok(None) => report.current += 1,
            Ok(Some(new)) => {
                if two_factor::rewrap(conn, &user, &sealed, &new)? {
                    report.rewrapped += 1;
                }
            }
            Err(_) => report.failed.push(user),
        }
    }
    Ok(report)
}

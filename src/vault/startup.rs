//! The vault at start: the configured master keys must fit the data (a stored check value per
//! key), or the server does not start — a wrong key is a clear message now, not a failure on
//! the first credential use.

use super::{Keyring, stores};
use crate::db::DbPool;
use crate::db::{with_read, with_write};
use crate::models::vault_check;

/// Checks `ring` against the stored checks and stores the current key's check when it has
/// none; then checks that every sealed value's master key is configured (so removing an old
/// key before `vault rewrap` has moved its values is refused now, not on first use). The
/// message of an error says what to fix.
pub async fn check(pool: &DbPool, ring: &Keyring, now: i64) -> Result<(), String> {
    let (stored, census) = with_read(pool, |c| Ok((vault_check::all(c)?, stores::census(c)?)))
        .await
        .map_err(|e| format!("cannot read the vault's check values: {e}"))?;
    let check = ring.verify_checks(&stored).map_err(|e| e.to_string())?;
    let configured = ring.key_ids();
    let missing: Vec<String> = census
        .iter()
        .filter(|(id, _)| !configured.contains(&id.as_str()))
        .map(|(id, n)| format!("{n} sealed with master key {id}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "stored secrets need a master key that is not configured ({}): add that key to \
             LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE after the current one, and remove it \
             only once `latchkey vault rewrap` reports no values left on it",
            missing.join("; ")
        ));
    }
    if let Some((id, sealed)) = check {
        let stored = with_write(pool, move |c| {
            Ok(vault_check::insert(c, &id, &sealed, now)?)
        })
        .await
        .map_err(|e| format!("cannot store the vault's check value: {e}"))?;
        if !stored {
            // A node that started at the same moment stored it: it must open with ours too.
            let checks = with_read(pool, |c| Ok(vault_check::all(c)?))
                .await
                .map_err(|e| format!("cannot read the vault's check values: {e}"))?;
            ring.verify_checks(&checks).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

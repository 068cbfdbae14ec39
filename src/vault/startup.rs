//! The vault at start: the configured master keys must fit the data (a stored check value per
//! key), or the server does not start — a wrong key is a clear message now, not a failure on
//! the first credential use.

use super::Keyring;
use crate::db::DbPool;
use crate::error::{with_read, with_write};
use crate::models::vault_check;

/// Checks `ring` against the stored checks and stores the current key's check when it has
/// none. The message of an error says what to fix.
pub async fn check(pool: &DbPool, ring: &Keyring, now: i64) -> Result<(), String> {
    let stored = with_read(pool, |c| Ok(vault_check::all(c)?))
        .await
        .map_err(|e| format!("cannot read the vault's check values: {e}"))?;
    if let Some((id, sealed)) = ring.verify_checks(&stored).map_err(|e| e.to_string())? {
        with_write(pool, move |c| {
            Ok(vault_check::insert(c, &id, &sealed, now)?)
        })
        .await
        .map_err(|e| format!("cannot store the vault's check value: {e}"))?;
    }
    Ok(())
}

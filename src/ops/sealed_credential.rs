//! An integration's credential as the database holds it: sealed by the vault, bound to the
//! team, the integration and the credential's version. Used by the integration changes and by
//! OAuth renewals, which seal new tokens at the next version.

use crate::domain::integration::Credential;
use crate::error::AppError;
use crate::models::integration::Integration;
use crate::vault::{Keyring, stores};

/// Seals `credential` as integration `id`'s (of `team`) at `version`.
pub fn seal(
    vault: &Keyring,
    team: &str,
    id: &str,
    version: i64,
    credential: &Credential,
) -> Result<String, AppError> {
    vault
        .seal(
            &stores::integration_credential(team, id, version),
            &credential.to_plaintext(),
        )
        .map_err(|e| AppError::Internal(format!("vault: {e}")))
}

/// Opens `i`'s credential (for one outbound call, or a renewal).
pub fn open(vault: &Keyring, i: &Integration) -> Result<Credential, AppError> {
    let sealed = i
        .credential
        .as_deref()
        .ok_or_else(|| AppError::Internal("integration has no credential".into()))?;
    let place = stores::integration_credential(&i.team_id, &i.id, i.credential_version);
    let plain = vault
        .open(&place, sealed)
        .map_err(|e| AppError::Internal(format!("vault: {e}")))?;
    Credential::from_plaintext(&plain)
        .ok_or_else(|| AppError::Internal("sealed credential is not a credential".into()))
}

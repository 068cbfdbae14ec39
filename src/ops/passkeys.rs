//! Passkeys (WebAuthn, through webauthn-rs): registering one on "Your account" (several, each
//! named, each removable), and signing in with one — on its own (a discoverable credential: no
//! e-mail typed; the authenticator verified its user, so it is two factors in one) or as the
//! second step after the password. A passkey belongs to the host name it was registered on (the
//! browser's rule): the relying party is the request's host, when that host is this server's
//! own or an agency's claimed host. Browsers refuse passkeys on IP addresses.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Url, Uuid,
    Webauthn, WebauthnBuilder,
};

use super::accounts::{Origin, note, note_in};
use super::{Abort, transact};
use crate::db::{with_read, with_write};
use crate::domain::audit::SecurityAction;
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::inputs::Name;
use crate::error::AppError;
use crate::models::passkey::{self, NewPasskey};
use crate::models::user::User;
use crate::state::AppState;

/// What the pages say where passkeys cannot work.
pub const UNAVAILABLE: &str = "Passkeys need this dashboard at a host name, not an IP address: start it with LATCHKEY_PUBLIC_URL set to one (http://localhost:8080 on this machine) and open that address.";

/// Why a passkey ceremony did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Passkeys cannot work on this address (an IP address, or a host that is not ours).
    #[error("passkeys are not available on this address")]
    Unavailable,
    /// The browser's answer did not verify (wrong challenge, origin, signature, an unknown or
    /// another account's passkey, or the ceremony's state is gone).
    #[error("the passkey was not accepted")]
    Refused,
    /// This passkey is registered already.
    #[error("already registered")]
    AlreadyRegistered,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// The relying party of one request: webauthn-rs configured for the request's host.
pub struct RelyingParty {
    webauthn: Webauthn,
    /// The host name passkeys are bound to.
    pub rp_id: String,
}

/// Whether passkeys can work on `host`: a host name (browsers refuse them on IP addresses)
/// that this server answers as — its public URL's or an agency's claimed host (the only
/// origins whose forms it accepts).
pub fn work_on(state: &AppState, host: &str, agency_host: bool) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return false;
    }
    let own = crate::links::public_host(&state.config.public_url).as_deref() == Some(host);
    own || agency_host
}

impl RelyingParty {
    /// For a request to `host` (no port) with the browser's origin `scheme://authority`;
    /// `None` where browsers cannot use passkeys (an IP address) or the host is not one this
    /// server answers as (its public URL's, an agency's claimed host).
    pub fn for_request(
        state: &AppState,
        host: &str,
        authority: &str,
        scheme: &str,
        agency_host: bool,
        product: &str,
    ) -> Option<Self> {
        if !work_on(state, host, agency_host) {
            return None;
        }
        let origin = Url::parse(&format!("{scheme}://{authority}")).ok()?;
        let webauthn = WebauthnBuilder::new(host, &origin)
            .ok()?
            .rp_name(product)
            .build()
            .ok()?;
        Some(Self {
            webauthn,
            rp_id: host.to_owned(),
        })
    }
}

/// The WebAuthn user handle of an account: derived from its id (16 bytes of its SHA-256), so
/// nothing more is stored and no e-mail reaches the authenticator as the handle.
fn user_handle(user: &UserId) -> Uuid {
    let digest = Sha256::digest(user.as_str().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn parse(stored: &str) -> Result<Passkey, AppError> {
    serde_json::from_str(stored).map_err(|e| AppError::Internal(format!("stored passkey: {e}")))
}

/// Starts registering a passkey for `user` on `rp` (excluding the ones it has there already),
/// as a discoverable credential so it can sign in without an e-mail address. Returns the
/// browser's options (JSON) and the state to keep in the session.
pub async fn start_registration(
    state: &AppState,
    rp: &RelyingParty,
    user: &UserId,
) -> Result<(serde_json::Value, PasskeyRegistration), PasskeyError> {
    let (u, rp_id) = (user.clone(), rp.rp_id.clone());
    let (account, existing) = with_read(&state.pool, move |c| {
        Ok((User::find(c, &u)?, passkey::usable_by(c, &u, &rp_id)?))
    })
    .await?;
    let account = account.ok_or(PasskeyError::Refused)?;
    let exclude = existing
        .iter()
        .map(|p| parse(&p.credential).map(|k| k.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (ccr, reg): (CreationChallengeResponse, PasskeyRegistration) = rp
        .webauthn
        .start_passkey_registration(
            user_handle(user),
            &account.email,
            &account.name,
            Some(exclude),
        )
        .map_err(|_| PasskeyError::Refused)?;
    let mut options = serde_json::to_value(&ccr)
        .map_err(|e| AppError::Internal(format!("passkey options: {e}")))?;
    // Discoverable ("resident"): the authenticator keeps the account, so "Sign in with a passkey"
    // needs no e-mail address.
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
        sel["residentKey"] = "required".into();
        sel["requireResidentKey"] = true.into();
    }
    Ok((options, reg))
}

/// Finishes a registration: verifies the browser's answer against `reg` and stores the
/// passkey as `name`.
pub async fn finish_registration(
    state: &AppState,
    rp: &RelyingParty,
    user: &UserId,
    name: Name,
    answer: &RegisterPublicKeyCredential,
    reg: &PasskeyRegistration,
    origin: Origin,
) -> Result<(), PasskeyError> {
    let key = rp
        .webauthn
        .finish_passkey_registration(answer, reg)
        .map_err(|_| PasskeyError::Refused)?;
    let credential =
        serde_json::to_string(&key).map_err(|e| AppError::Internal(format!("passkey: {e}")))?;
    let credential_id = URL_SAFE_NO_PAD.encode(key.cred_id());
    let (u, rp_id, now) = (user.clone(), rp.rp_id.clone(), state.clock.now());
    let stored = with_write(&state.pool, move |c| {
        Ok(passkey::insert(
            c,
            &NewPasskey {
                user: &u,
                name: name.as_str(),
                credential_id: &credential_id,
                credential: &credential,
                rp_id: &rp_id,
                at: now,
            },
        )?)
    })
    .await?;
    if !stored {
        return Err(PasskeyError::AlreadyRegistered);
    }
    note(state, user, SecurityAction::PasskeyAdded, origin).await?;
    Ok(())
}

/// Starts a sign-in with any passkey of this host (the authenticator offers the accounts it
/// holds). Returns the browser's options (JSON) and the state to keep in the session.
pub fn start_sign_in(
    rp: &RelyingParty,
) -> Result<(serde_json::Value, DiscoverableAuthentication), PasskeyError> {
    let (rcr, auth): (RequestChallengeResponse, DiscoverableAuthentication) = rp
        .webauthn
        .start_discoverable_authentication()
        .map_err(|_| PasskeyError::Refused)?;
    let mut options = serde_json::to_value(&rcr)
        .map_err(|e| AppError::Internal(format!("passkey options: {e}")))?;
    // A button starts it, so the browser asks in its own dialog (not as a form autofill).
    if let Some(o) = options.as_object_mut() {
        o.remove("mediation");
    }
    Ok((options, auth))
}

/// Finishes a sign-in: the account whose passkey signed the challenge. With `expected` (the
/// second step after a password), only that account's passkeys are accepted.
pub async fn finish_sign_in(
    state: &AppState,
    rp: &RelyingParty,
    answer: &PublicKeyCredential,
    auth: DiscoverableAuthentication,
    expected: Option<&UserId>,
) -> Result<UserId, PasskeyError> {
    let (handle, credential_id) = rp
        .webauthn
        .identify_discoverable_authentication(answer)
        .map_err(|_| PasskeyError::Refused)?;
    let (id, rp_id) = (URL_SAFE_NO_PAD.encode(credential_id), rp.rp_id.clone());
    let stored = with_read(&state.pool, move |c| {
        Ok(passkey::by_credential(c, &id, &rp_id)?)
    })
    .await?
    .ok_or(PasskeyError::Refused)?;
    if user_handle(&stored.user_id) != handle || expected.is_some_and(|e| *e != stored.user_id) {
        return Err(PasskeyError::Refused);
    }
    let mut key = parse(&stored.credential)?;
    let result = rp
        .webauthn
        .finish_discoverable_authentication_v2(answer, auth, &key)
        .map_err(|_| PasskeyError::Refused)?;
    key.update_credential(&result);
    let credential =
        serde_json::to_string(&key).map_err(|e| AppError::Internal(format!("passkey: {e}")))?;
    let (pk, now) = (stored.id.clone(), state.clock.now());
    with_write(&state.pool, move |c| {
        Ok(passkey::used(c, &pk, &credential, now)?)
    })
    .await?;
    Ok(stored.user_id)
}

/// The name of `user`'s passkey `id` (for its rename page), or `None`.
pub async fn name_of(
    state: &AppState,
    user: &UserId,
    id: &PasskeyId,
) -> Result<Option<String>, AppError> {
    let (u, i) = (user.clone(), id.clone());
    with_read(&state.pool, move |c| Ok(passkey::name_of(c, &u, &i)?)).await
}

/// Renames `user`'s passkey `id` and notes it on the account's security log, in one
/// transaction; false (nothing written) when the account has no such passkey.
pub async fn rename(
    state: &AppState,
    user: &UserId,
    id: &PasskeyId,
    name: Name,
    origin: Origin,
) -> Result<bool, AppError> {
    let (u, i, now) = (user.clone(), id.clone(), state.clock.now());
    transact(state, move |c| {
        if !passkey::rename(c, &u, &i, name.as_str())? {
            return Ok(false);
        }
        note_in(c, &u, SecurityAction::PasskeyRenamed, &origin, now)?;
        Ok::<_, Abort<AppError>>(true)
    })
    .await
}

/// Removes `user`'s passkey `id`; false when the account has no such passkey.
pub async fn remove(
    state: &AppState,
    user: &UserId,
    id: &PasskeyId,
    origin: Origin,
) -> Result<bool, AppError> {
    let (u, i) = (user.clone(), id.clone());
    let removed = with_write(&state.pool, move |c| Ok(passkey::remove(c, &u, &i)?)).await?;
    if removed.is_some() {
        note(state, user, SecurityAction::PasskeyRemoved, origin).await?;
    }
    Ok(removed.is_some())
}

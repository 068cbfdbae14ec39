//! Two-factor sign-in with an authenticator app: enrolment (a sealed secret, confirmed by a
//! first code, then ten recovery codes shown once), the second step of sign-in (a code, or a
//! recovery code once), and turning it off (which needs a code too). Wrong codes count on the
//! sign-in throttle, like wrong passwords.

use secrecy::{ExposeSecret, SecretString};

use super::accounts::{Origin, note, note_in};
use super::{Abort, record, transact};
use crate::db::{with_read, with_write};
use crate::domain::audit::{Actor, AuditAction, Change, Owner, SecurityAction, Target};
use crate::domain::ids::UserId;
use crate::domain::two_factor::{self as tf, TotpSecret};
use crate::error::AppError;
use crate::models::agency::Agency;
use crate::models::team::Team;
use crate::models::user::User;
use crate::models::{throttle, two_factor};
use crate::state::AppState;
use crate::vault::stores::totp_secret;

/// What the enrolment page shows: the secret to type, and the QR code of its URI.
#[derive(Debug)]
pub struct Enrolment {
    /// Base32, for typing by hand (shown only on this page, to its owner).
    pub secret: SecretString,
    /// The QR code's path and size in modules.
    pub qr: (String, i32),
}

/// Why a code was not taken.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Not the current code (or one either side), already used, or no such recovery code.
    #[error("wrong code")]
    Wrong,
    /// Too many wrong codes or passwords for the account or from the address: wait.
    #[error("throttled")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// A team or agency of the account requires a second factor (these, by name): it stays on.
    #[error("required")]
    RequiredBy(String),
    /// No authenticator to check against.
    #[error("not enrolled")]
    NotEnrolled,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Whether `user` signs in with a second factor.
pub async fn enrolled(state: &AppState, user: &UserId) -> Result<bool, AppError> {
    let u = user.clone();
    with_read(&state.pool, move |c| Ok(two_factor::enrolled(c, &u)?)).await
}

/// `user`'s second factors: (an authenticator app, a passkey).
pub async fn factors(state: &AppState, user: &UserId) -> Result<(bool, bool), AppError> {
    let u = user.clone();
    with_read(&state.pool, move |c| {
        Ok((
            two_factor::enrolled(c, &u)?,
            crate::models::passkey::any(c, &u)?,
        ))
    })
    .await
}

/// Recovery codes `user` has left (when enrolled).
pub async fn codes_left(state: &AppState, user: &UserId) -> Result<i64, AppError> {
    let u = user.clone();
    with_read(&state.pool, move |c| Ok(two_factor::codes_left(c, &u)?)).await
}

/// Starts enrolment (a new secret, sealed for this account) unless already enrolled.
pub async fn begin(state: &AppState, user: &UserId) -> Result<bool, AppError> {
    let secret = TotpSecret::generate();
    let sealed = state
        .vault
        .seal(
            &totp_secret(user.as_str()),
            &SecretString::from(secret.base32()),
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let (u, now) = (user.clone(), state.clock.now());
    with_write(&state.pool, move |c| {
        Ok(two_factor::begin(c, &u, &sealed, now)?)
    })
    .await
}

fn open(state: &AppState, user: &UserId, sealed: &str) -> Result<TotpSecret, AppError> {
    let text = state
        .vault
        .open(&totp_secret(user.as_str()), sealed)
        .map_err(|e| AppError::Internal(format!("authenticator secret: {e}")))?;
    TotpSecret::from_base32(text.expose_secret())
        .ok_or_else(|| AppError::Internal("authenticator secret unreadable".into()))
}

/// The enrolment page of an unconfirmed authenticator (`None`: none started, or enrolled).
pub async fn pending(
    state: &AppState,
    user: &UserId,
    account: &str,
) -> Result<Option<Enrolment>, AppError> {
    let u = user.clone();
    let row = with_read(&state.pool, move |c| Ok(two_factor::find(c, &u)?)).await?;
    let Some(row) = row.filter(|r| r.confirmed_at.is_none()) else {
        return Ok(None);
    };
    let secret = open(state, user, &row.secret)?;
    let uri = secret.uri(super::mailing::sender_name(state), account);
    let qr = tf::qr_path(&uri).ok_or_else(|| AppError::Internal("QR code".into()))?;
    Ok(Some(Enrolment {
        secret: SecretString::from(secret.base32()),
        qr,
    }))
}

/// Checks `code` for `user` (an authenticator code, or — when `recovery` — a recovery code
/// too), on the throttle of the account and the address. `confirming`: the code confirms an
/// enrolment (an unconfirmed authenticator is used).
async fn check(
    state: &AppState,
    user: &UserId,
    code: &str,
    recovery: bool,
    confirming: bool,
    origin: &Origin,
) -> Result<Option<SecurityAction>, CodeError> {
    let now = state.clock.now();
    let u = user.clone();
    let (account, row) = with_read(&state.pool, move |c| {
        Ok((User::find(c, &u)?, two_factor::find(c, &u)?))
    })
    .await?;
    let account = account.ok_or(CodeError::NotEnrolled)?;
    let row = row
        .filter(|r| r.confirmed_at.is_some() != confirming)
        .ok_or(CodeError::NotEnrolled)?;
    let ip = origin.ip.as_deref().and_then(|i| i.parse().ok());
    let attempt = std::sync::Arc::new(throttle::Attempt::new(ip, &account.email));
    let a = attempt.clone();
    let wait = with_read(&state.pool, move |c| Ok(throttle::retry_after(c, &a, now)?)).await?;
    if wait > 0 {
        return Err(CodeError::Throttled { retry_after: wait });
    }
    let secret = open(state, user, &row.secret)?;
    let step = secret.accepts(code, now, row.last_step);
    let recovery_code = if recovery && step.is_none() {
        tf::normalise_recovery_code(code)
    } else {
        None
    };
    let u = user.clone();
    let used = with_write(&state.pool, move |c| {
        Ok(match (step, &recovery_code) {
            (Some(step), _) => two_factor::use_step(c, &u, step)?.then_some(None),
            (None, Some(rc)) => two_factor::use_recovery_code(c, &u, rc, now)?
                .then_some(Some(SecurityAction::RecoveryCodeUsed)),
            (None, None) => None,
        })
    })
    .await?;
    match used {
        Some(noted) => {
            with_write(&state.pool, move |c| {
                Ok(throttle::succeeded(c, &attempt, now)?)
            })
            .await?;
            Ok(noted)
        }
        None => {
            with_write(&state.pool, move |c| {
                Ok(throttle::record_failure(c, &attempt, now)?)
            })
            .await?;
            note(state, user, SecurityAction::TwoFactorFailed, origin.clone()).await?;
            Err(CodeError::Wrong)
        }
    }
}

/// Confirms enrolment with a first `code`; returns the ten recovery codes, to be shown once.
pub async fn confirm(
    state: &AppState,
    user: &UserId,
    code: &str,
    origin: Origin,
) -> Result<Vec<String>, CodeError> {
    check(state, user, code, false, true, &origin).await?;
    let codes = tf::new_recovery_codes();
    let (u, c2, now) = (user.clone(), codes.clone(), state.clock.now());
    transact(state, move |c| {
        two_factor::confirm(c, &u, &c2, now)?;
        note_in(c, &u, SecurityAction::TwoFactorEnabled, &origin, now)?;
        Ok::<_, Abort<AppError>>(())
    })
    .await?;
    Ok(codes)
}

/// The second step of sign-in: an authenticator code or a recovery code of `user`.
pub async fn verify(
    state: &AppState,
    user: &UserId,
    code: &str,
    origin: Origin,
) -> Result<(), CodeError> {
    if let Some(action) = check(state, user, code, true, false, &origin).await? {
        note(state, user, action, origin).await?;
    }
    Ok(())
}

/// Turns two-factor sign-in off; needs a current code or a recovery code.
pub async fn disable(
    state: &AppState,
    user: &UserId,
    code: &str,
    origin: Origin,
) -> Result<(), CodeError> {
    let u = user.clone();
    let (required, passkeys) = with_read(&state.pool, move |c| {
        Ok((
            two_factor::required_by(c, &u)?,
            crate::models::passkey::any(c, &u)?,
        ))
    })
    .await?;
    // A passkey is a second factor too: with one, the app may go.
    if !required.is_empty() && !passkeys {
        return Err(CodeError::RequiredBy(required.join(", ")));
    }
    check(state, user, code, true, false, &origin).await?;
    let u = user.clone();
    with_write(&state.pool, move |c| Ok(two_factor::remove(c, &u)?)).await?;
    note(state, user, SecurityAction::TwoFactorDisabled, origin).await?;
    Ok(())
}

/// Why a team's or agency's two-factor requirement was not changed.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Whoever turns it on must have a second factor first (or they would lock themselves out).
    #[error("own second factor first")]
    OwnSecondFactorFirst,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Requires (or stops requiring) a second factor of the members of `owner` (a team) or the
/// operators of `owner` (an agency); audited in its log. From the next request on, a member
/// without one is sent to set it up.
pub async fn set_required(
    state: &AppState,
    actor: &Actor,
    by: &UserId,
    owner: Owner,
    name: String,
    required: bool,
) -> Result<(), PolicyError> {
    let (actor, by) = (actor.clone(), by.clone());
    transact(state, move |c| {
        if required && !two_factor::has_second_factor(c, &by)? {
            return Err(Abort::Refused(PolicyError::OwnSecondFactorFirst));
        }
        let (action, target) = match &owner {
            Owner::Team(id) => {
                Team::set_require_two_factor(c, id, required)?;
                let action = if required {
                    AuditAction::TeamTwoFactorRequired
                } else {
                    AuditAction::TeamTwoFactorOptional
                };
                (action, Target::new("team", id.to_string(), name.clone()))
            }
            Owner::Agency(id) => {
                Agency::set_require_two_factor(c, id, required)?;
                let action = if required {
                    AuditAction::AgencyTwoFactorRequired
                } else {
                    AuditAction::AgencyTwoFactorOptional
                };
                (action, Target::new("agency", id.to_string(), name.clone()))
            }
        };
        record(c, &owner, &actor, &Change::new(action, target))?;
        Ok(())
    })
    .await
}

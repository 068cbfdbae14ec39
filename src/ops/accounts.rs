//! Account operations that belong to no team: signing in (throttled), creating an account for
//! an invitee, and the account's own security activity (sign-in, sign-out, failures, throttling), which the "Your
//! account" page shows.

use super::{Abort, transact};
use crate::db::{with_read, with_write};
use crate::domain::audit::SecurityAction;
use crate::domain::ids::UserId;
use crate::domain::inputs::{Email, Name, Password};
use crate::error::AppError;
use crate::models::user::{NewUser, User};
use crate::models::{security_event, throttle};
use crate::state::AppState;

/// Creates the account `id` for `email` (an invitee signing up); false when someone signed up
/// with this address meanwhile.
pub async fn sign_up(
    state: &AppState,
    id: &UserId,
    email: &str,
    name: Name,
    password_hash: String,
) -> Result<bool, AppError> {
    let (id, email, now) = (id.clone(), email.to_owned(), state.clock.now());
    transact(state, move |c| {
        if User::find_by_email(c, &email)?.is_some() {
            return Ok(false);
        }
        User::insert(
            c,
            &NewUser {
                id: id.as_str(),
                email: &email,
                name: name.as_str(),
                password_hash: &password_hash,
                created_at: now,
            },
        )?;
        Ok::<_, Abort<AppError>>(true)
    })
    .await
}

/// Why a sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Too many failures from this address or for this e-mail: wait this many seconds.
    #[error("throttled")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Unknown e-mail or wrong password (one answer for both).
    #[error("bad credentials")]
    BadCredentials,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Checks `email` and `password` from `ip`: the throttle first, then the password (hashed on
/// its own threads, the same time for an unknown e-mail). Counts the failure or clears the
/// address's count, and notes the outcome on the account's security log. Returns who signed in.
pub async fn sign_in(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    email: Email,
    password: Password,
    origin: Origin,
) -> Result<UserId, SignInError> {
    let now = state.clock.now();
    let attempt = std::sync::Arc::new(throttle::Attempt::new(ip, email.as_str()));
    let (a, addr) = (attempt.clone(), email.as_str().to_owned());
    let (wait, user) = with_read(&state.pool, move |c| {
        let wait = throttle::retry_after(c, &a, now)?;
        let user = if wait > 0 {
            None
        } else {
            User::find_by_email(c, &addr)?
        };
        Ok((wait, user))
    })
    .await?;
    if wait > 0 {
        note_throttled(state, email.as_str(), origin).await?;
        return Err(SignInError::Throttled { retry_after: wait });
    }
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = state.passwords.verify(password, stored).await?;
    match (ok, user) {
        (true, Some(user)) => {
            with_write(&state.pool, move |c| {
                Ok(throttle::succeeded(c, &attempt, now)?)
            })
            .await?;
            note(state, &user.user_id(), SecurityAction::SignedIn, origin).await?;
            Ok(user.user_id())
        }
        (_, user) => {
            with_write(&state.pool, move |c| {
                Ok(throttle::record_failure(c, &attempt, now)?)
            })
            .await?;
            if let Some(user) = user {
                note(state, &user.user_id(), SecurityAction::SignInFailed, origin).await?;
            }
            Err(SignInError::BadCredentials)
        }
    }
}

/// Where a security event came from.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The client's address.
    pub ip: Option<String>,
    /// The browser's user agent.
    pub user_agent: Option<String>,
}

/// Notes `action` on `user`'s security log.
pub async fn note(
    state: &AppState,
    user: &UserId,
    action: SecurityAction,
    origin: Origin,
) -> Result<(), AppError> {
    let (user, at) = (user.clone(), state.clock.now());
    with_write(&state.pool, move |c| {
        Ok(security_event::insert(
            c,
            &user,
            action,
            origin.ip.as_deref(),
            origin.user_agent.as_deref(),
            at,
        )?)
    })
    .await
}

/// Notes a refused (throttled) sign-in on the security log of the account with `email`, if
/// there is one, at most once a minute: a flood of attempts is one line, not a million rows.
pub async fn note_throttled(state: &AppState, email: &str, origin: Origin) -> Result<(), AppError> {
    let (email, at) = (email.to_owned(), state.clock.now());
    with_write(&state.pool, move |c| {
        let Some(user) = User::find_by_email(c, &email)? else {
            return Ok(());
        };
        let action = SecurityAction::SignInThrottled;
        if security_event::noted_since(c, &user.user_id(), action, at - 60)? {
            return Ok(());
        }
        security_event::insert(
            c,
            &user.user_id(),
            action,
            origin.ip.as_deref(),
            origin.user_agent.as_deref(),
            at,
        )?;
        Ok(())
    })
    .await
}

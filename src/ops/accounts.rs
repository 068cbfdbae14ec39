//! Account operations that belong to no team: creating an account for an invitee, and the
//! account's own security activity (sign-in, sign-out, failures, throttling), which the "Your
//! account" page shows.

use super::{Abort, transact};
use crate::domain::audit::SecurityAction;
use crate::domain::ids::UserId;
use crate::domain::inputs::Name;
use crate::error::{AppError, with_write};
use crate::models::security_event;
use crate::models::user::{NewUser, User};
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

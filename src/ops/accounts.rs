//! Account operations that belong to no team: signing in (throttled), creating an account for
//! an invitee, changing the name and the password, ending sessions, password reset links, and
//! the account's own security activity, which the "Your account" page shows.

use super::{Abort, transact};
use crate::db::{with_read, with_write};
use crate::domain::audit::SecurityAction;
use crate::domain::ids::UserId;
use crate::domain::inputs::{Email, Name, Password};
use crate::error::AppError;
use crate::models::user::{NewUser, User};
use crate::models::{password_reset, security_event, session, throttle};
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

/// A right password: signed in, or — for an account with two-factor sign-in — waiting for
/// its second factor (not signed in until `ops::two_factor::verify` takes a code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordOk {
    /// Signed in.
    SignedIn(UserId),
    /// The account asks for a code next.
    SecondFactor(UserId),
}

/// Checks `email` and `password` from `ip`: the throttle first, then the password (hashed on
/// its own threads, the same time for an unknown e-mail). Counts the failure or clears the
/// address's count, and notes the outcome on the account's security log.
pub async fn sign_in(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    email: Email,
    password: Password,
    origin: Origin,
) -> Result<PasswordOk, SignInError> {
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
            let id = user.user_id();
            let u = id.clone();
            let second = with_write(&state.pool, move |c| {
                throttle::succeeded(c, &attempt, now)?;
                Ok(crate::models::two_factor::has_second_factor(c, &u)?)
            })
            .await?;
            if second {
                return Ok(PasswordOk::SecondFactor(id));
            }
            note(state, &id, SecurityAction::SignedIn, origin).await?;
            Ok(PasswordOk::SignedIn(id))
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

/// Notes `action` on `user`'s security log, inside the caller's transaction.
pub(crate) fn note_in(
    c: &mut crate::db::DbConnection,
    user: &UserId,
    action: SecurityAction,
    origin: &Origin,
    at: i64,
) -> diesel::QueryResult<()> {
    security_event::insert(
        c,
        user,
        action,
        origin.ip.as_deref(),
        origin.user_agent.as_deref(),
        at,
    )
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
        Ok(note_in(c, &user, action, &origin, at)?)
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

/// Changes `user`'s display name.
pub async fn rename(
    state: &AppState,
    user: &UserId,
    name: Name,
    origin: Origin,
) -> Result<(), AppError> {
    let u = user.clone();
    with_write(&state.pool, move |c| {
        Ok(User::set_name(c, &u, name.as_str())?)
    })
    .await?;
    note(state, user, SecurityAction::NameChanged, origin).await
}

/// Why a password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    /// The current password given is not the account's.
    #[error("wrong current password")]
    WrongPassword,
    /// Too many wrong passwords for this account or from this address: wait.
    #[error("throttled")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Checks that `password` is `user`'s, on the sign-in throttle (a stolen session cannot guess
/// its way further); a wrong one counts as a failure and is noted as `refused`.
pub(crate) async fn check_password(
    state: &AppState,
    user: &UserId,
    password: Password,
    refused: SecurityAction,
    origin: &Origin,
) -> Result<(), PasswordChangeError> {
    let now = state.clock.now();
    let u = user.clone();
    let ip = origin.ip.as_deref().and_then(|i| i.parse().ok());
    let found = with_read(&state.pool, move |c| Ok(User::find(c, &u)?)).await?;
    let account = found.ok_or_else(|| AppError::Internal("signed-in user missing".into()))?;
    let attempt = std::sync::Arc::new(throttle::Attempt::new(ip, &account.email));
    let a = attempt.clone();
    let wait = with_read(&state.pool, move |c| Ok(throttle::retry_after(c, &a, now)?)).await?;
    if wait > 0 {
        return Err(PasswordChangeError::Throttled { retry_after: wait });
    }
    let stored = Some(account.password_hash.clone());
    if !state.passwords.verify(password, stored).await? {
        with_write(&state.pool, move |c| {
            Ok(throttle::record_failure(c, &attempt, now)?)
        })
        .await?;
        note(state, user, refused, origin.clone()).await?;
        return Err(PasswordChangeError::WrongPassword);
    }
    Ok(())
}

/// Changes `user`'s password after checking `current` (throttled like sign-in), and ends
/// every other session of the account (all but `keep`, this session's handle). Returns how
/// many sessions ended.
pub async fn change_password(
    state: &AppState,
    user: &UserId,
    current: Password,
    new: Password,
    keep: Option<String>,
    origin: Origin,
) -> Result<usize, PasswordChangeError> {
    let now = state.clock.now();
    check_password(
        state,
        user,
        current,
        SecurityAction::PasswordChangeRefused,
        &origin,
    )
    .await?;
    let hash = state.passwords.hash(new).await?;
    let (u, o) = (user.clone(), origin.clone());
    let ended = transact(state, move |c| {
        User::set_password(c, &u, &hash)?;
        let ended = session::end_all(c, u.as_str(), keep.as_deref())?;
        note_in(c, &u, SecurityAction::PasswordChanged, &o, now)?;
        Ok::<_, Abort<AppError>>(ended)
    })
    .await?;
    Ok(ended)
}

/// Signs out `user`'s session `handle` (another device); false when the account has none
/// with that handle.
pub async fn end_session(
    state: &AppState,
    user: &UserId,
    handle: &str,
    origin: Origin,
) -> Result<bool, AppError> {
    let (u, h) = (user.clone(), handle.to_owned());
    let ended = with_write(&state.pool, move |c| {
        Ok(session::end_one(c, u.as_str(), &h)?)
    })
    .await?;
    if ended {
        note(state, user, SecurityAction::SessionEnded, origin).await?;
    }
    Ok(ended)
}

/// Signs out every session of `user` but `keep` (this one); returns how many ended.
pub async fn end_other_sessions(
    state: &AppState,
    user: &UserId,
    keep: Option<String>,
    origin: Origin,
) -> Result<usize, AppError> {
    let u = user.clone();
    let ended = with_write(&state.pool, move |c| {
        Ok(session::end_all(c, u.as_str(), keep.as_deref())?)
    })
    .await?;
    note(state, user, SecurityAction::OtherSessionsEnded, origin).await?;
    Ok(ended)
}

/// Makes a reset link for the account with `email` on `link_base` (at most
/// [`password_reset::PER_HOUR`] an hour): `None` when there is no such account or it had
/// enough links this hour. Noted on the account's security activity.
async fn reset_link(
    pool: &crate::db::DbPool,
    now: i64,
    email: &str,
    link_base: &str,
    origin: &Origin,
) -> Result<Option<(String, i64)>, AppError> {
    let (email, o) = (email.to_owned(), origin.clone());
    let token = with_write(pool, move |c| {
        let Some(user) = User::find_by_email(c, &email)? else {
            return Ok(None);
        };
        let id = user.user_id();
        if password_reset::made_since(c, &id, now - 3600)? >= password_reset::PER_HOUR {
            return Ok(None);
        }
        let token = password_reset::create(c, &id, now)?;
        note_in(c, &id, SecurityAction::PasswordResetRequested, &o, now)?;
        Ok(Some(token))
    })
    .await?;
    Ok(token.map(|t| {
        (
            format!(
                "{link_base}{}",
                crate::links::password_reset_path(t.expose())
            ),
            now + password_reset::RESET_TTL,
        )
    }))
}

/// "Forgot password?": e-mails a reset link to `email` when such an account exists and
/// e-mail is configured. The caller answers the same whatever happened (whether the address
/// has an account is not for strangers to learn); failures are logged, not shown.
pub async fn request_reset(
    state: &AppState,
    email: &Email,
    link_base: &str,
    origin: Origin,
) -> Result<(), AppError> {
    let Some(mailer) = state.mailer.clone() else {
        return Ok(());
    };
    let now = state.clock.now();
    let Some((link, expires_at)) =
        reset_link(&state.pool, now, email.as_str(), link_base, &origin).await?
    else {
        return Ok(());
    };
    let mail = crate::mail::compose::PasswordReset {
        to: email.as_str().to_owned(),
        link,
        expires_at,
        requested_from: origin.ip.clone(),
        brand: crate::mail::compose::Brand::latchkey(mailer.default_sender_name()),
    }
    .mail()
    .map_err(|e| AppError::Internal(format!("reset mail template: {e}")))?;
    // Sent after the answer, so how long the answer takes does not tell whether the address
    // has an account (a mail server takes its time).
    actix_web::rt::spawn(async move {
        if let Err(e) = mailer.send(&mail).await {
            tracing::warn!(reason = %e, "password reset e-mail not sent");
        }
    });
    Ok(())
}

/// `latchkey users reset-password <email>`: the operator's way in without e-mail — a reset
/// link on `public_url` for the console (`None`: no such account, or three links this hour
/// already).
pub async fn operator_reset_link(
    pool: &crate::db::DbPool,
    now: i64,
    public_url: &str,
    email: &Email,
) -> Result<Option<String>, AppError> {
    let origin = Origin {
        ip: None,
        user_agent: Some("latchkey users reset-password".into()),
    };
    Ok(reset_link(pool, now, email.as_str(), public_url, &origin)
        .await?
        .map(|(link, _)| link))
}

/// Whether `token` is a usable reset link (for its page).
pub async fn reset_usable(state: &AppState, token: &str) -> Result<bool, AppError> {
    let (t, now) = (token.to_owned(), state.clock.now());
    Ok(with_read(&state.pool, move |c| {
        Ok(password_reset::usable(c, &t, now)?)
    })
    .await?
    .is_some())
}

/// Sets a new password with reset link `token` (once) and ends every session of the account;
/// `None` when the link is used, expired or unknown. The link proves the owner as a sign-in
/// does, so the address it was used from is cleared of the account's sign-in wait and known
/// as the account's own (someone locked out by their own typos, or by a guesser, resets and
/// signs in at once).
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new: Password,
    origin: Origin,
) -> Result<Option<UserId>, AppError> {
    let hash = state.passwords.hash(new).await?;
    let (t, now) = (token.to_owned(), state.clock.now());
    let ip = origin.ip.as_deref().and_then(|ip| ip.parse().ok());
    transact(state, move |c| {
        let Some(user) = password_reset::redeem(c, &t, now)? else {
            return Ok(None);
        };
        User::set_password(c, &user, &hash)?;
        if let Some(account) = User::find(c, &user)? {
            throttle::succeeded_in(c, &throttle::Attempt::new(ip, &account.email), now)?;
        }
        session::end_all(c, user.as_str(), None)?;
        note_in(c, &user, SecurityAction::PasswordReset, &origin, now)?;
        Ok::<_, Abort<AppError>>(Some(user))
    })
    .await
}

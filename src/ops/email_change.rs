//! Changing an account's e-mail address (its sign-in name): the current password first; with
//! e-mail configured, a one-time link to the new address confirms it (proving the address is
//! theirs before anything signs in with it); without e-mail, the password alone does.

use super::accounts::{Origin, PasswordChangeError, check_password, note, note_in};
use super::{Abort, transact};
use crate::db::with_read;
use crate::domain::audit::SecurityAction;
use crate::domain::ids::UserId;
use crate::domain::inputs::{Email, Password};
use crate::error::AppError;
use crate::links;
use crate::mail::compose::{Brand, EmailChange, EmailChanged};
use crate::models::user::User;
use crate::models::{email_change, mail_queue};
use crate::state::AppState;

/// What became of a change.
#[derive(Debug)]
pub enum Changed {
    /// Done: the account signs in with the new address now.
    Now,
    /// A confirmation link was mailed to the new address.
    LinkSent,
    /// The link could not be mailed (the reason); nothing changed.
    LinkNotSent(String),
}

/// Why the address was not changed.
#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    /// That is already the account's address.
    #[error("same address")]
    Same,
    /// Another account signs in with that address.
    #[error("taken")]
    Taken,
    /// The current password given is not the account's.
    #[error("wrong password")]
    WrongPassword,
    /// Too many wrong passwords: wait.
    #[error("throttled")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Asks to move `user` to `new` (after checking `password`), by a link to `new` when e-mail is
/// configured, at once otherwise. `link_base`: where the link points (the request's brand host).
pub async fn request(
    state: &AppState,
    user: &UserId,
    new: Email,
    password: Password,
    link_base: &str,
    origin: Origin,
) -> Result<Changed, EmailChangeError> {
    let (u, e) = (user.clone(), new.as_str().to_owned());
    let (account, taken) = with_read(&state.pool, move |c| {
        let account = User::find(c, &u)?;
        let taken = User::find_by_email(c, &e)?.is_some_and(|other| other.id != u);
        Ok((account, taken))
    })
    .await?;
    let account = account.ok_or_else(|| AppError::Internal("signed-in user missing".into()))?;
    if account.email == new.as_str() {
        return Err(EmailChangeError::Same);
    }
    match check_password(
        state,
        user,
        password,
        SecurityAction::EmailChangeRefused,
        &origin,
    )
    .await
    {
        Ok(()) => {}
        Err(PasswordChangeError::WrongPassword) => return Err(EmailChangeError::WrongPassword),
        Err(PasswordChangeError::Throttled { retry_after }) => {
            return Err(EmailChangeError::Throttled { retry_after });
        }
        Err(PasswordChangeError::Failed(e)) => return Err(e.into()),
    }
    if taken {
        return Err(EmailChangeError::Taken);
    }
    let now = state.clock.now();
    let Some(mailer) = state.mailer.clone() else {
        return change(state, user, new.as_str().to_owned(), origin).await;
    };
    let (u, e, o) = (user.clone(), new.as_str().to_owned(), origin.clone());
    let token = transact(state, move |c| {
        let token = email_change::create(c, &u, &e, now)?;
        note_in(c, &u, SecurityAction::EmailChangeRequested, &o, now)?;
        Ok::<_, Abort<AppError>>(token)
    })
    .await?;
    let mail = EmailChange {
        to: new.as_str().to_owned(),
        from: account.email.clone(),
        link: format!(
            "{}{}",
            link_base.trim_end_matches('/'),
            links::email_change_path(token.expose())
        ),
        expires_at: now + email_change::CHANGE_TTL,
        brand: Brand::latchkey(mailer.default_sender_name()),
    }
    .mail()
    .map_err(|e| AppError::Internal(format!("e-mail change template: {e}")))?;
    // Sent while the person waits: the page says whether it went.
    Ok(match mailer.send(&mail).await {
        Ok(()) => Changed::LinkSent,
        Err(e) => Changed::LinkNotSent(e.to_string()),
    })
}

async fn change(
    state: &AppState,
    user: &UserId,
    new: String,
    origin: Origin,
) -> Result<Changed, EmailChangeError> {
    let u = user.clone();
    transact(state, move |c| {
        if !User::set_email(c, &u, &new)? {
            return Err(Abort::Refused(EmailChangeError::Taken));
        }
        Ok(())
    })
    .await?;
    note(state, user, SecurityAction::EmailChanged, origin).await?;
    Ok(Changed::Now)
}

/// Whether `token` is a usable confirmation link: the new address it confirms.
pub async fn usable(state: &AppState, token: &str) -> Result<Option<String>, AppError> {
    let (t, now) = (token.to_owned(), state.clock.now());
    Ok(
        with_read(&state.pool, move |c| Ok(email_change::usable(c, &t, now)?))
            .await?
            .map(|(_, email)| email),
    )
}

/// Confirms the change `token` stands for (once): the new address, or `None` when the link
/// is used, expired or unknown. Taken meanwhile by another account: [`EmailChangeError::Taken`].
pub async fn confirm(
    state: &AppState,
    token: &str,
    origin: Origin,
) -> Result<Option<String>, EmailChangeError> {
    let (t, now) = (token.to_owned(), state.clock.now());
    let sender = state
        .mailer
        .as_ref()
        .map(|m| m.default_sender_name().to_owned());
    let changed = transact(state, move |c| {
        let Some((user, email)) = email_change::redeem(c, &t, now)? else {
            return Ok(None);
        };
        let old = User::find(c, &user)?.map(|u| u.email);
        if !User::set_email(c, &user, &email)? {
            return Err(Abort::Refused(EmailChangeError::Taken));
        }
        note_in(c, &user, SecurityAction::EmailChanged, &origin, now)?;
        // The old address hears of it, queued with the change itself.
        if let (Some(old), Some(sender)) = (old, sender) {
            let notice = EmailChanged {
                to: old,
                new: email.clone(),
                at: now,
                brand: Brand::latchkey(&sender),
            }
            .mail()
            .map_err(|e| AppError::Internal(format!("e-mail changed template: {e}")))?;
            mail_queue::enqueue(c, None, "account.email_changed", &[notice], now)?;
        }
        Ok(Some(email))
    })
    .await;
    // The notice goes out now, not at the mail job's next 15-second round.
    if matches!(changed, Ok(Some(_))) {
        state.mail_wake.notify_one();
    }
    changed
}

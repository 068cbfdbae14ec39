//! Confirming it is still the account's owner before a sensitive action (transfer ownership,
//! delete a client, change the brand's host names, turn off two-factor sign-in, create an
//! `admin` key) when the last sign-in is older than `LATCHKEY_REAUTH_AFTER_MINUTES` (10): the
//! password again, and a code when two-factor sign-in is on — or one of the account's passkeys
//! alone (it is two factors in one). An account whose only second factor is a passkey confirms
//! with that passkey: a password alone would skip the factor it enrolled.

use webauthn_rs::prelude::{DiscoverableAuthentication, PublicKeyCredential};

use super::accounts::{Origin, PasswordChangeError, check_password, note};
use super::passkeys::{self, PasskeyError, RelyingParty};
use super::two_factor::{self, CodeError};
use crate::db::with_read;
use crate::domain::audit::SecurityAction;
use crate::domain::ids::UserId;
use crate::domain::inputs::Password;
use crate::error::AppError;
use crate::models::passkey;
use crate::state::AppState;

/// What confirming asks of an account on this host.
#[derive(Clone, Copy, Debug)]
pub struct Asks {
    /// A code from the authenticator app, with the password.
    pub code: bool,
    /// One of its passkeys can answer here.
    pub passkey: bool,
    /// It has a passkey, here or on another host.
    pub any_passkey: bool,
}

impl Asks {
    /// Only a passkey will do: the account's second factor is a passkey (as at sign-in, where
    /// the password is followed by the passkey, and where none can work nobody signs in).
    pub fn passkey_only(self) -> bool {
        self.any_passkey && !self.code
    }
}

/// What confirming asks of `user` where passkeys are bound to `rp_id` (`None`: they cannot
/// work on this address).
pub async fn asks(state: &AppState, user: &UserId, rp_id: Option<&str>) -> Result<Asks, AppError> {
    let (u, rp) = (user.clone(), rp_id.map(str::to_owned));
    with_read(&state.pool, move |c| {
        Ok(Asks {
            code: crate::models::two_factor::enrolled(c, &u)?,
            passkey: match &rp {
                Some(rp) => !passkey::usable_by(c, &u, rp)?.is_empty(),
                None => false,
            },
            any_passkey: !passkey::of_user(c, &u)?.is_empty(),
        })
    })
    .await
}

/// Why a sensitive action was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ReconfirmError {
    /// Not the account's password.
    #[error("wrong password")]
    WrongPassword,
    /// Not a current authenticator code (nor an unused recovery code).
    #[error("wrong code")]
    WrongCode,
    /// The account's second factor is a passkey: it must answer, not a password alone.
    #[error("passkey required")]
    PasskeyRequired,
    /// Too many wrong passwords or codes: wait.
    #[error("throttled")]
    Throttled {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Confirms it is still `user` before a sensitive action: the password again, and `code` when
/// two-factor sign-in is on (both throttled like sign-in; `None` when the action checks a code
/// itself). Noted on the account.
pub async fn reconfirm(
    state: &AppState,
    user: &UserId,
    password: Password,
    code: Option<&str>,
    asks: Asks,
    origin: Origin,
) -> Result<(), ReconfirmError> {
    if asks.passkey_only() {
        return Err(ReconfirmError::PasskeyRequired);
    }
    match check_password(
        state,
        user,
        password,
        SecurityAction::ReconfirmFailed,
        &origin,
    )
    .await
    {
        Ok(()) => {}
        Err(PasswordChangeError::WrongPassword) => return Err(ReconfirmError::WrongPassword),
        Err(PasswordChangeError::Throttled { retry_after }) => {
            return Err(ReconfirmError::Throttled { retry_after });
        }
        Err(PasswordChangeError::Failed(e)) => return Err(e.into()),
    }
    let checked = match code {
        Some(code) => two_factor::verify(state, user, code, origin.clone()).await,
        None => Ok(()),
    };
    match checked {
        Ok(()) | Err(CodeError::NotEnrolled) => {}
        Err(CodeError::Wrong | CodeError::RequiredBy(_)) => return Err(ReconfirmError::WrongCode),
        Err(CodeError::Throttled { retry_after }) => {
            return Err(ReconfirmError::Throttled { retry_after });
        }
        Err(CodeError::Failed(e)) => return Err(e.into()),
    }
    note(state, user, SecurityAction::Reconfirmed, origin).await?;
    Ok(())
}

/// Confirms it is still `user` by one of the account's passkeys: `answer` signed this
/// session's challenge (`auth`) with a passkey of theirs, verifying the person (fingerprint,
/// face or PIN). Noted on the account.
pub async fn with_passkey(
    state: &AppState,
    rp: &RelyingParty,
    answer: &PublicKeyCredential,
    auth: DiscoverableAuthentication,
    user: &UserId,
    origin: Origin,
) -> Result<(), PasskeyError> {
    passkeys::finish_sign_in(state, rp, answer, auth, Some(user)).await?;
    note(state, user, SecurityAction::Reconfirmed, origin).await?;
    Ok(())
}

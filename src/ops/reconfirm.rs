//! Confirming it is still the account's owner before a sensitive action (transfer ownership,
//! delete a client, change the brand's host names, turn off two-factor sign-in, create an
//! `admin` key) when the last sign-in is older than `LATCHKEY_REAUTH_AFTER_MINUTES` (10): the
//! password again, and a code when two-factor sign-in is on.

use super::accounts::{Origin, PasswordChangeError, check_password, note};
use super::two_factor::{self, CodeError};
use crate::domain::audit::SecurityAction;
use crate::domain::ids::UserId;
use crate::domain::inputs::Password;
use crate::error::AppError;
use crate::state::AppState;

/// Why a sensitive action was not confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ReconfirmError {
    /// Not the account's password.
    #[error("wrong password")]
    WrongPassword,
    /// Not a current authenticator code (nor an unused recovery code).
    #[error("wrong code")]
    WrongCode,
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
    origin: Origin,
) -> Result<(), ReconfirmError> {
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

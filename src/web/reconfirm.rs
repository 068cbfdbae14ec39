//! "Confirm it's you": the guard of the most dangerous dashboard actions. When the session's
//! sign-in (or its last confirmation) is older than `LATCHKEY_REAUTH_AFTER_MINUTES` (10), the
//! action's form is answered with a page asking for the password (and a code, with two-factor
//! sign-in on) whose form posts the same fields to the same address again — so the action goes
//! through in one step once confirmed, with or without JavaScript — and the session counts as
//! recent again.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::error::PageError;
use super::form::FormData;
use super::htmx::{Htmx, no_store};
use super::layout::PageCtx;
use super::layout::account_frame;
use super::passkeys;
use super::signing::origin;
use crate::auth::csrf;
use crate::auth::session_store::SIGNED_IN_AT;
use crate::domain::inputs::Password;
use crate::ops;
use crate::ops::reconfirm::ReconfirmError;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// Session key: when the password was last given again (Unix seconds).
const CONFIRMED_AT: &str = "confirmed_at";
/// The confirmation's own fields (never replayed into the action).
const PASSWORD_FIELD: &str = "confirm_password";
const CODE_FIELD: &str = "confirm_code";
/// A passkey's answer (JSON), put there by the page's script.
const PASSKEY_FIELD: &str = "confirm_passkey";
/// Why a password alone does not do for an account whose second factor is a passkey.
const PASSKEY_ONLY: &str = "Your account's second factor is a passkey: confirm with it.";
/// The page's hidden account e-mail, for password managers.
const USERNAME_FIELD: &str = "username";

#[derive(Template)]
#[template(path = "account/reconfirm.html")]
struct ReconfirmPage {
    ctx: PageCtx,
    /// Where the action's form posted.
    action: String,
    /// The action's fields, posted again.
    fields: Vec<(String, String)>,
    multipart: bool,
    /// A file the action carried is not kept: it must be chosen again.
    file_dropped: bool,
    two_factor: bool,
    /// One of the account's passkeys can answer here.
    passkey: bool,
    /// Only a passkey will do (no password form).
    passkey_only: bool,
    password_error: Option<&'static str>,
    code_error: Option<&'static str>,
    passkey_error: Option<&'static str>,
    /// How long a confirmation lasts (`LATCHKEY_REAUTH_AFTER_MINUTES`).
    minutes: i64,
}

/// How the action's form was sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// `application/x-www-form-urlencoded`.
    Urlencoded,
    /// `multipart/form-data`; `true` when it carried a file.
    Multipart(bool),
    /// `application/x-www-form-urlencoded`, by an action that checks a two-factor code itself
    /// (turning two-factor sign-in off): only the password is asked again.
    WithOwnCode,
}

/// Whether `user` may go on with a sensitive action now: `None` when the sign-in is recent or
/// `form` carries the right password (and code); otherwise the page to answer with.
pub async fn reconfirm(
    state: &AppState,
    user: &SignedIn,
    req: &HttpRequest,
    htmx: Htmx,
    form: &mut FormData,
    sent: FormKind,
) -> Result<Option<HttpResponse>, PageError> {
    let now = state.clock.now();
    let at = |key: &str| user.session.get::<i64>(key).ok().flatten().unwrap_or(0);
    if now - at(SIGNED_IN_AT).max(at(CONFIRMED_AT)) < state.config.reauth_after_secs {
        return Ok(None);
    }
    let rp = passkeys::relying_party(state, req).await;
    let asks =
        ops::reconfirm::asks(state, &user.id(), rp.as_ref().map(|r| r.rp_id.as_str())).await?;
    let asked = form.has(PASSWORD_FIELD) || form.has(PASSKEY_FIELD);
    let (mut password_error, mut code_error, mut passkey_error) = (None, None, None);
    let answer = form.take(PASSKEY_FIELD);
    if !answer.is_empty() {
        if passkeys::confirms(state, req, &user.id(), &answer).await? {
            return confirmed(user, now).map(|()| None);
        }
        passkey_error = Some("The passkey was not accepted. Try again.");
    } else if form.has(PASSWORD_FIELD) {
        let code = form.get(CODE_FIELD).to_owned();
        match Password::parse_existing(form.take(PASSWORD_FIELD)) {
            _ if asks.passkey_only() => passkey_error = Some(PASSKEY_ONLY),
            Err(_) => password_error = Some("Enter your password."),
            Ok(password) => {
                let origin = origin(state, req);
                let code = (sent != FormKind::WithOwnCode).then_some(code.as_str());
                match ops::reconfirm::reconfirm(state, &user.id(), password, code, asks, origin)
                    .await
                {
                    Ok(()) => return confirmed(user, now).map(|()| None),
                    Err(ReconfirmError::WrongPassword) => {
                        password_error = Some("That is not your password.");
                    }
                    Err(ReconfirmError::WrongCode) => {
                        code_error = Some(
                            "That code is not right: enter the code your app shows now, or a recovery code.",
                        );
                    }
                    Err(ReconfirmError::PasskeyRequired) => {
                        passkey_error = Some(PASSKEY_ONLY);
                    }
                    Err(ReconfirmError::Throttled { retry_after }) => {
                        return Err(PageError::TooManyRequests { retry_after });
                    }
                    Err(ReconfirmError::Failed(e)) => return Err(e.into()),
                }
            }
        }
    }
    let page = ReconfirmPage {
        ctx: account_frame(state, user, "Confirm it's you").await?,
        action: req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned()),
        fields: form
            .pairs()
            .filter(|(k, _)| {
                ![
                    csrf::FIELD,
                    PASSWORD_FIELD,
                    CODE_FIELD,
                    PASSKEY_FIELD,
                    USERNAME_FIELD,
                ]
                .contains(k)
            })
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        multipart: matches!(sent, FormKind::Multipart(_)),
        file_dropped: sent == FormKind::Multipart(true),
        two_factor: sent != FormKind::WithOwnCode && asks.code,
        passkey: asks.passkey,
        passkey_only: asks.passkey_only(),
        password_error,
        code_error,
        passkey_error,
        minutes: state.config.reauth_after_secs / 60,
    };
    let status = if asked {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::FORBIDDEN
    };
    let body = page.render()?;
    let mut res = HttpResponse::build(status);
    res.content_type("text/html; charset=utf-8");
    if htmx.fragment {
        // The whole page, in place of the one the form was on (not into a modal or a row).
        res.insert_header(("HX-Retarget", "body"))
            .insert_header(("HX-Reswap", "innerHTML"));
    }
    Ok(Some(no_store(res.body(body))))
}

/// The session counts as recently confirmed from `now`.
fn confirmed(user: &SignedIn, now: i64) -> Result<(), PageError> {
    user.session
        .insert(CONFIRMED_AT, now)
        .map_err(|_| PageError::internal("session insert failed"))
}

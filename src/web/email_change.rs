//! Changing the account's e-mail address: the form on "Your account" (new address and the
//! current password), and the confirmation link's page (a button, so a mail scanner opening
//! the link changes nothing).

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::account::{Forms, refused};
use super::brand::Brand;
use super::error::PageError;
use super::form::FormData;
use super::htmx::{Htmx, no_store};
use super::layout::back_to_account;
use super::signing::{TokenQuery, link_token, origin};
use super::urls;
use crate::auth::csrf;
use crate::domain::inputs::{Email, Password};
use crate::ops;
use crate::ops::email_change::{Changed, EmailChangeError};
use crate::render;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// POST /account/email: the new address and the current password.
pub async fn request(
    state: web::Data<AppState>,
    user: SignedIn,
    mut form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let raw = form.get("email").trim().to_owned();
    let email = Email::parse(&raw);
    let password = Password::parse_existing(form.take("email_password"));
    let (email, password) = match (email, password) {
        (Ok(e), Ok(p)) => (e, p),
        (e, p) => {
            let forms = Forms {
                email: Some(raw),
                email_error: e.err(),
                email_password_error: p.err().map(|_| "Enter your current password."),
                ..Forms::default()
            };
            return refused(&state, &user, htmx, forms).await;
        }
    };
    let base = urls::public_base(&state.config.public_url, user.host.as_deref());
    let to = email.as_str().to_owned();
    let refuse = |email_error, email_password_error| Forms {
        email: Some(to.clone()),
        email_error,
        email_password_error,
        ..Forms::default()
    };
    match ops::email_change::request(
        &state,
        &user.id(),
        email,
        password,
        &base,
        origin(&state, &req),
    )
    .await
    {
        Ok(Changed::Now) => Ok(back_to_account(
            &user,
            &format!("E-mail address changed: sign in with {to} from now on."),
        )),
        Ok(Changed::LinkSent) => Ok(back_to_account(
            &user,
            &format!(
                "Check {to}: open the link we sent there to confirm it. Until then you sign in with your current address."
            ),
        )),
        Ok(Changed::LinkNotSent(reason)) => Ok(back_to_account(
            &user,
            &format!("The confirmation e-mail could not be sent ({reason}). Nothing changed."),
        )),
        Err(EmailChangeError::Same) => {
            let forms = refuse(Some("That is already your address."), None);
            refused(&state, &user, htmx, forms).await
        }
        Err(EmailChangeError::Taken) => {
            let forms = refuse(Some("Another account signs in with that address."), None);
            refused(&state, &user, htmx, forms).await
        }
        Err(EmailChangeError::WrongPassword) => {
            let forms = refuse(None, Some("That is not your current password."));
            refused(&state, &user, htmx, forms).await
        }
        Err(EmailChangeError::Throttled { retry_after }) => {
            Err(PageError::TooManyRequests { retry_after })
        }
        Err(EmailChangeError::Failed(e)) => Err(e.into()),
    }
}

#[derive(Template, Default)]
#[template(path = "auth/email_change.html", blocks = ["content"])]
struct ConfirmPage {
    brand: Brand,
    csrf: String,
    token: String,
    /// The address the link confirms (before), or the account's new one (after).
    email: String,
    done: bool,
    /// Used, expired, unknown — or the address was taken meanwhile.
    gone: Option<&'static str>,
}

const GONE: &str = "It was already used, a newer one replaced it, or it is more than a day old.";

/// GET /account/email/confirm?token=…: a button confirming the new address.
pub async fn confirm_form(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let token = link_token(query.token.as_deref())?;
    let usable = ops::email_change::usable(&state, &token).await?;
    let status = if usable.is_some() {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let page = ConfirmPage {
        brand: Brand::for_host(&state, &req).await,
        csrf: csrf::token(&req.get_session()),
        gone: usable.is_none().then_some(GONE),
        email: usable.unwrap_or_default(),
        token,
        done: false,
    };
    Ok(no_store(render!(htmx, status, page)?))
}

/// POST /account/email/confirm: moves the account to the new address, once.
pub async fn confirm(
    state: web::Data<AppState>,
    form: FormData,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let token = link_token(Some(form.get("token")))?;
    let mut page = ConfirmPage {
        brand: Brand::for_host(&state, &req).await,
        csrf: csrf::token(&req.get_session()),
        ..ConfirmPage::default()
    };
    let status = match ops::email_change::confirm(&state, &token, origin(&state, &req)).await {
        Ok(Some(email)) => {
            page.email = email;
            page.done = true;
            StatusCode::OK
        }
        Ok(None) => {
            page.gone = Some(GONE);
            StatusCode::GONE
        }
        Err(EmailChangeError::Taken) => {
            page.gone = Some("Another account signs in with that address now.");
            StatusCode::CONFLICT
        }
        Err(EmailChangeError::Failed(e)) => return Err(e.into()),
        Err(_) => return Err(PageError::internal("unexpected e-mail change outcome")),
    };
    Ok(no_store(render!(htmx, status, page)?))
}

//! "Forgot password?": ask for a reset link by e-mail (the same answer whether or not the
//! address has an account), and the link's page, which sets a new password once and signs
//! every session of the account out. Without e-mail the page says how the operator makes a
//! link (`latchkey users reset-password`).

use actix_session::SessionExt;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::brand::Brand;
use super::error::PageError;
use super::form::FormData;
use super::htmx::{Htmx, no_store};
use super::signing::{TokenQuery, link_token, origin};
use super::urls;
use crate::auth::csrf;
use crate::domain::inputs::{Email, Password};
use crate::ops;
use crate::render;
use crate::state::AppState;

#[derive(Template, Default)]
#[template(path = "auth/forgot.html", blocks = ["content"])]
struct ForgotPage {
    brand: Brand,
    csrf: String,
    email: String,
    email_error: Option<&'static str>,
    /// The address a link was asked for (the "check your mail" answer).
    sent_to: Option<String>,
    /// E-mail is configured.
    mail: bool,
}

#[derive(Template, Default)]
#[template(path = "auth/reset.html", blocks = ["content"])]
struct ResetPage {
    brand: Brand,
    csrf: String,
    token: String,
    password_error: Option<&'static str>,
    /// The link is used, expired or unknown.
    gone: bool,
}

/// GET /password/forgot.
pub async fn forgot_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let page = ForgotPage {
        brand: Brand::for_host(&state, &req).await,
        csrf: csrf::token(&req.get_session()),
        mail: state.mailer.is_some(),
        ..ForgotPage::default()
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST /password/forgot: one answer whether or not the address has an account.
pub async fn forgot_submit(
    state: web::Data<AppState>,
    form: FormData,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let raw = form.get("email").trim().to_owned();
    let mut page = ForgotPage {
        brand: Brand::for_host(&state, &req).await,
        csrf: csrf::token(&req.get_session()),
        mail: state.mailer.is_some(),
        ..ForgotPage::default()
    };
    let email = match Email::parse(&raw) {
        Ok(e) => e,
        Err(m) => {
            page.email = raw;
            page.email_error = Some(m);
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
    };
    let base = urls::public_base(&state.config.public_url, page.brand.host.as_deref());
    ops::accounts::request_reset(&state, &email, &base, origin(&state, &req)).await?;
    page.sent_to = Some(email.as_str().to_owned());
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// GET /password/reset?token=…: the new-password form, or a 410 for a used or expired link.
pub async fn reset_form(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let token = link_token(query.token.as_deref())?;
    let usable = ops::accounts::reset_usable(&state, &token).await?;
    let page = ResetPage {
        brand: Brand::for_host(&state, &req).await,
        csrf: csrf::token(&req.get_session()),
        gone: !usable,
        token,
        ..ResetPage::default()
    };
    let status = if usable {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    Ok(no_store(render!(htmx, status, page)?))
}

/// POST /password/reset: sets the new password once; every session of the account ends.
pub async fn reset_submit(
    state: web::Data<AppState>,
    mut form: FormData,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let token = link_token(Some(form.get("token")))?;
    let mut page = ResetPage {
        brand: Brand::for_host(&state, &req).await,
        csrf: csrf::token(&req.get_session()),
        token: token.clone(),
        ..ResetPage::default()
    };
    let password = match Password::parse_new(form.take("new_password")) {
        Ok(p) => p,
        Err(m) => {
            page.password_error = Some(m);
            page.gone = !ops::accounts::reset_usable(&state, &token).await?;
            let status = if page.gone {
                StatusCode::GONE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return Ok(no_store(render!(htmx, status, page)?));
        }
    };
    match ops::accounts::reset_password(&state, &token, password, origin(&state, &req)).await? {
        Some(_) => {
            // Whoever was signed in in this browser is signed out too.
            req.get_session().purge();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/login?reset=1"))
                .finish())
        }
        None => {
            page.gone = true;
            Ok(no_store(render!(htmx, StatusCode::GONE, page)?))
        }
    }
}

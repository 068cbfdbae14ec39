//! Two-factor sign-in pages: the second step of signing in (`/login/two-factor`: a code from
//! the authenticator app, or a recovery code), and "Your account → Two-factor sign-in":
//! enrolment (QR code and secret, confirmed by a first code, then ten recovery codes shown
//! once and downloadable as text). Turning it off is on the account page (`web::account`).

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;

use super::brand::Brand;
use super::error::PageError;
use super::form::FormData;
use super::htmx::{Htmx, no_store};
use super::layout::account_frame;
use super::layout::{PageCtx, set_flash};
use super::signing::{origin, pending, redirect, sign_in_session};
use super::urls;
use crate::auth::csrf;
use crate::domain::audit::SecurityAction;
use crate::ops;
use crate::ops::two_factor::CodeError;
use crate::render;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// The enrolment page.
pub const ENROL: &str = "/account/two-factor";

#[derive(Template, Default)]
#[template(path = "auth/two_factor.html", blocks = ["content"])]
struct StepPage {
    brand: Brand,
    csrf: String,
    error: Option<&'static str>,
    /// The account has an authenticator app (the code form).
    code: bool,
    /// The account has a passkey (the passkey button), and whether it can work here.
    passkey: bool,
    passkey_here: bool,
    passkeys_unavailable: &'static str,
    next: String,
}

impl StepPage {
    async fn new(
        state: &AppState,
        req: &HttpRequest,
        user: &crate::domain::ids::UserId,
        next: String,
        error: Option<&'static str>,
    ) -> Result<Self, PageError> {
        let brand = Brand::for_host(state, req).await;
        let (code, passkey) = ops::two_factor::factors(state, user).await?;
        Ok(Self {
            passkey_here: super::sign_in::passkeys_work(state, req, &brand),
            brand,
            csrf: csrf::token(&req.get_session()),
            error,
            code,
            passkey,
            passkeys_unavailable: ops::passkeys::UNAVAILABLE,
            next,
        })
    }
}

/// GET /login/two-factor.
pub async fn step_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let session = req.get_session();
    let Some((user, next)) = pending(&session, state.clock.now()) else {
        return Ok(redirect("/login"));
    };
    let page = StepPage::new(&state, &req, &user, next, None).await?;
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST /login/two-factor: a right code signs in; a wrong one is a 422 (and counts on the
/// sign-in throttle).
pub async fn step_submit(
    state: web::Data<AppState>,
    form: FormData,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let session = req.get_session();
    let now = state.clock.now();
    let Some((user, next)) = pending(&session, now) else {
        return Ok(redirect("/login"));
    };
    let origin = origin(&state, &req);
    match ops::two_factor::verify(&state, &user, form.get("code"), origin.clone()).await {
        Ok(()) => {
            sign_in_session(&session, &user, now, &origin)?;
            ops::accounts::note(&state, &user, SecurityAction::SignedIn, origin).await?;
            Ok(redirect(&next))
        }
        Err(CodeError::Wrong) => {
            let error =
                "That code is not right. Enter the current code from your app, or a recovery code.";
            let page = StepPage::new(&state, &req, &user, next, Some(error)).await?;
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
        }
        Err(CodeError::Throttled { retry_after }) => {
            Err(PageError::TooManyRequests { retry_after })
        }
        Err(CodeError::NotEnrolled | CodeError::RequiredBy(_)) => Ok(redirect("/login")),
        Err(CodeError::Failed(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "account/two_factor.html", blocks = ["content"])]
struct EnrolPage {
    ctx: PageCtx,
    secret: String,
    qr_path: String,
    qr_size: i32,
    error: Option<&'static str>,
    /// After confirmation: the recovery codes, shown once.
    codes: Vec<String>,
    codes_text: String,
}

async fn enrol_page(
    state: &AppState,
    user: &SignedIn,
    error: Option<&'static str>,
) -> Result<Option<EnrolPage>, PageError> {
    let Some(e) = ops::two_factor::pending(state, &user.id(), &user.user.email).await? else {
        return Ok(None);
    };
    Ok(Some(EnrolPage {
        ctx: account_frame(state, user, "Two-factor sign-in").await?,
        secret: e.secret.expose_secret().to_owned(),
        qr_path: e.qr.0,
        qr_size: e.qr.1,
        error,
        codes: vec![],
        codes_text: String::new(),
    }))
}

/// POST /account/two-factor: starts enrolment.
pub async fn begin(
    state: web::Data<AppState>,
    user: SignedIn,
    _form: FormData,
) -> Result<HttpResponse, PageError> {
    if !ops::two_factor::begin(&state, &user.id()).await? {
        set_flash(&user.session, "Two-factor sign-in is already on.");
        return Ok(redirect(urls::ACCOUNT));
    }
    Ok(redirect(ENROL))
}

/// GET /account/two-factor: the QR code, the secret, and the first code's field.
pub async fn enrol_form(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    match enrol_page(&state, &user, None).await? {
        Some(page) => Ok(no_store(render!(htmx, StatusCode::OK, page)?)),
        None => Ok(redirect(urls::ACCOUNT)),
    }
}

/// POST /account/two-factor/confirm: a first code turns it on; the recovery codes follow.
pub async fn confirm(
    state: web::Data<AppState>,
    user: SignedIn,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let origin = origin(&state, &req);
    match ops::two_factor::confirm(&state, &user.id(), form.get("code"), origin).await {
        Ok(codes) => {
            let page = EnrolPage {
                ctx: account_frame(&state, &user, "Two-factor sign-in").await?,
                secret: String::new(),
                qr_path: String::new(),
                qr_size: 0,
                error: None,
                codes_text: codes.join("\n") + "\n",
                codes,
            };
            Ok(no_store(render!(htmx, StatusCode::OK, page)?))
        }
        Err(CodeError::Wrong) => {
            let msg = "That code is not right: enter the 6 digits your app shows now.";
            match enrol_page(&state, &user, Some(msg)).await? {
                Some(page) => Ok(no_store(render!(
                    htmx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    page
                )?)),
                None => Ok(redirect(urls::ACCOUNT)),
            }
        }
        Err(CodeError::Throttled { retry_after }) => {
            Err(PageError::TooManyRequests { retry_after })
        }
        Err(CodeError::NotEnrolled | CodeError::RequiredBy(_)) => Ok(redirect(urls::ACCOUNT)),
        Err(CodeError::Failed(e)) => Err(e.into()),
    }
}

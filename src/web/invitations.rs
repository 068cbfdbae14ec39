//! Accepting an invitation link (`/invitations?token=…`, the token in the query so request
//! logs, which record paths only, never hold it). The link works once, for 7 days, for the
//! invited address only: a signed-in user with another address is told so, an existing
//! account signs in first, a new person picks a name and password.

use actix_session::SessionExt;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::brand::Brand;
use super::error::PageError;
use super::form::FormData;
use super::htmx::{Htmx, no_store};
use super::layout::set_flash;
use super::signing::{origin, safe_next, sign_in_session};
use super::urls;
use crate::auth::csrf;
use crate::db::with_read;
use crate::domain::ids::UserId;
use crate::domain::inputs::{Name, Password};
use crate::models::invitation::{Found, Invitation, Target};
use crate::models::user::User;
use crate::ops;
use crate::ops::members::AcceptError;
use crate::render;
use crate::state::AppState;
use crate::web::current_user::session_user;

/// `?token=…`
#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// What the page shows.
#[derive(PartialEq, Eq)]
enum State {
    /// Signed in with the invited address: one button.
    Join,
    /// No account with that address yet: name + password.
    SignUp,
    /// An account exists: sign in first, then come back.
    SignIn,
    /// Signed in as someone else.
    WrongAccount,
    /// Used, withdrawn or expired.
    Closed,
}

#[derive(Template)]
#[template(path = "auth/invitation.html", blocks = ["content"])]
struct InvitationPage {
    brand: Brand,
    csrf: String,
    token: String,
    state: State,
    target_name: String,
    target_kind: &'static str,
    role: String,
    email: String,
    inviter: Option<String>,
    signed_in_as: Option<String>,
    sign_in_url: String,
    name: String,
    name_error: Option<&'static str>,
    password_error: Option<&'static str>,
    closed_reason: &'static str,
}

async fn find(state: &AppState, token: &str) -> Result<Option<Found>, PageError> {
    let t = token.to_owned();
    Ok(with_read(&state.pool, move |c| Ok(Invitation::find_by_token(c, &t)?)).await?)
}

/// Builds the page for `found` as the current visitor sees it.
async fn page_for(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    found: &Found,
) -> Result<InvitationPage, PageError> {
    let now = state.clock.now();
    let session = req.get_session();
    let inv = &found.invitation;
    let signed_in = session_user(&session, now, state.config.session_max_secs);
    let email = inv.email.clone();
    let host = super::brand::request_host(req);
    let brand_agency = found.brand_agency.clone();
    let (me, existing, brand) = with_read(&state.pool, move |c| {
        let me = match &signed_in {
            Some(id) => User::find(c, id)?,
            None => None,
        };
        let existing = User::find_by_email(c, &email)?.is_some();
        let brand = Brand::resolve(c, host.as_deref(), brand_agency.as_deref())?;
        Ok((me, existing, brand))
    })
    .await?;
    let state_now = if !inv.is_open(now) {
        State::Closed
    } else {
        match &me {
            Some(u) if u.email == inv.email => State::Join,
            Some(_) => State::WrongAccount,
            None if existing => State::SignIn,
            None => State::SignUp,
        }
    };
    let closed_reason = if inv.accepted_at.is_some() {
        "This invitation has already been used."
    } else if inv.revoked_at.is_some() {
        "This invitation was withdrawn."
    } else {
        "This invitation has expired. Ask for a new one."
    };
    let here = format!("/invitations?token={token}");
    Ok(InvitationPage {
        brand,
        csrf: csrf::token(&session),
        token: token.to_owned(),
        state: state_now,
        target_name: found.target_name.clone(),
        target_kind: if inv.team_id.is_some() {
            "team"
        } else {
            "agency"
        },
        role: inv.role.clone(),
        email: inv.email.clone(),
        inviter: found.inviter_name.clone(),
        signed_in_as: me.map(|u| u.email),
        sign_in_url: format!(
            "/login?next={}",
            super::error::urlencode(&safe_next(Some(&here)))
        ),
        name: String::new(),
        name_error: None,
        password_error: None,
        closed_reason,
    })
}

/// GET /invitations?token=…
pub async fn show(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let token = query.token.clone().unwrap_or_default();
    let found = find(&state, &token).await?.ok_or(PageError::NotFound)?;
    let page = page_for(&state, &req, &token, &found).await?;
    let status = if page.state == State::Closed {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    Ok(no_store(render!(htmx, status, page)?))
}

/// POST /invitations: accept as the signed-in invitee, or create the invitee's account and
/// accept in one transaction.
pub async fn accept(
    state: web::Data<AppState>,
    mut form: FormData,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let token = form.get("token").to_owned();
    let found = find(&state, &token).await?.ok_or(PageError::NotFound)?;
    let mut page = page_for(&state, &req, &token, &found).await?;
    let now = state.clock.now();
    let session = req.get_session();
    let user_id = match page.state {
        State::Join => {
            session_user(&session, now, state.config.session_max_secs).ok_or(PageError::NotFound)?
        }
        State::SignUp => {
            page.name = form.get("name").to_owned();
            let name = Name::parse(&page.name)
                .map_err(|m| page.name_error = Some(m))
                .ok();
            let password = Password::parse_new(form.take("password"))
                .map_err(|m| page.password_error = Some(m))
                .ok();
            let (Some(name), Some(password)) = (name, password) else {
                return Ok(no_store(render!(
                    htmx,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    page
                )?));
            };
            let hash = state.passwords.hash(password).await?;
            let id = UserId::generate();
            let uid = id.clone();
            let email = found.invitation.email.clone();
            let created = ops::accounts::sign_up(&state, &uid, &email, name, hash).await?;
            if !created {
                page.state = State::SignIn;
                return Ok(no_store(render!(htmx, StatusCode::CONFLICT, page)?));
            }
            let origin = origin(&state, &req);
            sign_in_session(&session, &id, now, &origin)?;
            let signed_in = crate::domain::audit::SecurityAction::SignedIn;
            ops::accounts::note(&state, &id, signed_in, origin).await?;
            id
        }
        State::Closed => return Ok(no_store(render!(htmx, StatusCode::GONE, page)?)),
        State::SignIn | State::WrongAccount => {
            return Ok(no_store(render!(htmx, StatusCode::FORBIDDEN, page)?));
        }
    };

    let ip = state.client_ip(&req);
    let joined =
        match ops::members::accept_invitation(&state, &user_id, ip, found.invitation.clone()).await
        {
            Ok(()) => true,
            Err(AcceptError::Closed) => false,
            Err(AcceptError::Failed(e)) => return Err(e.into()),
        };
    if !joined {
        page.state = State::Closed;
        page.closed_reason = "This invitation has already been used.";
        return Ok(no_store(render!(htmx, StatusCode::GONE, page)?));
    }
    let (url, message) = match found.invitation.target() {
        Some(Target::Agency(_)) => (
            urls::agency(&found.target_slug),
            format!(
                "Welcome to {}. You can now manage its clients.",
                found.target_name
            ),
        ),
        _ => (
            urls::api_keys(&found.target_slug),
            format!("Welcome to {}.", found.target_name),
        ),
    };
    set_flash(&session, &message);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url))
        .finish())
}

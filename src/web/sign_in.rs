//! First-run set-up, sign-in and sign-out.

use actix_session::SessionExt;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::brand::Brand;
use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::signing::{origin, redirect, safe_next, sign_in_session};
use super::urls;
use crate::auth::csrf;
use crate::db::with_read;
use crate::domain::audit::{SecurityAction, Who};
use crate::domain::ids::UserId;
use crate::domain::inputs::{Email, Name, Password};
use crate::models::setup;
use crate::models::team::Team;
use crate::models::user::User;
use crate::ops;
use crate::ops::accounts::{PasswordOk, SignInError};
use crate::ops::teams::SetUpError;
use crate::render;
use crate::state::AppState;
use crate::web::current_user::session_user;

/// Query of the set-up and sign-in pages.
#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
    next: Option<String>,
    signed_out: Option<String>,
    reset: Option<String>,
}

#[derive(Template, Default)]
#[template(path = "auth/setup.html", blocks = ["content"])]
struct SetupPage {
    brand: Brand,
    csrf: String,
    token: String,
    name: String,
    name_error: Option<&'static str>,
    email: String,
    email_error: Option<&'static str>,
    password_error: Option<&'static str>,
    team: String,
    team_error: Option<&'static str>,
}

#[derive(Template, Default)]
#[template(path = "auth/login.html", blocks = ["content"])]
struct LoginPage {
    brand: Brand,
    csrf: String,
    next: String,
    email: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    /// Passkeys can sign in on this address.
    passkeys: bool,
}

const BAD_CREDENTIALS: &str = "That e-mail and password do not match an account.";

/// GET / → the user's first agency, else the team whose keys they work with (the one with
/// the most keys; the first by name on a tie), not a new empty team that sorts first; a user
/// with neither may start a team.
pub async fn home(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let session = req.get_session();
    let Some(user) = session_user(&session, state.clock.now(), state.config.session_max_secs)
    else {
        return Ok(redirect("/login"));
    };
    let (agencies, teams, keys) = with_read(&state.pool, move |c| {
        let agencies = crate::models::agency::Agency::list_for_user(c, &user)?;
        let teams = Team::list_for_user(c, &user)?;
        let ids: Vec<&str> = teams.iter().map(|t| t.team.id.as_str()).collect();
        let keys = if ids.is_empty() {
            vec![]
        } else {
            crate::models::api_key::ApiKey::kept_per_team(c, &ids)?
        };
        Ok((agencies, teams, keys))
    })
    .await?;
    let keys_of = |t: &crate::models::team::MemberTeam| {
        keys.iter()
            .find(|(id, _)| *id == t.team.id.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let busiest = teams
        .iter()
        .enumerate()
        .max_by_key(|(i, t)| (keys_of(t), std::cmp::Reverse(*i)))
        .map(|(_, t)| t);
    match (agencies.first(), busiest) {
        (Some(a), _) => Ok(redirect(&urls::agency(&a.slug))),
        (None, Some(t)) => Ok(redirect(&urls::api_keys(&t.team.slug))),
        (None, None) => Ok(redirect("/teams/new")),
    }
}

/// GET /setup?token=… — the one-time owner set-up.
pub async fn setup_form(
    state: web::Data<AppState>,
    query: web::Query<LinkQuery>,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let token = query.token.clone().unwrap_or_default();
    let now = state.clock.now();
    let t = token.clone();
    let open = with_read(&state.pool, move |c| {
        Ok(!User::any_exist(c)? && setup::is_valid(c, &t, now)?)
    })
    .await?;
    if !open {
        return Err(PageError::NotFound);
    }
    let page = SetupPage {
        csrf: csrf::token(&req.get_session()),
        token,
        ..SetupPage::default()
    };
    Ok(super::htmx::no_store(render!(htmx, StatusCode::OK, page)?))
}

/// POST /setup — creates the owner, the first team, and signs in.
pub async fn setup_submit(
    state: web::Data<AppState>,
    mut form: FormData,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let session = req.get_session();
    let now = state.clock.now();
    let token = form.get("token").to_owned();
    let mut page = SetupPage {
        csrf: csrf::token(&session),
        token: token.clone(),
        name: form.get("name").to_owned(),
        email: form.get("email").to_owned(),
        team: form.get("team").to_owned(),
        ..SetupPage::default()
    };
    let name = Name::parse(&page.name)
        .map_err(|m| page.name_error = Some(m))
        .ok();
    let email = Email::parse(&page.email)
        .map_err(|m| page.email_error = Some(m))
        .ok();
    let password = Password::parse_new(form.take("password"))
        .map_err(|m| page.password_error = Some(m))
        .ok();
    let team = Name::parse(&page.team)
        .map_err(|m| page.team_error = Some(m))
        .ok();
    let (Some(name), Some(email), Some(password), Some(team)) = (name, email, password, team)
    else {
        let t = token.clone();
        let open = with_read(&state.pool, move |c| {
            Ok(!User::any_exist(c)? && setup::is_valid(c, &t, now)?)
        })
        .await?;
        if !open {
            return Err(PageError::NotFound);
        }
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let hash = state.passwords.hash(password).await?;
    let user_id = UserId::generate();
    let who = Who::User {
        id: user_id.clone(),
        name: name.as_str().to_owned(),
    };
    let actor = state.actor(who, &req);
    let team = match ops::teams::set_up(&state, &actor, token, email, hash, team).await {
        Ok(team) => team,
        Err(SetUpError::Closed) => return Err(PageError::NotFound),
        Err(SetUpError::Failed(e)) => return Err(e.into()),
    };
    let origin = origin(&state, &req);
    sign_in_session(&session, &user_id, now, &origin)?;
    let signed_in = SecurityAction::SignedIn;
    ops::accounts::note(&state, &user_id, signed_in, origin).await?;
    tracing::info!(team = %team.id, "set-up complete: owner account and first team created");
    Ok(redirect(&urls::api_keys(&team.slug)))
}

/// Whether a passkey can sign in on the request's address.
pub(crate) fn passkeys_work(state: &AppState, req: &HttpRequest, brand: &Brand) -> bool {
    super::brand::request_host(req)
        .is_some_and(|h| ops::passkeys::work_on(state, &h, brand.host.is_some()))
}

/// GET /login.
pub async fn login_form(
    state: web::Data<AppState>,
    query: web::Query<LinkQuery>,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let brand = Brand::for_host(&state, &req).await;
    let page = LoginPage {
        passkeys: passkeys_work(&state, &req, &brand),
        brand,
        csrf: csrf::token(&req.get_session()),
        next: safe_next(query.next.as_deref()),
        notice: if query.reset.is_some() {
            Some(
                "Your password is changed and every session signed out. Sign in with the new password.",
            )
        } else {
            query.signed_out.is_some().then_some("You have signed out.")
        },
        ..LoginPage::default()
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST /login. Same message for unknown e-mail and wrong password; throttled per address.
pub async fn login_submit(
    state: web::Data<AppState>,
    mut form: FormData,
    req: HttpRequest,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let session = req.get_session();
    let now = state.clock.now();
    let next = safe_next(Some(form.get("next")));
    let raw_email = form.get("email").to_owned();
    let brand = Brand::for_host(&state, &req).await;
    let passkeys = passkeys_work(&state, &req, &brand);
    let fail = |error: &'static str| LoginPage {
        brand: brand.clone(),
        csrf: csrf::token(&session),
        next: next.clone(),
        email: raw_email.clone(),
        error: Some(error),
        notice: None,
        passkeys,
    };
    let (email, password) = match (
        Email::parse(&raw_email),
        Password::parse_existing(form.take("password")),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        _ => {
            return Ok(render!(
                htmx,
                StatusCode::UNPROCESSABLE_ENTITY,
                fail("Enter your e-mail address and password.")
            )?);
        }
    };
    let ip = crate::net::client_ip(&req, &state.config.trusted_proxies);
    let origin = origin(&state, &req);
    match ops::accounts::sign_in(&state, ip, email, password, origin.clone()).await {
        Ok(PasswordOk::SignedIn(user)) => {
            sign_in_session(&session, &user, now, &origin)?;
            Ok(redirect(&next))
        }
        Ok(PasswordOk::SecondFactor(user)) => {
            super::signing::await_second_factor(&session, &user, now, &next)?;
            Ok(redirect(super::signing::SIGN_IN_STEP))
        }
        Err(SignInError::Throttled { retry_after }) => {
            Err(PageError::TooManyRequests { retry_after })
        }
        Err(SignInError::BadCredentials) => Ok(render!(
            htmx,
            StatusCode::UNPROCESSABLE_ENTITY,
            fail(BAD_CREDENTIALS)
        )?),
        Err(SignInError::Failed(e)) => Err(e.into()),
    }
}

/// POST /logout: deletes the server-side session, and asks the browser to drop what it kept
/// of our pages (`Clear-Site-Data`: cache and storage; not "cookies", which would also clear
/// cookies of other sites under the same registrable domain — ours is removed by the session
/// middleware).
pub async fn logout(state: web::Data<AppState>, _form: FormData, req: HttpRequest) -> HttpResponse {
    let session = req.get_session();
    let now = state.clock.now();
    if let Some(user) = session_user(&session, now, state.config.session_max_secs) {
        let origin = origin(&state, &req);
        // Signing out must work while the database is away: the event is best effort.
        if let Err(e) = ops::accounts::note(&state, &user, SecurityAction::SignedOut, origin).await
        {
            tracing::warn!(error = %e, "sign-out not recorded");
        }
    }
    session.purge();
    let mut res = redirect("/login?signed_out=1");
    res.headers_mut().insert(
        header::HeaderName::from_static("clear-site-data"),
        header::HeaderValue::from_static("\"cache\", \"storage\""),
    );
    res
}

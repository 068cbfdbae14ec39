//! Starting a signed-in session, shared by every way in (set-up, sign-in, an invitation, the
//! second factor, a one-time link): a fresh session key, the account's public session handle,
//! where it came from; and the anonymous session that waits for a second factor after a right
//! password.

use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use super::error::PageError;
use crate::auth::session_store::{HANDLE, SIGNED_IN_AGENT, SIGNED_IN_AT, SIGNED_IN_IP, USER_ID};
use crate::domain::ids::UserId;
use crate::ops::accounts::Origin;
use crate::state::AppState;

/// Only plain local paths are followed after sign-in (no open redirect); anything else goes to
/// the dashboard's front page.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    crate::domain::local_path::LocalPath::or(next, "/")
}

/// A one-time link's query (`?token=…`).
#[derive(serde::Deserialize)]
pub struct TokenQuery {
    /// The link's token.
    pub token: Option<String>,
}

/// The token of a one-time link (a password reset, an e-mail change) as the request carries
/// it; none, or one no link could have, is a 404.
pub(crate) fn link_token(raw: Option<&str>) -> Result<String, PageError> {
    match raw {
        Some(t) if !t.is_empty() && t.len() <= 64 => Ok(t.to_owned()),
        _ => Err(PageError::NotFound),
    }
}

/// A 303 to `to` (Post/Redirect/Get).
pub(crate) fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// Where this request comes from, for the account's security activity.
pub(crate) fn origin(state: &AppState, req: &HttpRequest) -> Origin {
    Origin {
        ip: state.client_ip(req),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

/// Starts a fresh session for `user` (new key: no fixation), with what the account's
/// Sessions list shows of it: a new public handle, and the address and browser it came from.
pub(crate) fn sign_in_session(
    session: &Session,
    user: &UserId,
    now: i64,
    origin: &Origin,
) -> Result<(), PageError> {
    session.renew();
    session
        .insert(USER_ID, user.as_str())
        .and_then(|()| session.insert(SIGNED_IN_AT, now))
        .and_then(|()| session.insert(HANDLE, crate::domain::base62::random(20)))
        .and_then(|()| session.insert(SIGNED_IN_IP, origin.ip.clone().unwrap_or_default()))
        .and_then(|()| {
            let agent: String = origin
                .user_agent
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(512)
                .collect();
            session.insert(SIGNED_IN_AGENT, agent)
        })
        .map_err(|_| PageError::internal("session insert failed"))
}

/// The second step of signing in.
pub const SIGN_IN_STEP: &str = "/login/two-factor";

/// Session keys of a sign-in waiting for its second factor (the session is anonymous until
/// then: `USER_ID` is not set).
const PENDING_USER: &str = "pending_user";
const PENDING_AT: &str = "pending_at";
const PENDING_NEXT: &str = "pending_next";
/// How long the code may take after the password.
const PENDING_FOR: i64 = 300;

/// After a right password for an account with two-factor sign-in: a fresh session that waits
/// for the code.
pub(crate) fn await_second_factor(
    session: &Session,
    user: &UserId,
    now: i64,
    next: &str,
) -> Result<(), PageError> {
    session.renew();
    session
        .insert(PENDING_USER, user.as_str())
        .and_then(|()| session.insert(PENDING_AT, now))
        .and_then(|()| session.insert(PENDING_NEXT, next))
        .map_err(|_| PageError::internal("session insert failed"))
}

pub(crate) fn pending(session: &Session, now: i64) -> Option<(UserId, String)> {
    let user: String = session.get(PENDING_USER).ok().flatten()?;
    let at: i64 = session.get(PENDING_AT).ok().flatten()?;
    let next: String = session.get(PENDING_NEXT).ok().flatten()?;
    if now - at > PENDING_FOR {
        return None;
    }
    Some((UserId::parse(&user)?, next))
}

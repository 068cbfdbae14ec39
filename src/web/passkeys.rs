//! Passkey endpoints (JSON, for `static/app.js`; a passkey needs JavaScript, the one form that
//! does): the options for registering one on "Your account" and the browser's answer; removing
//! one (a plain form); signing in with one (on its own, or as the step after the password). The
//! ceremony's state waits in the session between its two requests.

use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential,
};

use super::brand::{Brand, request_host};
use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::layout::back_to_account;
use super::layout::set_flash;
use super::signing::{origin, pending, safe_next, sign_in_session};
use super::urls;
use crate::domain::audit::SecurityAction;
use crate::domain::ids::{PasskeyId, UserId};
use crate::domain::inputs::Name;
use crate::ops;
use crate::ops::passkeys::{PasskeyError, RelyingParty, UNAVAILABLE};
use crate::render;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// Session keys of a ceremony in progress.
const REGISTERING: &str = "passkey_registration";
const SIGNING_IN: &str = "passkey_sign_in";

#[derive(Serialize, Deserialize)]
struct Registering {
    name: String,
    state: PasskeyRegistration,
}

/// The relying party of this request (its host), if passkeys can work here.
pub async fn relying_party(state: &AppState, req: &HttpRequest) -> Option<RelyingParty> {
    let host = request_host(req)?;
    let authority = req
        .headers()
        .get(actix_web::http::header::HOST)?
        .to_str()
        .ok()?
        .to_owned();
    let brand = Brand::of_host(state, Some(host.clone())).await;
    let scheme = req.connection_info().scheme().to_owned();
    RelyingParty::for_request(
        state,
        &host,
        &authority,
        &scheme,
        brand.host.is_some(),
        &brand.product,
    )
}

fn answer(status: StatusCode, error: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "error": error }))
}

fn options(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

fn refused(e: PasskeyError) -> Result<HttpResponse, PageError> {
    match e {
        PasskeyError::Unavailable => Ok(answer(StatusCode::CONFLICT, UNAVAILABLE)),
        PasskeyError::Refused => Ok(answer(
            StatusCode::BAD_REQUEST,
            "The passkey was not accepted. Try again.",
        )),
        PasskeyError::AlreadyRegistered => Ok(answer(
            StatusCode::CONFLICT,
            "This passkey is registered already.",
        )),
        PasskeyError::Failed(e) => Err(e.into()),
    }
}

fn take<T: serde::de::DeserializeOwned>(session: &Session, key: &str) -> Option<T> {
    let value = session.get::<T>(key).ok().flatten();
    session.remove(key);
    value
}

/// POST /account/passkeys/options: `name` → the browser's creation options.
pub async fn registration_options(
    state: web::Data<AppState>,
    user: SignedIn,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let name = match Name::parse(form.get("name")) {
        Ok(n) => n,
        Err(m) => return Ok(answer(StatusCode::UNPROCESSABLE_ENTITY, m)),
    };
    let Some(rp) = relying_party(&state, &req).await else {
        return refused(PasskeyError::Unavailable);
    };
    match ops::passkeys::start_registration(&state, &rp, &user.id()).await {
        Ok((body, reg)) => {
            let registering = Registering {
                name: name.as_str().to_owned(),
                state: reg,
            };
            user.session
                .insert(REGISTERING, registering)
                .map_err(|_| PageError::internal("session insert failed"))?;
            Ok(options(body))
        }
        Err(e) => refused(e),
    }
}

/// POST /account/passkeys: `credential` (the browser's answer, JSON) → stored.
pub async fn register(
    state: web::Data<AppState>,
    user: SignedIn,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let Some(registering) = take::<Registering>(&user.session, REGISTERING) else {
        return refused(PasskeyError::Refused);
    };
    let Ok(credential) =
        serde_json::from_str::<RegisterPublicKeyCredential>(form.get("credential"))
    else {
        return refused(PasskeyError::Refused);
    };
    let Some(rp) = relying_party(&state, &req).await else {
        return refused(PasskeyError::Unavailable);
    };
    let name = Name::parse(&registering.name).map_err(|_| PageError::BadRequest("name"))?;
    let label = name.as_str().to_owned();
    let origin = origin(&state, &req);
    match ops::passkeys::finish_registration(
        &state,
        &rp,
        &user.id(),
        name,
        &credential,
        &registering.state,
        origin,
    )
    .await
    {
        Ok(()) => {
            set_flash(&user.session, &format!("Passkey “{label}” added."));
            Ok(options(json!({ "redirect": urls::ACCOUNT })))
        }
        Err(e) => refused(e),
    }
}

#[derive(askama::Template)]
#[template(path = "account/passkey_rename.html", blocks = ["content"])]
struct RenamePage {
    ctx: super::layout::PageCtx,
    action: String,
    name: String,
    error: Option<&'static str>,
}

/// The rename form of `user`'s passkey `id` with `name` in its field (a 404 for a passkey the
/// account does not have).
async fn rename_page(
    state: &AppState,
    user: &SignedIn,
    id: &PasskeyId,
    name: String,
    error: Option<&'static str>,
) -> Result<RenamePage, PageError> {
    Ok(RenamePage {
        ctx: super::layout::account_frame(state, user, "Rename passkey").await?,
        action: format!("{}/passkeys/{}/rename", urls::ACCOUNT, id),
        name,
        error,
    })
}

/// GET /account/passkeys/{id}/rename.
pub async fn rename_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let id = PasskeyId::parse(&path).ok_or(PageError::NotFound)?;
    let name = ops::passkeys::name_of(&state, &user.id(), &id)
        .await?
        .ok_or(PageError::NotFound)?;
    let page = rename_page(&state, &user, &id, name, None).await?;
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST /account/passkeys/{id}/rename: `name` → saved (a 422 with the message, nothing saved).
pub async fn rename(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let id = PasskeyId::parse(&path).ok_or(PageError::NotFound)?;
    let raw = form.get("name").to_owned();
    let name = match Name::parse(&raw) {
        Ok(name) => name,
        Err(message) => {
            // Another account's passkey is a 404 whatever was typed.
            ops::passkeys::name_of(&state, &user.id(), &id)
                .await?
                .ok_or(PageError::NotFound)?;
            let page = rename_page(&state, &user, &id, raw, Some(message)).await?;
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
    };
    let label = name.as_str().to_owned();
    if !ops::passkeys::rename(&state, &user.id(), &id, name, origin(&state, &req)).await? {
        return Err(PageError::NotFound);
    }
    Ok(back_to_account(
        &user,
        &format!("Passkey renamed “{label}”."),
    ))
}

/// POST /account/passkeys/{id}/remove (a plain form).
pub async fn remove(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let id = PasskeyId::parse(&path).ok_or(PageError::NotFound)?;
    if !ops::passkeys::remove(&state, &user.id(), &id, origin(&state, &req)).await? {
        return Err(PageError::NotFound);
    }
    Ok(back_to_account(
        &user,
        "Passkey removed: it no longer signs you in.",
    ))
}

/// POST /login/passkey/options → the browser's request options (any passkey of this host).
pub async fn sign_in_options(
    state: web::Data<AppState>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let Some(rp) = relying_party(&state, &req).await else {
        return refused(PasskeyError::Unavailable);
    };
    match ops::passkeys::start_sign_in(&rp) {
        Ok((body, auth)) => {
            req.get_session()
                .insert(SIGNING_IN, auth)
                .map_err(|_| PageError::internal("session insert failed"))?;
            Ok(options(body))
        }
        Err(e) => refused(e),
    }
}

/// Whether `answer` (the browser's JSON, to the challenge `/login/passkey/options` kept in this
/// session) is one of `user`'s passkeys confirming "it's you".
pub(super) async fn confirms(
    state: &AppState,
    req: &HttpRequest,
    user: &UserId,
    answer: &str,
) -> Result<bool, PageError> {
    let Some(auth) = take::<DiscoverableAuthentication>(&req.get_session(), SIGNING_IN) else {
        return Ok(false);
    };
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(answer) else {
        return Ok(false);
    };
    let Some(rp) = relying_party(state, req).await else {
        return Ok(false);
    };
    let origin = origin(state, req);
    match ops::reconfirm::with_passkey(state, &rp, &credential, auth, user, origin).await {
        Ok(()) => Ok(true),
        Err(PasskeyError::Failed(e)) => Err(e.into()),
        Err(_) => Ok(false),
    }
}

/// POST /login/passkey: `credential` (the browser's answer, JSON) → signed in, and where to go.
/// After a right password (the second step) only that account's passkeys count.
pub async fn sign_in(
    state: web::Data<AppState>,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let session = req.get_session();
    let now = state.clock.now();
    let Some(auth) = take::<DiscoverableAuthentication>(&session, SIGNING_IN) else {
        return refused(PasskeyError::Refused);
    };
    let Ok(credential) = serde_json::from_str::<PublicKeyCredential>(form.get("credential")) else {
        return refused(PasskeyError::Refused);
    };
    let Some(rp) = relying_party(&state, &req).await else {
        return refused(PasskeyError::Unavailable);
    };
    let waiting = pending(&session, now);
    let expected = waiting.as_ref().map(|(u, _)| u);
    let user = match ops::passkeys::finish_sign_in(&state, &rp, &credential, auth, expected).await {
        Ok(user) => user,
        Err(e) => return refused(e),
    };
    let next = waiting.map_or_else(|| safe_next(Some(form.get("next"))), |(_, next)| next);
    let origin = origin(&state, &req);
    sign_in_session(&session, &user, now, &origin)?;
    ops::accounts::note(&state, &user, SecurityAction::SignedInWithPasskey, origin).await?;
    Ok(options(json!({ "redirect": next })))
}

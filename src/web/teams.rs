//! Creating another team: any signed-in user can, and becomes its owner.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::layout::set_flash;
use super::urls;
use crate::auth::csrf;
use crate::domain::inputs::Name;
use crate::ops;
use crate::render;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

#[derive(Template)]
#[template(path = "teams/new.html", blocks = ["content"])]
struct NewTeamPage {
    brand: super::brand::Brand,
    csrf: String,
    name: String,
    name_error: Option<&'static str>,
    /// "team" or "agency".
    kind: &'static str,
}

/// What the page creates.
#[derive(Clone, Copy)]
enum Kind {
    Team,
    Agency,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Agency => "agency",
        }
    }
}

async fn form_page(
    state: &AppState,
    user: &SignedIn,
    req: &HttpRequest,
    kind: Kind,
    name: String,
    name_error: Option<&'static str>,
) -> NewTeamPage {
    NewTeamPage {
        brand: super::brand::Brand::for_host(state, req).await,
        csrf: csrf::token(&user.session),
        name,
        name_error,
        kind: kind.as_str(),
    }
}

/// GET /teams/new
pub async fn new_form(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let page = form_page(&state, &user, &req, Kind::Team, String::new(), None).await;
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// GET /agencies/new
pub async fn new_agency_form(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let page = form_page(&state, &user, &req, Kind::Agency, String::new(), None).await;
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST /teams/new
pub async fn create(
    state: web::Data<AppState>,
    user: SignedIn,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let raw = form.get("name").to_owned();
    let name = match Name::parse(&raw) {
        Ok(n) => n,
        Err(m) => {
            let page = form_page(&state, &user, &req, Kind::Team, raw, Some(m)).await;
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
    };
    let actor = state.actor(user.who(), &req);
    let team = ops::teams::create(&state, &actor, name).await?;
    set_flash(
        &user.session,
        &format!("Team “{}” created. You are its owner.", team.name),
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, urls::api_keys(&team.slug)))
        .finish())
}

/// POST /agencies/new: any user may start an agency and owns it.
pub async fn create_agency(
    state: web::Data<AppState>,
    user: SignedIn,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let raw = form.get("name").to_owned();
    let name = match Name::parse(&raw) {
        Ok(n) => n,
        Err(m) => {
            let page = form_page(&state, &user, &req, Kind::Agency, raw, Some(m)).await;
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
    };
    let actor = state.actor(user.who(), &req);
    let agency = ops::agency::create_agency(&state, &actor, name).await?;
    set_flash(
        &user.session,
        &format!(
            "Agency “{}” created. Add your first client to start.",
            agency.name
        ),
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, urls::agency(&agency.slug)))
        .finish())
}

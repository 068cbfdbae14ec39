//! Team settings → General: the team's name and the default API rate limit of its keys.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::layout::{PageCtx, set_flash};
use super::team_context::TeamCtx;
use super::urls;
use crate::db::write_tx;
use crate::domain::inputs::{Name, parse_rate_limit};
use crate::error::{AppError, with_write};
use crate::models::team::Team;
use crate::render;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

#[derive(Template)]
#[template(path = "teams/settings.html", blocks = ["content"])]
struct SettingsPage {
    ctx: PageCtx,
    can_edit: bool,
    action: String,
    name: String,
    name_error: Option<&'static str>,
    rate_limit: String,
    rate_limit_error: Option<&'static str>,
}

fn page(user: &SignedIn, team: &TeamCtx) -> SettingsPage {
    SettingsPage {
        ctx: PageCtx::new("Settings", user, team, "settings"),
        can_edit: team.current.role.can_edit_settings(),
        action: urls::team_settings(team.slug()),
        name: team.current.team.name.clone(),
        name_error: None,
        rate_limit: team.current.team.rate_limit_per_minute.to_string(),
        rate_limit_error: None,
    }
}

/// GET the settings.
pub async fn show(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    Ok(render!(htmx, StatusCode::OK, page(&user, &team))?)
}

/// POST the settings (owners and admins).
pub async fn update(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    if !team.current.role.can_edit_settings() {
        return Err(PageError::Forbidden);
    }
    let mut p = page(&user, &team);
    p.name = form.get("name").to_owned();
    p.rate_limit = form.get("rate_limit").trim().to_owned();
    let name = Name::parse(&p.name)
        .map_err(|m| p.name_error = Some(m))
        .ok();
    let rate = match parse_rate_limit(&p.rate_limit) {
        Ok(Some(n)) => Some(n),
        Ok(None) => {
            p.rate_limit_error = Some("Enter the default number of requests per minute.");
            None
        }
        Err(m) => {
            p.rate_limit_error = Some(m);
            None
        }
    };
    let (Some(name), Some(rate)) = (name, rate) else {
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, p)?);
    };
    let actor = team.actor(&state, &user, &req);
    let detail = format!("name={}; rate_limit_per_minute={rate}", name.as_str());
    with_write(&state.pool, move |c| {
        write_tx(c, |c| {
            Team::update_settings(c, &actor.team, name.as_str(), rate)?;
            actor.record(c, "team.updated", Some(actor.team.as_str()), Some(detail))?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    // The default rate limit is part of every cached key of the team.
    state.team_changed(&team.current.team.id);
    let url = urls::team_settings(team.slug());
    set_flash(&user.session, "Settings saved.");
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, url))
        .finish())
}

//! Team settings → General: the team's name, the default API rate limit of its keys and how
//! long its audit events are kept.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::layout::{PageCtx, set_flash};
use super::team_context::TeamCtx;
use super::urls;
use crate::domain::audit::RETENTION_DAYS;
use crate::domain::inputs::{Name, parse_rate_limit};
use crate::ops;
use crate::ops::teams::TeamSettings;
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
    retention: String,
    retention_error: Option<&'static str>,
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
        retention: team.current.team.audit_retention_days.to_string(),
        retention_error: None,
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
    if form.has("audit_retention_days") {
        p.retention = form.get("audit_retention_days").trim().to_owned();
    }
    let retention = p
        .retention
        .parse::<i32>()
        .ok()
        .filter(|d| RETENTION_DAYS.contains(d))
        .or_else(|| {
            p.retention_error = Some("Enter a number of days from 30 to 3650.");
            None
        });
    let (Some(name), Some(rate), Some(retention)) = (name, rate, retention) else {
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, p)?);
    };
    let actor = team.actor(&state, &user, &req);
    let settings = TeamSettings {
        name,
        rate_limit_per_minute: rate,
        audit_retention_days: retention,
    };
    ops::teams::update_settings(&state, &actor, &team.current.team, settings).await?;
    let url = urls::team_settings(team.slug());
    set_flash(&user.session, "Settings saved.");
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, url))
        .finish())
}

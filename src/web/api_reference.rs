//! The API reference page: the route table with scopes, the error contract and client
//! snippets, rendered from the same data as `/v1/openapi.json`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::error::PageError;
use super::htmx::Htmx;
use super::layout::PageCtx;
use super::team_context::TeamCtx;
use crate::api::ROUTES;
use crate::api::error::ApiError;
use crate::domain::scope::Scope;
use crate::render;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// One row of the reference.
pub struct RouteRow {
    /// `GET`.
    pub method: &'static str,
    /// `/v1/bots/{id}`.
    pub path: String,
    /// Scope or "any key" / "none".
    pub scope: String,
    /// What it does.
    pub summary: &'static str,
}

/// One error code.
pub struct ErrorRow {
    /// HTTP status.
    pub status: u16,
    /// Exact body.
    pub body: String,
}

#[derive(Template)]
#[template(path = "api_reference.html", blocks = ["content"])]
struct ReferencePage {
    ctx: PageCtx,
    keys_url: String,
    base: String,
    routes: Vec<RouteRow>,
    scopes: Vec<(&'static str, &'static str)>,
    errors: Vec<ErrorRow>,
}

/// GET the reference.
pub async fn show(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    let examples = [
        ApiError::InvalidApiKey,
        ApiError::ApiKeyExpired,
        ApiError::InsufficientPermissions(Scope::BotsWrite),
        ApiError::IpNotAllowed,
        ApiError::AccountSuspended,
        ApiError::NotFound,
        ApiError::field("name", "This field is required."),
        ApiError::RateLimited { retry_after: 1 },
    ];
    let errors = examples
        .iter()
        .map(|e| ErrorRow {
            status: actix_web::ResponseError::status_code(e).as_u16(),
            body: e.body().to_string(),
        })
        .collect();
    let page = ReferencePage {
        ctx: PageCtx::new("API reference", &user, &team, "api-reference"),
        base: format!(
            "{}/v1",
            super::urls::public_base(&state.config.public_url, team.brand.host.as_deref())
        ),
        keys_url: super::urls::api_keys(team.slug()),
        routes: ROUTES
            .iter()
            .map(|r| RouteRow {
                method: r.method,
                path: format!("/v1{}", r.path),
                scope: match (r.scope, r.path) {
                    (Some(s), _) => s.as_str().to_owned(),
                    (None, "/revoke") => "none (the key itself)".to_owned(),
                    (None, _) => "any key".to_owned(),
                },
                summary: r.summary,
            })
            .collect(),
        scopes: Scope::ALL
            .iter()
            .map(|s| (s.as_str(), s.description()))
            .collect(),
        errors,
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

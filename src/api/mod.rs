//! The platform's JSON API under `/v1`. This file is THE API route table: every route with the
//! scope it requires (the handler's `Authorized<need::…>` enforces it; a test walks this table
//! and checks each route refuses a key without that scope).

pub mod auth;
pub mod bots;
pub mod error;
pub mod me;
pub mod render;
pub mod request;

use actix_web::{HttpResponse, web};

use crate::domain::scope::Scope;
use error::ApiError;

/// One documented route.
pub struct ApiRoute {
    /// HTTP method.
    pub method: &'static str,
    /// Path under `/v1`, with `{id}` placeholders.
    pub path: &'static str,
    /// Required scope (None: any valid key, or no key for `/revoke`).
    pub scope: Option<Scope>,
    /// One line for the reference.
    pub summary: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    scope: Option<Scope>,
    summary: &'static str,
) -> ApiRoute {
    ApiRoute {
        method,
        path,
        scope,
        summary,
    }
}

/// Every API route.
pub const ROUTES: &[ApiRoute] = &[
    r(
        "GET",
        "/me",
        None,
        "The calling key: team, name, mode, environment, scopes, expiry",
    ),
    r("GET", "/bots", Some(Scope::BotsRead), "List bots"),
    r("POST", "/bots", Some(Scope::BotsWrite), "Create a bot"),
    r("GET", "/bots/{id}", Some(Scope::BotsRead), "Retrieve a bot"),
    r(
        "PATCH",
        "/bots/{id}",
        Some(Scope::BotsWrite),
        "Update a bot",
    ),
    r(
        "DELETE",
        "/bots/{id}",
        Some(Scope::BotsWrite),
        "Delete a bot",
    ),
];

async fn method_not_allowed() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed)
}

async fn not_found() -> HttpResponse {
    not_found_response()
}

/// Registers the API routes (mounted under `/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource =
        |path: &str| web::resource(path.to_owned()).default_service(web::to(method_not_allowed));
    cfg.service(resource("/me").route(web::get().to(me::show)))
        .service(
            resource("/bots")
                .route(web::get().to(bots::list))
                .route(web::post().to(bots::create)),
        )
        .service(
            resource("/bots/{id}")
                .route(web::get().to(bots::show))
                .route(web::patch().to(bots::update))
                .route(web::delete().to(bots::delete)),
        )
        .default_service(web::to(not_found));
}

/// A JSON 404 for unknown `/v1` paths (also used by tests).
pub fn not_found_response() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::NotFound)
}

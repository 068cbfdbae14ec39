//! The platform's JSON API under `/v1`. This file is THE API route table: every route with the
//! scope it requires (the handler's `Authorized<need::…>` enforces it; a test walks this table
//! and checks each route refuses a key without that scope).

pub mod agent_loops;
pub mod api_keys;
pub mod audit_events;
pub mod auth;
pub mod bots;
pub mod channels;
pub mod conversations;
pub mod error;
pub mod integrations;
pub mod me;
pub mod objects;
pub mod openapi;
pub mod render;
pub mod request;
pub mod revoke;

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
    r(
        "GET",
        "/channels",
        Some(Scope::ChannelsRead),
        "List channels",
    ),
    r(
        "POST",
        "/channels",
        Some(Scope::ChannelsWrite),
        "Connect a bot to a channel",
    ),
    r(
        "GET",
        "/channels/{id}",
        Some(Scope::ChannelsRead),
        "Retrieve a channel",
    ),
    r(
        "PATCH",
        "/channels/{id}",
        Some(Scope::ChannelsWrite),
        "Update a channel",
    ),
    r(
        "DELETE",
        "/channels/{id}",
        Some(Scope::ChannelsWrite),
        "Delete a channel",
    ),
    r(
        "GET",
        "/conversations",
        Some(Scope::ConversationsRead),
        "List conversations",
    ),
    r(
        "POST",
        "/conversations",
        Some(Scope::ConversationsWrite),
        "Import a conversation with its messages",
    ),
    r(
        "GET",
        "/conversations/{id}",
        Some(Scope::ConversationsRead),
        "Retrieve a conversation with its messages",
    ),
    r(
        "DELETE",
        "/conversations/{id}",
        Some(Scope::ConversationsWrite),
        "Delete a conversation",
    ),
    r(
        "GET",
        "/integrations",
        Some(Scope::IntegrationsRead),
        "List integrations",
    ),
    r(
        "POST",
        "/integrations",
        Some(Scope::IntegrationsWrite),
        "Create an integration",
    ),
    r(
        "GET",
        "/integrations/{id}",
        Some(Scope::IntegrationsRead),
        "Retrieve an integration",
    ),
    r(
        "PATCH",
        "/integrations/{id}",
        Some(Scope::IntegrationsWrite),
        "Update an integration",
    ),
    r(
        "DELETE",
        "/integrations/{id}",
        Some(Scope::IntegrationsWrite),
        "Delete an integration",
    ),
    r(
        "GET",
        "/agent-loops",
        Some(Scope::AgentLoopsRead),
        "List agent loops",
    ),
    r(
        "POST",
        "/agent-loops",
        Some(Scope::AgentLoopsWrite),
        "Create an agent loop",
    ),
    r(
        "GET",
        "/agent-loops/{id}",
        Some(Scope::AgentLoopsRead),
        "Retrieve an agent loop",
    ),
    r(
        "POST",
        "/agent-loops/{id}/runs",
        Some(Scope::AgentLoopsWrite),
        "Request a run of an agent loop",
    ),
    r(
        "GET",
        "/agent-loops/{id}/runs",
        Some(Scope::AgentLoopsRead),
        "List an agent loop's runs",
    ),
    r(
        "GET",
        "/api-keys",
        Some(Scope::Admin),
        "List the API keys of the calling key's mode",
    ),
    r(
        "POST",
        "/api-keys",
        Some(Scope::Admin),
        "Create an API key (the secret is in this response only)",
    ),
    r(
        "PATCH",
        "/api-keys/{id}",
        Some(Scope::Admin),
        "Rename, re-scope or limit an API key",
    ),
    r(
        "DELETE",
        "/api-keys/{id}",
        Some(Scope::Admin),
        "Delete (revoke) an API key",
    ),
    r(
        "POST",
        "/api-keys/{id}/rotate",
        Some(Scope::Admin),
        "Rotate an API key with a grace period",
    ),
    r(
        "GET",
        "/audit-events",
        Some(Scope::Admin),
        "List the team's audit events, newest first (live keys only)",
    ),
    r(
        "POST",
        "/revoke",
        None,
        "Revoke a leaked key by presenting it (no other authentication)",
    ),
];

/// 405 with the `Allow` header RFC 9110 requires.
fn method_not_allowed(
    allow: String,
) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone + 'static {
    move || {
        let mut res = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
            res.headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        std::future::ready(res)
    }
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::NotFound)
}

/// Registers the API routes (mounted under `/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    // Each resource answers other methods with 405 and the methods it does allow.
    let resource = |path: &str| {
        let methods: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.method)
            .collect();
        let allow = if methods.is_empty() {
            "GET".to_owned()
        } else {
            methods.join(", ")
        };
        web::resource(path.to_owned()).default_service(web::to(method_not_allowed(allow)))
    };
    cfg.service(resource("/openapi.json").route(web::get().to(openapi::serve)))
        .service(resource("/me").route(web::get().to(me::show)))
        .service(resource("/revoke").route(web::post().to(revoke::revoke)))
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
        .service(
            resource("/channels")
                .route(web::get().to(channels::list))
                .route(web::post().to(channels::create)),
        )
        .service(
            resource("/channels/{id}")
                .route(web::get().to(channels::show))
                .route(web::patch().to(channels::update))
                .route(web::delete().to(channels::delete)),
        )
        .service(
            resource("/conversations")
                .route(web::get().to(conversations::list))
                .route(web::post().to(conversations::create)),
        )
        .service(
            resource("/conversations/{id}")
                .route(web::get().to(conversations::show))
                .route(web::delete().to(conversations::delete)),
        )
        .service(
            resource("/integrations")
                .route(web::get().to(integrations::list))
                .route(web::post().to(integrations::create)),
        )
        .service(
            resource("/integrations/{id}")
                .route(web::get().to(integrations::show))
                .route(web::patch().to(integrations::update))
                .route(web::delete().to(integrations::delete)),
        )
        .service(
            resource("/agent-loops")
                .route(web::get().to(agent_loops::list))
                .route(web::post().to(agent_loops::create)),
        )
        .service(resource("/agent-loops/{id}").route(web::get().to(agent_loops::show)))
        .service(
            resource("/agent-loops/{id}/runs")
                .route(web::get().to(agent_loops::list_runs))
                .route(web::post().to(agent_loops::start_run)),
        )
        .service(
            resource("/api-keys")
                .route(web::get().to(api_keys::list))
                .route(web::post().to(api_keys::create)),
        )
        .service(
            resource("/api-keys/{id}")
                .route(web::patch().to(api_keys::update))
                .route(web::delete().to(api_keys::delete)),
        )
        .service(resource("/api-keys/{id}/rotate").route(web::post().to(api_keys::rotate)))
        .service(resource("/audit-events").route(web::get().to(audit_events::list)))
        .default_service(web::to(not_found));
}

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
pub mod webhook_endpoints;

use actix_web::{HttpResponse, Resource, web};

use crate::domain::scope::Scope;
use error::ApiError;
use openapi::Shape;

/// One route: what the reference, the OpenAPI document and the router all read. Written
/// once, here; nothing else lists the API's routes.
pub struct ApiRoute {
    /// HTTP method.
    pub method: &'static str,
    /// Path under `/v1`, with `{id}` placeholders.
    pub path: &'static str,
    /// Required scope (None: any valid key, or no key for `/revoke`).
    pub scope: Option<Scope>,
    /// One line for the reference.
    pub summary: &'static str,
    /// Adds the handler to the resource of `path`.
    pub attach: fn(Resource) -> Resource,
    /// What it takes and answers, for the OpenAPI document.
    pub shape: Shape,
}

/// Every API route.
pub const ROUTES: &[ApiRoute] = &[
    ApiRoute {
        method: "GET",
        path: "/me",
        scope: None,
        summary: "The calling key: team, name, mode, environment, scopes, expiry",
        attach: |r| r.route(web::get().to(me::show)),
        shape: Shape::one("Me"),
    },
    ApiRoute {
        method: "GET",
        path: "/bots",
        scope: Some(Scope::BotsRead),
        summary: "List bots",
        attach: |r| r.route(web::get().to(bots::list)),
        shape: Shape::list("Bot"),
    },
    ApiRoute {
        method: "POST",
        path: "/bots",
        scope: Some(Scope::BotsWrite),
        summary: "Create a bot",
        attach: |r| r.route(web::post().to(bots::create)),
        shape: Shape::with_body("201", "Bot", openapi::bot_create_body),
    },
    ApiRoute {
        method: "GET",
        path: "/bots/{id}",
        scope: Some(Scope::BotsRead),
        summary: "Retrieve a bot",
        attach: |r| r.route(web::get().to(bots::show)),
        shape: Shape::one("Bot"),
    },
    ApiRoute {
        method: "PATCH",
        path: "/bots/{id}",
        scope: Some(Scope::BotsWrite),
        summary: "Update a bot",
        attach: |r| r.route(web::patch().to(bots::update)),
        shape: Shape::with_body("200", "Bot", openapi::bot_update_body),
    },
    ApiRoute {
        method: "DELETE",
        path: "/bots/{id}",
        scope: Some(Scope::BotsWrite),
        summary: "Delete a bot",
        attach: |r| r.route(web::delete().to(bots::delete)),
        shape: Shape::DELETED,
    },
    ApiRoute {
        method: "GET",
        path: "/channels",
        scope: Some(Scope::ChannelsRead),
        summary: "List channels",
        attach: |r| r.route(web::get().to(channels::list)),
        shape: Shape::list("Channel"),
    },
    ApiRoute {
        method: "POST",
        path: "/channels",
        scope: Some(Scope::ChannelsWrite),
        summary: "Connect a bot to a channel",
        attach: |r| r.route(web::post().to(channels::create)),
        shape: Shape::with_body("201", "Channel", openapi::channel_create_body),
    },
    ApiRoute {
        method: "GET",
        path: "/channels/{id}",
        scope: Some(Scope::ChannelsRead),
        summary: "Retrieve a channel",
        attach: |r| r.route(web::get().to(channels::show)),
        shape: Shape::one("Channel"),
    },
    ApiRoute {
        method: "PATCH",
        path: "/channels/{id}",
        scope: Some(Scope::ChannelsWrite),
        summary: "Update a channel",
        attach: |r| r.route(web::patch().to(channels::update)),
        shape: Shape::with_body("200", "Channel", openapi::channel_update_body),
    },
    ApiRoute {
        method: "DELETE",
        path: "/channels/{id}",
        scope: Some(Scope::ChannelsWrite),
        summary: "Delete a channel",
        attach: |r| r.route(web::delete().to(channels::delete)),
        shape: Shape::DELETED,
    },
    ApiRoute {
        method: "GET",
        path: "/conversations",
        scope: Some(Scope::ConversationsRead),
        summary: "List conversations",
        attach: |r| r.route(web::get().to(conversations::list)),
        shape: Shape::list("Conversation"),
    },
    ApiRoute {
        method: "POST",
        path: "/conversations",
        scope: Some(Scope::ConversationsWrite),
        summary: "Import a conversation with its messages",
        attach: |r| r.route(web::post().to(conversations::create)),
        shape: Shape::with_body("201", "Conversation", openapi::conversation_create_body),
    },
    ApiRoute {
        method: "GET",
        path: "/conversations/{id}",
        scope: Some(Scope::ConversationsRead),
        summary: "Retrieve a conversation with its messages",
        attach: |r| r.route(web::get().to(conversations::show)),
        shape: Shape::one("Conversation"),
    },
    ApiRoute {
        method: "DELETE",
        path: "/conversations/{id}",
        scope: Some(Scope::ConversationsWrite),
        summary: "Delete a conversation",
        attach: |r| r.route(web::delete().to(conversations::delete)),
        shape: Shape::DELETED,
    },
    ApiRoute {
        method: "GET",
        path: "/integrations",
        scope: Some(Scope::IntegrationsRead),
        summary: "List integrations",
        attach: |r| r.route(web::get().to(integrations::list)),
        shape: Shape::list("Integration"),
    },
    ApiRoute {
        method: "POST",
        path: "/integrations",
        scope: Some(Scope::IntegrationsWrite),
        summary: "Create an integration",
        attach: |r| r.route(web::post().to(integrations::create)),
        shape: Shape::with_body("201", "Integration", openapi::integration_create_body),
    },
    ApiRoute {
        method: "GET",
        path: "/integrations/{id}",
        scope: Some(Scope::IntegrationsRead),
        summary: "Retrieve an integration",
        attach: |r| r.route(web::get().to(integrations::show)),
        shape: Shape::one("Integration"),
    },
    ApiRoute {
        method: "PATCH",
        path: "/integrations/{id}",
        scope: Some(Scope::IntegrationsWrite),
        summary: "Update an integration",
        attach: |r| r.route(web::patch().to(integrations::update)),
        shape: Shape::with_body("200", "Integration", openapi::integration_update_body),
    },
    ApiRoute {
        method: "DELETE",
        path: "/integrations/{id}",
        scope: Some(Scope::IntegrationsWrite),
        summary: "Delete an integration",
        attach: |r| r.route(web::delete().to(integrations::delete)),
        shape: Shape::DELETED,
    },
    ApiRoute {
        method: "POST",
        path: "/integrations/{id}/test",
        scope: Some(Scope::IntegrationsWrite),
        summary: "Test an integration's connection: send its check request and store the outcome",
        attach: |r| r.route(web::post().to(integrations::test)),
        shape: Shape::one("Integration"),
    },
    ApiRoute {
        method: "POST",
        path: "/integrations/{id}/disconnect",
        scope: Some(Scope::IntegrationsWrite),
        summary: "Disconnect an OAuth integration a person connected: revoke its grant at the provider (RFC 7009, where it can) and forget its tokens (idempotent: one with no such grant is answered unchanged)",
        attach: |r| r.route(web::post().to(integrations::disconnect)),
        shape: Shape::one("Integration"),
    },
    ApiRoute {
        method: "POST",
        path: "/integrations/{id}/requests",
        scope: Some(Scope::IntegrationsWrite),
        summary: "Send a request through an integration, with its credential injected",
        attach: |r| r.route(web::post().to(integrations::request)),
        shape: Shape::with_body(
            "200",
            "IntegrationResponse",
            openapi::integration_request_body,
        ),
    },
    ApiRoute {
        method: "GET",
        path: "/webhook-endpoints",
        scope: Some(Scope::Admin),
        summary: "List webhook endpoints (live keys)",
        attach: |r| r.route(web::get().to(webhook_endpoints::list)),
        shape: Shape::list("WebhookEndpoint"),
    },
    ApiRoute {
        method: "POST",
        path: "/webhook-endpoints",
        scope: Some(Scope::Admin),
        summary: "Add a webhook endpoint; the signing secret is in this response only",
        attach: |r| r.route(web::post().to(webhook_endpoints::create)),
        shape: Shape::with_body(
            "201",
            "WebhookEndpoint",
            openapi::webhook_endpoint_create_body,
        ),
    },
    ApiRoute {
        method: "GET",
        path: "/webhook-endpoints/{id}",
        scope: Some(Scope::Admin),
        summary: "Retrieve a webhook endpoint",
        attach: |r| r.route(web::get().to(webhook_endpoints::show)),
        shape: Shape::one("WebhookEndpoint"),
    },
    ApiRoute {
        method: "PATCH",
        path: "/webhook-endpoints/{id}",
        scope: Some(Scope::Admin),
        summary: "Update a webhook endpoint (URL, description, event types, enabled)",
        attach: |r| r.route(web::patch().to(webhook_endpoints::update)),
        shape: Shape::with_body(
            "200",
            "WebhookEndpoint",
            openapi::webhook_endpoint_update_body,
        ),
    },
    ApiRoute {
        method: "DELETE",
        path: "/webhook-endpoints/{id}",
        scope: Some(Scope::Admin),
        summary: "Delete a webhook endpoint",
        attach: |r| r.route(web::delete().to(webhook_endpoints::delete)),
        shape: Shape::DELETED,
    },
    ApiRoute {
        method: "POST",
        path: "/webhook-endpoints/{id}/rotate-secret",
        scope: Some(Scope::Admin),
        summary: "Rotate the signing secret, the old one signing too for an overlap",
        attach: |r| r.route(web::post().to(webhook_endpoints::rotate)),
        shape: Shape::with_body("200", "WebhookEndpoint", openapi::webhook_rotate_body),
    },
    ApiRoute {
        method: "POST",
        path: "/webhook-endpoints/{id}/test",
        scope: Some(Scope::Admin),
        summary: "Send a webhook.test event to this endpoint",
        attach: |r| r.route(web::post().to(webhook_endpoints::test)),
        shape: Shape::one("WebhookTest").with_status("202"),
    },
    ApiRoute {
        method: "GET",
        path: "/webhook-endpoints/{id}/deliveries",
        scope: Some(Scope::Admin),
        summary: "List an endpoint's deliveries, newest first (filter by status and event type)",
        attach: |r| r.route(web::get().to(webhook_endpoints::deliveries)),
        shape: Shape::list("WebhookDelivery"),
    },
    ApiRoute {
        method: "GET",
        path: "/webhook-endpoints/{id}/deliveries/{delivery_id}",
        scope: Some(Scope::Admin),
        summary: "Retrieve a delivery with its attempts and the body as sent",
        attach: |r| r.route(web::get().to(webhook_endpoints::delivery)),
        shape: Shape::one("WebhookDelivery"),
    },
    ApiRoute {
        method: "POST",
        path: "/webhook-endpoints/{id}/deliveries/{delivery_id}/replay",
        scope: Some(Scope::Admin),
        summary: "Send a delivery again now (same event id and bytes), whatever its state",
        attach: |r| r.route(web::post().to(webhook_endpoints::replay)),
        shape: Shape::one("WebhookReplay").with_status("202"),
    },
    ApiRoute {
        method: "POST",
        path: "/webhook-endpoints/{id}/retry",
        scope: Some(Scope::Admin),
        summary: "Send every failed or still-retrying delivery of a recent window again, now",
        attach: |r| r.route(web::post().to(webhook_endpoints::retry)),
        shape: Shape::with_body("202", "WebhookReplay", openapi::webhook_retry_body),
    },
    ApiRoute {
        method: "GET",
        path: "/agent-loops",
        scope: Some(Scope::AgentLoopsRead),
        summary: "List agent loops",
        attach: |r| r.route(web::get().to(agent_loops::list)),
        shape: Shape::list("AgentLoop"),
    },
    ApiRoute {
        method: "POST",
        path: "/agent-loops",
        scope: Some(Scope::AgentLoopsWrite),
        summary: "Create an agent loop",
        attach: |r| r.route(web::post().to(agent_loops::create)),
        shape: Shape::with_body("201", "AgentLoop", openapi::agent_loop_create_body),
    },
    ApiRoute {
        method: "GET",
        path: "/agent-loops/{id}",
        scope: Some(Scope::AgentLoopsRead),
        summary: "Retrieve an agent loop",
        attach: |r| r.route(web::get().to(agent_loops::show)),
        shape: Shape::one("AgentLoop"),
    },
    ApiRoute {
        method: "POST",
        path: "/agent-loops/{id}/runs",
        scope: Some(Scope::AgentLoopsWrite),
        summary: "Request a run of an agent loop",
        attach: |r| r.route(web::post().to(agent_loops::start_run)),
        shape: Shape::with_body("202", "AgentLoopRun", openapi::run_body),
    },
    ApiRoute {
        method: "GET",
        path: "/agent-loops/{id}/runs",
        scope: Some(Scope::AgentLoopsRead),
        summary: "List an agent loop's runs",
        attach: |r| r.route(web::get().to(agent_loops::list_runs)),
        shape: Shape::list("AgentLoopRun"),
    },
    ApiRoute {
        method: "PATCH",
        path: "/agent-loops/{id}/runs/{run_id}",
        scope: Some(Scope::AgentLoopsWrite),
        summary: "Report a run's progress: running, then succeeded or failed",
        attach: |r| r.route(web::patch().to(agent_loops::update_run)),
        shape: Shape::with_body("200", "AgentLoopRun", openapi::run_update_body),
    },
    ApiRoute {
        method: "GET",
        path: "/api-keys",
        scope: Some(Scope::Admin),
        summary: "List the API keys of the calling key's mode",
        attach: |r| r.route(web::get().to(api_keys::list)),
        shape: Shape::list("ApiKey"),
    },
    ApiRoute {
        method: "POST",
        path: "/api-keys",
        scope: Some(Scope::Admin),
        summary: "Create an API key (the secret is in this response only)",
        attach: |r| r.route(web::post().to(api_keys::create)),
        shape: Shape::with_body("201", "ApiKey", openapi::api_key_create_body),
    },
    ApiRoute {
        method: "GET",
        path: "/api-keys/{id}",
        scope: Some(Scope::Admin),
        summary: "Retrieve an API key (masked, as listed; never its secret)",
        attach: |r| r.route(web::get().to(api_keys::show)),
        shape: Shape::one("ApiKey"),
    },
    ApiRoute {
        method: "PATCH",
        path: "/api-keys/{id}",
        scope: Some(Scope::Admin),
        summary: "Rename, re-scope or limit an API key",
        attach: |r| r.route(web::patch().to(api_keys::update)),
        shape: Shape::with_body("200", "ApiKey", openapi::api_key_update_body),
    },
    ApiRoute {
        method: "DELETE",
        path: "/api-keys/{id}",
        scope: Some(Scope::Admin),
        summary: "Delete (revoke) an API key",
        attach: |r| r.route(web::delete().to(api_keys::delete)),
        shape: Shape::DELETED,
    },
    ApiRoute {
        method: "POST",
        path: "/api-keys/{id}/rotate",
        scope: Some(Scope::Admin),
        summary: "Rotate an API key with a grace period",
        attach: |r| r.route(web::post().to(api_keys::rotate)),
        shape: Shape::with_body("201", "ApiKey", openapi::rotate_body),
    },
    ApiRoute {
        method: "GET",
        path: "/audit-events",
        scope: Some(Scope::Admin),
        summary: "List the team's audit events, newest first (live keys only)",
        attach: |r| r.route(web::get().to(audit_events::list)),
        shape: Shape::list("AuditEvent"),
    },
    ApiRoute {
        method: "POST",
        path: "/revoke",
        scope: None,
        summary: "Revoke a leaked key by presenting it (no other authentication)",
        attach: |r| r.route(web::post().to(revoke::revoke)),
        shape: Shape::with_body("200", "Revocation", openapi::revoke_body),
    },
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
    cfg.service(resource("/openapi.json").route(web::get().to(openapi::serve)));
    // One resource per path, in the table's order, with each of its methods attached.
    let mut paths: Vec<&str> = vec![];
    for route in ROUTES {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    for path in paths {
        let resource = ROUTES
            .iter()
            .filter(|r| r.path == path)
            .fold(resource(path), |res, route| (route.attach)(res));
        cfg.service(resource);
    }
    cfg.default_service(web::to(not_found));
}

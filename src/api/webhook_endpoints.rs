//! `/v1/webhook-endpoints` (`admin` scope, live keys): the team's webhook endpoints. The
//! signing secret (`whsec_…`) is in the create and rotate responses only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::render;
use super::request::{Fields, JsonObject, Page};
use crate::db::with_read;
use crate::domain::api_key_secret::KeyMode;
use crate::domain::audit::Owner;
use crate::domain::ids::WebhookEndpointId;
use crate::domain::limits;
use crate::domain::scope::Scope;
use crate::domain::webhook::{Audience, SigningSecret, event_type_problems, parse_endpoint_url};
use crate::models::webhook::WebhookEndpoint;
use crate::ops::webhooks::{
    self as ops, EndpointEdit, EndpointSettings, ROTATION_OVERLAPS, WebhookError,
};
use crate::state::AppState;

/// The JSON of an endpoint (with the secret when it was just made).
fn to_json(e: &WebhookEndpoint, secret: Option<&SigningSecret>) -> Value {
    let events: Vec<&str> = if e.event_types == "*" {
        Vec::new()
    } else {
        e.event_types.split(' ').collect()
    };
    let mut v = json!({
        "id": e.id,
        "object": "webhook_endpoint",
        "url": e.url,
        "description": e.description,
        "event_types": events,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
        "previous_secret_expires_at": render::time(e.previous_until),
        "created_at": render::time(Some(e.created_at)),
        "updated_at": render::time(Some(e.updated_at)),
    });
    if let Some(s) = secret {
        v["secret"] = json!(s.expose());
    }
    v
}

fn refused(e: WebhookError) -> ApiError {
    match e {
        WebhookError::Invalid(fields) => ApiError::Validation(fields),
        WebhookError::NotFound => ApiError::NotFound,
        WebhookError::Failed(e) => e.into(),
    }
}

/// Webhooks belong to the live team: a test-mode key does not manage them.
fn live(auth: &Authorized<need::Admin>) -> Result<Owner, ApiError> {
    if auth.tenant().mode != KeyMode::Live {
        return Err(ApiError::InsufficientPermissions(Scope::Admin));
    }
    Ok(Owner::Team(auth.tenant().team.clone()))
}

fn valid_id(id: &str) -> Result<(), ApiError> {
    WebhookEndpointId::parse(id)
        .map(|_| ())
        .ok_or(ApiError::NotFound)
}

/// `url`: https (http only to allowlisted addresses — the operation checks the host).
fn read_url(f: &mut Fields, required: bool) -> Option<url::Url> {
    let raw = f.string("url", required, 1, limits::URL_MAX)?;
    parse_endpoint_url(&raw).map_err(|m| f.error("url", m)).ok()
}

/// `event_types`: known team event types (empty or absent: every event).
fn read_events(f: &mut Fields) -> Option<Vec<String>> {
    let list = f.strings("event_types", 64)?;
    for problem in event_type_problems(&list, Audience::Team) {
        f.error("event_types", &problem);
    }
    Some(list)
}

/// GET /v1/webhook-endpoints: newest first, with `limit` and `starting_after` like every list
/// (a team has at most a few endpoints, so the page is cut in memory).
pub async fn list(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    live(&auth)?;
    let page = Page::from_query(&query)?;
    let team = auth.tenant().team.to_string();
    let mut rows = with_read(&state.pool, move |c| {
        Ok(WebhookEndpoint::of_owner(c, &team)?)
    })
    .await?;
    rows.reverse();
    let (rows, has_more) = page.of_all(rows, |e| e.id.as_str(), "webhook endpoint")?;
    Ok(render::list(
        rows.iter().map(|e| to_json(e, None)).collect(),
        has_more,
    ))
}

/// POST /v1/webhook-endpoints
pub async fn create(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    let mut f = Fields::new(body.0, &["url", "description", "event_types"]);
    let url = read_url(&mut f, true);
    let description = f
        .text("description", false, limits::DESCRIPTION_MAX)
        .unwrap_or_default();
    let events = read_events(&mut f).unwrap_or_default();
    f.finish()?;
    let url = url.ok_or_else(|| ApiError::field("url", "This field is required."))?;
    let actor = auth.actor(state.clock.now());
    let (e, secret) = ops::create_endpoint(
        &state,
        &actor,
        &owner,
        EndpointSettings {
            url,
            description,
            event_types: events,
        },
    )
    .await
    .map_err(refused)?;
    Ok(render::shown_once(
        StatusCode::CREATED,
        to_json(&e, Some(&secret)),
    ))
}

async fn find(state: &AppState, owner: &Owner, id: &str) -> Result<WebhookEndpoint, ApiError> {
    valid_id(id)?;
    let (id, owner) = (id.to_owned(), owner.id().to_owned());
    with_read(&state.pool, move |c| {
        Ok(WebhookEndpoint::of(c, &owner, &id)?)
    })
    .await?
    .ok_or(ApiError::NotFound)
}

/// GET /v1/webhook-endpoints/{id}
pub async fn show(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    let e = find(&state, &owner, &path).await?;
    Ok(render::object(StatusCode::OK, to_json(&e, None)))
}

/// PATCH /v1/webhook-endpoints/{id}
pub async fn update(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    valid_id(&path)?;
    let mut f = Fields::new(body.0, &["url", "description", "event_types", "enabled"]);
    let edit = EndpointEdit {
        url: if f.has("url") {
            read_url(&mut f, true)
        } else {
            None
        },
        description: f.text("description", false, limits::DESCRIPTION_MAX),
        event_types: read_events(&mut f),
        enabled: match f.raw("enabled") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                f.error("enabled", "Must be true or false.");
                None
            }
        },
    };
    f.finish()?;
    let actor = auth.actor(state.clock.now());
    let e = ops::update_endpoint(&state, &actor, &owner, &path, edit)
        .await
        .map_err(refused)?;
    Ok(render::object(StatusCode::OK, to_json(&e, None)))
}

/// DELETE /v1/webhook-endpoints/{id}
pub async fn delete(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    valid_id(&path)?;
    let actor = auth.actor(state.clock.now());
    ops::delete_endpoint(&state, &actor, &owner, &path)
        .await
        .map_err(refused)?;
    Ok(render::deleted("webhook_endpoint", &path))
}

/// POST /v1/webhook-endpoints/{id}/rotate-secret
pub async fn rotate(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    valid_id(&path)?;
    let mut f = Fields::new(body.0, &["overlap_seconds"]);
    let max = ROTATION_OVERLAPS.iter().copied().max().unwrap_or(0);
    let overlap = f.integer("overlap_seconds", false, 0, max).unwrap_or(0);
    if !ROTATION_OVERLAPS.contains(&overlap) {
        f.error(
            "overlap_seconds",
            "Choose 0 (now), 86400 (24 hours) or 604800 (7 days).",
        );
    }
    f.finish()?;
    let actor = auth.actor(state.clock.now());
    let (e, secret) = ops::rotate_secret(&state, &actor, &owner, &path, overlap)
        .await
        .map_err(refused)?;
    Ok(render::shown_once(
        StatusCode::OK,
        to_json(&e, Some(&secret)),
    ))
}

/// POST /v1/webhook-endpoints/{id}/test
pub async fn test(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    valid_id(&path)?;
    let actor = auth.actor(state.clock.now());
    let event = ops::send_test(&state, &actor, &owner, &path)
        .await
        .map_err(refused)?;
    Ok(render::object(
        StatusCode::ACCEPTED,
        json!({"object": "webhook_test", "event_id": event}),
    ))
}

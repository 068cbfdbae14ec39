//! `/v1/webhook-endpoints` (`admin` scope, live keys): the team's webhook endpoints, their
//! delivery log, replays and "retry now". The signing secret (`whsec_…`) is in the create and
//! rotate responses only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::render;
use super::request::{Fields, JsonObject, Page, paginate};
use crate::db::with_read;
use crate::domain::api_key_secret::KeyMode;
use crate::domain::audit::Owner;
use crate::domain::ids::{DeliveryId, WebhookEndpointId};
use crate::domain::limits;
use crate::domain::scope::Scope;
use crate::domain::webhook::{
    Audience, REPLAY_WINDOWS, SigningSecret, event_type, event_type_problems, parse_endpoint_url,
};
use crate::models::outbox;
use crate::models::webhook::{
    Attempt, DELIVERY_STATUSES, Delivery, DeliveryFilter, WebhookEndpoint,
};
use crate::ops::webhooks::{
    self as ops, EndpointEdit, EndpointSettings, ROTATION_OVERLAPS, Replay, WebhookError,
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

/// The JSON of a delivery (with its attempts and exact body on its own page).
fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "object": "webhook_delivery",
        "endpoint_id": d.endpoint_id,
        "event_id": d.outbox_event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": render::time(d.next_attempt_at.filter(|_| d.status == "pending")),
        "last_attempt_at": render::time(d.last_attempt_at),
        "last_status_code": d.last_status_code,
        "last_latency_ms": d.last_latency_ms,
        "last_error": d.last_error,
        "created_at": render::time(Some(d.created_at)),
    })
}

fn attempt_json(a: &Attempt) -> Value {
    json!({
        "attempt": a.attempt,
        "at": render::time(Some(a.at)),
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "error": a.error,
        "response_excerpt": a.excerpt,
    })
}

/// GET /v1/webhook-endpoints/{id}/deliveries: newest first, filtered by `status` and
/// `event_type`, keyset pages (`starting_after` a delivery of this endpoint).
pub async fn deliveries(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    let e = find(&state, &owner, &path).await?;
    let page = Page::from_query(&query)?;
    let text = |k: &str| query.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let status = match text("status") {
        None => None,
        Some(s) if DELIVERY_STATUSES.contains(&s) => Some(s.to_owned()),
        Some(_) => {
            return Err(ApiError::field(
                "status",
                "Must be pending, succeeded or failed.",
            ));
        }
    };
    let event_type = match text("event_type") {
        None => None,
        Some(t) if event_type(t).is_some() => Some(t.to_owned()),
        Some(_) => return Err(ApiError::field("event_type", "No such event type.")),
    };
    let filter = DeliveryFilter {
        status,
        event_type,
        before: page.starting_after.clone(),
    };
    let limit = page.limit;
    let endpoint = e.id.to_string();
    let rows = with_read(&state.pool, move |c| {
        if let Some(a) = &filter.before
            && Delivery::of_endpoint(c, &endpoint, a)?.is_none()
        {
            return Ok(None);
        }
        Ok(Some(Delivery::log(c, &endpoint, &filter, limit + 1)?))
    })
    .await?
    .ok_or_else(|| ApiError::field("starting_after", "No such delivery of this endpoint."))?;
    let (rows, has_more) = paginate(rows, limit);
    Ok(render::list(
        rows.iter().map(delivery_json).collect(),
        has_more,
    ))
}

/// GET /v1/webhook-endpoints/{id}/deliveries/{delivery_id}: with every attempt and the body
/// as sent (the same bytes every attempt and replay sends).
pub async fn delivery(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    let (id, delivery) = path.into_inner();
    let e = find(&state, &owner, &id).await?;
    let delivery = DeliveryId::parse(&delivery).ok_or(ApiError::NotFound)?;
    let endpoint = e.id.to_string();
    let found = with_read(&state.pool, move |c| {
        let Some(d) = Delivery::of_endpoint(c, &endpoint, &delivery)? else {
            return Ok(None);
        };
        let attempts = Attempt::of_deliveries(c, std::slice::from_ref(&d.id))?;
        let event = d.outbox_event_id.to_string();
        let body = outbox::shown(c, &[event.as_str()])?
            .remove(&event)
            .map(|(payload, _)| payload);
        Ok(Some((d, attempts, body)))
    })
    .await?;
    let (d, attempts, body) = found.ok_or(ApiError::NotFound)?;
    let mut v = delivery_json(&d);
    v["body"] = json!(body);
    v["attempt_log"] = Value::Array(attempts.iter().map(attempt_json).collect());
    Ok(render::object(StatusCode::OK, v))
}

/// POST /v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay: sent again now, with the
/// same event id and bytes, whatever its state.
pub async fn replay(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    let (id, delivery) = path.into_inner();
    valid_id(&id)?;
    let delivery = DeliveryId::parse(&delivery).ok_or(ApiError::NotFound)?;
    let actor = auth.actor(state.clock.now());
    let n = ops::replay(
        &state,
        &actor,
        &owner,
        &id,
        Replay::One(delivery.to_string()),
    )
    .await
    .map_err(refused)?;
    Ok(render::object(
        StatusCode::ACCEPTED,
        json!({"object": "webhook_replay", "count": n}),
    ))
}

/// POST /v1/webhook-endpoints/{id}/retry: every delivery of the last `window_seconds` (an
/// hour, 24 hours — the default —, 3 or 7 days) that failed or is still retrying is sent
/// again now, as "Retry now" does in the dashboard.
pub async fn retry(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let owner = live(&auth)?;
    valid_id(&path)?;
    let mut f = Fields::new(body.0, &["window_seconds"]);
    let max = REPLAY_WINDOWS.iter().map(|w| w.0).max().unwrap_or(0);
    let window = f.integer("window_seconds", false, 1, max).unwrap_or(86_400);
    if !REPLAY_WINDOWS.iter().any(|w| w.0 == window) {
        f.error(
            "window_seconds",
            "Choose 3600 (an hour), 86400 (24 hours), 259200 (3 days) or 604800 (7 days).",
        );
    }
    f.finish()?;
    let actor = auth.actor(state.clock.now());
    let since = actor.at - window;
    let n = ops::replay(
        &state,
        &actor,
        &owner,
        &path,
        Replay::UndeliveredSince(since),
    )
    .await
    .map_err(refused)?;
    Ok(render::object(
        StatusCode::ACCEPTED,
        json!({"object": "webhook_replay", "count": n}),
    ))
}

//! `/v1/bots`: `bots:read` / `bots:write`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, Tenant, need};
use super::error::ApiError;
use super::render;
use super::request::{Fields, JsonObject, Page, paginate};
use crate::domain::ids::BotId;
use crate::error::with_conn;
use crate::models::bot::Bot;
use crate::startup::AppState;

fn to_json(b: &Bot) -> Value {
    json!({
        "id": b.id,
        "object": "bot",
        "mode": b.mode,
        "name": b.name,
        "description": b.description,
        "created_at": render::time(Some(b.created_at)),
        "updated_at": render::time(Some(b.updated_at)),
    })
}

async fn find(state: &AppState, t: &Tenant, id: &str) -> Result<Bot, ApiError> {
    let (t, id) = (t.clone(), id.to_owned());
    if BotId::parse(&id).is_none() {
        return Err(ApiError::NotFound);
    }
    with_conn(&state.pool, move |c| Ok(Bot::find(c, &t, &id)?))
        .await?
        .ok_or(ApiError::NotFound)
}

/// GET /v1/bots
pub async fn list(
    auth: Authorized<need::BotsRead>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_query(&query)?;
    let cursor = match &page.starting_after {
        Some(id) => {
            let b = find(&state, &auth.tenant, id)
                .await
                .map_err(|_| ApiError::field("starting_after", "No such bot."))?;
            Some((b.created_at, b.id))
        }
        None => None,
    };
    let t = auth.tenant.clone();
    let limit = page.limit;
    let rows = with_conn(&state.pool, move |c| Ok(Bot::list(c, &t, cursor, limit)?)).await?;
    let (rows, has_more) = paginate(rows, limit);
    Ok(render::list(rows.iter().map(to_json).collect(), has_more))
}

/// POST /v1/bots
pub async fn create(
    auth: Authorized<need::BotsWrite>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(body.0, &["name", "description"]);
    let name = f.string("name", true, 1, 64);
    let description = f.string("description", false, 0, 500).unwrap_or_default();
    f.finish()?;
    let now = state.clock.now();
    let bot = Bot {
        id: BotId::generate().to_string(),
        team_id: auth.tenant.team.to_string(),
        mode: auth.tenant.mode.as_str().to_owned(),
        name: name.unwrap_or_default(),
        description,
        created_at: now,
        updated_at: now,
    };
    let b = bot.clone();
    with_conn(&state.pool, move |c| Ok(Bot::insert(c, &b)?)).await?;
    Ok(render::object(StatusCode::CREATED, to_json(&bot)))
}

/// GET /v1/bots/{id}
pub async fn show(
    auth: Authorized<need::BotsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let bot = find(&state, &auth.tenant, &path).await?;
    Ok(render::object(StatusCode::OK, to_json(&bot)))
}

/// PATCH /v1/bots/{id}
pub async fn update(
    auth: Authorized<need::BotsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut bot = find(&state, &auth.tenant, &path).await?;
    let mut f = Fields::new(body.0, &["name", "description"]);
    if f.has("name") {
        if let Some(name) = f.string("name", true, 1, 64) {
            bot.name = name;
        }
    }
    if let Some(description) = f.string("description", false, 0, 500) {
        bot.description = description;
    }
    f.finish()?;
    bot.updated_at = state.clock.now();
    let b = bot.clone();
    with_conn(&state.pool, move |c| Ok(Bot::update(c, &b)?)).await?;
    Ok(render::object(StatusCode::OK, to_json(&bot)))
}

/// DELETE /v1/bots/{id}
pub async fn delete(
    auth: Authorized<need::BotsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let bot = find(&state, &auth.tenant, &path).await?;
    let t = auth.tenant.clone();
    let id = bot.id.clone();
    let gone = with_conn(&state.pool, move |c| Ok(Bot::delete(c, &t, &id)?)).await?;
    if !gone {
        return Err(ApiError::NotFound);
    }
    Ok(render::deleted("bot", &bot.id))
}

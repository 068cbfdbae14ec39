//! `/v1/bots`: `bots:read` / `bots:write`.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::objects::{self, ApiObject};
use super::render;
use super::request::{Fields, JsonObject};
use crate::domain::ids::BotId;
use crate::domain::limits;
use crate::models::bot::Bot;
use crate::state::AppState;

impl ApiObject for Bot {
    const OBJECT: &'static str = "bot";

    fn valid_id(id: &str) -> bool {
        BotId::parse(id).is_some()
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "bot",
            "mode": self.mode,
            "name": self.name,
            "description": self.description,
            "created_at": render::time(Some(self.created_at)),
            "updated_at": render::time(Some(self.updated_at)),
        })
    }
}

/// GET /v1/bots
pub async fn list(
    auth: Authorized<need::BotsRead>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    objects::list::<Bot>(&state, auth.tenant(), &query).await
}

/// POST /v1/bots
pub async fn create(
    auth: Authorized<need::BotsWrite>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(body.0, &["name", "description"]);
    let name = f.string("name", true, 1, limits::NAME_MAX);
    let description = f
        .text("description", false, limits::DESCRIPTION_MAX)
        .unwrap_or_default();
    f.finish()?;
    let now = state.clock.now();
    let bot = Bot {
        id: BotId::generate(),
        team_id: auth.tenant().team.clone(),
        mode: auth.tenant().mode.as_str().to_owned(),
        name: name.unwrap_or_default(),
        description,
        created_at: now,
        updated_at: now,
    };
    objects::created(&state, &auth, bot, Bot::insert).await
}

/// GET /v1/bots/{id}
pub async fn show(
    auth: Authorized<need::BotsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::show::<Bot>(&state, auth.tenant(), &path).await
}

/// PATCH /v1/bots/{id}
pub async fn update(
    auth: Authorized<need::BotsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut bot: Bot = objects::find(&state, auth.tenant(), &path).await?;
    let mut f = Fields::new(body.0, &["name", "description"]);
    if f.has("name")
        && let Some(name) = f.string("name", true, 1, limits::NAME_MAX)
    {
        bot.name = name;
    }
    if let Some(description) = f.text("description", false, limits::DESCRIPTION_MAX) {
        bot.description = description;
    }
    f.finish()?;
    bot.updated_at = state.clock.now();
    objects::updated(&state, &auth, bot, Bot::update).await
}

/// DELETE /v1/bots/{id}
pub async fn delete(
    auth: Authorized<need::BotsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::delete::<Bot>(&state, &auth, &path).await
}

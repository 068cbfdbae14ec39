//! `/v1/channels`: `channels:read` / `channels:write`. A channel belongs to a bot of the same
//! team and mode.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::objects::{self, ApiObject};
use super::render;
use super::request::{Fields, JsonObject};
use crate::domain::ids::ChannelId;
use crate::domain::limits;
use crate::models::bot::Bot;
use crate::models::channel::{Channel, KINDS};
use crate::state::AppState;

impl ApiObject for Channel {
    const OBJECT: &'static str = "channel";

    fn valid_id(id: &str) -> bool {
        ChannelId::parse(id).is_some()
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "channel",
            "mode": self.mode,
            "bot_id": self.bot_id,
            "kind": self.kind,
            "name": self.name,
            "created_at": render::time(Some(self.created_at)),
            "updated_at": render::time(Some(self.updated_at)),
        })
    }
}

/// GET /v1/channels
pub async fn list(
    auth: Authorized<need::ChannelsRead>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    objects::list::<Channel>(&state, auth.tenant(), &query).await
}

/// POST /v1/channels
pub async fn create(
    auth: Authorized<need::ChannelsWrite>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(body.0, &["bot_id", "kind", "name"]);
    let bot_id = f.string("bot_id", true, 1, limits::REFERENCE_MAX);
    let kind = f.one_of("kind", true, KINDS);
    let name = f.string("name", true, 1, limits::NAME_MAX);
    let bot =
        objects::check_reference::<Bot>(&state, auth.tenant(), &mut f, "bot_id", bot_id.as_deref())
            .await?;
    f.finish()?;
    // Required and checked above: with no message about it, the bot was found.
    let bot = bot.ok_or_else(|| ApiError::field("bot_id", "No such bot."))?;
    let now = state.clock.now();
    let ch = Channel {
        id: ChannelId::generate(),
        team_id: auth.tenant().team.clone(),
        mode: auth.tenant().mode.as_str().to_owned(),
        bot_id: bot.id,
        kind: kind.unwrap_or_default(),
        name: name.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    objects::created(&state, &auth, ch, Channel::insert).await
}

/// GET /v1/channels/{id}
pub async fn show(
    auth: Authorized<need::ChannelsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::show::<Channel>(&state, auth.tenant(), &path).await
}

/// PATCH /v1/channels/{id}
pub async fn update(
    auth: Authorized<need::ChannelsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut ch: Channel = objects::find(&state, auth.tenant(), &path).await?;
    let mut f = Fields::new(body.0, &["kind", "name"]);
    if f.has("kind")
        && let Some(kind) = f.one_of("kind", true, KINDS)
    {
        ch.kind = kind;
    }
    if f.has("name")
        && let Some(name) = f.string("name", true, 1, limits::NAME_MAX)
    {
        ch.name = name;
    }
    f.finish()?;
    ch.updated_at = state.clock.now();
    objects::updated(&state, &auth, ch, Channel::update).await
}

/// DELETE /v1/channels/{id}
pub async fn delete(
    auth: Authorized<need::ChannelsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::delete::<Channel>(&state, &auth, &path).await
}

//! `/v1/conversations`: `conversations:read` / `conversations:write`. Conversations are
//! imported whole (with their messages), read, and deleted.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::objects::{self, ApiObject};
use super::render;
use super::request::{Fields, JsonObject};
use crate::db::with_read;
use crate::domain::ids::{ConversationId, MessageId};
use crate::domain::limits;
use crate::models::bot::Bot;
use crate::models::conversation::{Conversation, Message, ROLES};
use crate::ops;
use crate::state::AppState;

/// Most messages one import may carry.
pub const MAX_MESSAGES: usize = 200;

impl ApiObject for Conversation {
    const OBJECT: &'static str = "conversation";

    fn valid_id(id: &str) -> bool {
        ConversationId::parse(id).is_some()
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "conversation",
            "mode": self.mode,
            "bot_id": self.bot_id,
            "title": self.title,
            "created_at": render::time(Some(self.created_at)),
        })
    }
}

fn message_json(m: &Message) -> Value {
    json!({ "id": m.id, "object": "message", "role": m.role, "content": m.content, "created_at": render::time(Some(m.created_at)) })
}

/// GET /v1/conversations
pub async fn list(
    auth: Authorized<need::ConversationsRead>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    objects::list::<Conversation>(&state, auth.tenant(), &query).await
}

/// GET /v1/conversations/{id}, with its messages.
pub async fn show(
    auth: Authorized<need::ConversationsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let conv: Conversation = objects::find(&state, auth.tenant(), &path).await?;
    let id = conv.id.clone();
    let messages = with_read(&state.pool, move |c| Ok(Conversation::messages(c, &id)?)).await?;
    let mut body = conv.to_json();
    body["messages"] = Value::Array(messages.iter().map(message_json).collect());
    Ok(render::object(StatusCode::OK, body))
}

/// POST /v1/conversations: imports a conversation with its messages.
pub async fn create(
    auth: Authorized<need::ConversationsWrite>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(body.0, &["bot_id", "title", "messages"]);
    let bot_id = f.string("bot_id", false, 1, limits::REFERENCE_MAX);
    let title = f
        .string("title", false, 0, limits::TITLE_MAX)
        .unwrap_or_default();
    let raw_messages = f.take("messages");
    let bot =
        objects::check_reference::<Bot>(&state, auth.tenant(), &mut f, "bot_id", bot_id.as_deref())
            .await?;
    let now = state.clock.now();
    let conv_id = ConversationId::generate();
    let mut messages = Vec::new();
    match raw_messages {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) if items.len() <= MAX_MESSAGES => {
            for (i, item) in items.iter().enumerate() {
                let role = item.get("role").and_then(Value::as_str);
                let content = item.get("content").and_then(Value::as_str);
                let extra = item
                    .as_object()
                    .is_some_and(|o| o.keys().any(|k| k != "role" && k != "content"));
                match (role, content) {
                    (Some(role), Some(content))
                        if ROLES.contains(&role)
                            && !content.is_empty()
                            && content.chars().count() <= 32_000
                            && !extra =>
                    {
                        messages.push(Message {
                            id: MessageId::generate(),
                            conversation_id: conv_id.clone(),
                            position: i32::try_from(i).unwrap_or(i32::MAX),
                            role: role.to_owned(),
                            content: content.to_owned(),
                            created_at: now,
                        });
                    }
                    _ => {
                        f.error(
                            &format!("messages[{i}]"),
                            "Each message needs a role (user, assistant or system) and 1 to 32000 characters of content, and nothing else.",
                        );
                        break;
                    }
                }
            }
        }
        Some(_) => f.error(
            "messages",
            &format!("Must be an array of at most {MAX_MESSAGES} messages."),
        ),
    }
    f.finish()?;
    let conv = Conversation {
        id: conv_id,
        team_id: auth.tenant().team.clone(),
        mode: auth.tenant().mode.as_str().to_owned(),
        bot_id: bot.map(|b| b.id),
        title,
        created_at: now,
    };
    let mut body = conv.to_json();
    body["messages"] = Value::Array(messages.iter().map(message_json).collect());
    let actor = auth.actor(state.clock.now());
    ops::platform::create(&state, &actor, auth.tenant(), conv, move |c, conv| {
        Conversation::insert(c, conv, &messages)
    })
    .await?;
    Ok(render::object(StatusCode::CREATED, body))
}

/// DELETE /v1/conversations/{id}
pub async fn delete(
    auth: Authorized<need::ConversationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::delete::<Conversation>(&state, &auth, &path).await
}

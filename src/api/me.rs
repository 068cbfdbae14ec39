//! `GET /v1/me`: who this key is.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::render;
use crate::error::with_conn;
use crate::models::team::Team;
use crate::startup::AppState;

/// The key's team, name, mode, environment, scopes and expiry.
pub async fn show(
    auth: Authorized<need::AnyKey>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let team_id = auth.tenant.team.clone();
    let team = with_conn(&state.pool, move |c| Ok(Team::find_by_id(c, &team_id)?))
        .await?
        .ok_or(ApiError::InvalidApiKey)?;
    let key = &auth.key;
    Ok(HttpResponse::Ok().json(json!({
        "object": "api_key_identity",
        "team": { "id": team.id, "slug": team.slug, "name": team.name },
        "api_key": {
            "id": key.id,
            "name": key.name,
            "masked": key.masked(),
            "mode": key.mode,
            "environment": key.environment,
            "scopes": auth.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "created_at": render::time(Some(key.created_at)),
            "expires_at": render::time(key.expires_at),
            "retiring_until": render::time(key.retiring_until),
        }
    })))
}

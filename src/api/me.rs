//! `GET /v1/me`: who this key is.

use actix_web::HttpResponse;
use serde_json::json;

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::render;

/// The key's team, name, mode, environment, scopes and expiry.
pub async fn show(auth: Authorized<need::AnyKey>) -> Result<HttpResponse, ApiError> {
    // Everything comes from the authenticated lookup: no second query.
    let (key, l) = (auth.key(), &auth.lookup);
    Ok(HttpResponse::Ok().json(json!({
        "object": "api_key_identity",
        "team": { "id": key.team_id, "slug": l.team_slug, "name": l.team_name },
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

//! `GET /v1/me`: who this key is. Clients call it as a health check of their key, so it is
//! written straight from the authenticated lookup (no second query) with a small JSON writer
//! (see `render::JsonWriter`); the shape is documented in the OpenAPI document and pinned by
//! the integration tests.

use actix_web::HttpResponse;

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::render::JsonWriter;
use crate::timefmt;

/// The key's team, name, mode, environment, scopes and expiry.
pub async fn show(auth: Authorized<need::AnyKey>) -> Result<HttpResponse, ApiError> {
    let (key, lookup) = (auth.key(), auth.lookup());
    let iso = |t: Option<i64>| t.map(timefmt::iso);
    let mut w = JsonWriter::default();
    w.raw(r#"{"object":"api_key_identity","team":{"id":"#)
        .str(&key.team_id)
        .raw(r#","slug":"#)
        .str(&lookup.team_slug)
        .raw(r#","name":"#)
        .str(&lookup.team_name)
        .raw(r#"},"api_key":{"id":"#)
        .str(&key.id)
        .raw(r#","name":"#)
        .str(&key.name)
        .raw(r#","masked":"#)
        .str(&key.masked())
        .raw(r#","mode":"#)
        .str(key.mode.as_str())
        .raw(r#","environment":"#)
        .opt_str(key.environment.as_deref())
        .raw(r#","scopes":["#);
    for (i, scope) in auth.scopes.iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.str(scope.as_str());
    }
    w.raw(r#"],"created_at":"#)
        .str(&timefmt::iso(key.created_at))
        .raw(r#","expires_at":"#)
        .opt_str(iso(key.expires_at).as_deref())
        .raw(r#","retiring_until":"#)
        .opt_str(iso(key.retiring_until).as_deref())
        .raw("}}");
    Ok(w.ok())
}

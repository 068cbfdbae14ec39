//! `GET /v1/me`: who this key is. Clients call it as a health check of their key, so it is
//! written straight from the authenticated lookup (no second query) with a small JSON writer
//! (see `render::JsonWriter`), once per key cache entry: everything it says is fixed while the
//! entry lives, as any change to the key or its team replaces the entry. The shape is
//! documented in the OpenAPI document and pinned by the integration tests.

use actix_web::HttpResponse;

use super::auth::{Authorized, Principal, need};
use super::error::ApiError;
use super::render::{JsonWriter, ok_json};
use crate::domain::api_key_secret::mask_parts;

/// The key's team, name, mode, environment, scopes and expiry.
pub async fn show(auth: Authorized<need::AnyKey>) -> Result<HttpResponse, ApiError> {
    let body = auth
        .entry
        .identity_json
        .get_or_init(|| identity(&auth).into_boxed_slice());
    Ok(ok_json(body.to_vec()))
}

/// The document, written from the key's record.
fn identity(auth: &Principal) -> Vec<u8> {
    let (key, lookup) = (auth.key(), auth.lookup());
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
        .joined(&mask_parts(&key.prefix, &key.head, &key.tail))
        .raw(r#","mode":"#)
        .str(key.mode.as_str())
        .raw(r#","environment":"#)
        .opt_str(key.environment.as_deref())
        .raw(r#","scopes":["#);
    for (i, scope) in auth.scopes().iter().enumerate() {
        if i > 0 {
            w.raw(",");
        }
        w.str(scope.as_str());
    }
    w.raw(r#"],"created_at":"#)
        .time(Some(key.created_at))
        .raw(r#","expires_at":"#)
        .time(key.expires_at)
        .raw(r#","retiring_until":"#)
        .time(key.retiring_until)
        .raw("}}");
    w.into_bytes()
}

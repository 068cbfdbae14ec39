//! `POST /v1/revoke` with `{"key": "sk_…"}`: whoever holds a leaked key can kill it at once.
//! Possession is the authority — no other credential is needed, and a 190-bit secret cannot be
//! guessed, so answering whether it existed reveals nothing.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::error::ApiError;
use super::render;
use super::request::{Fields, JsonObject};
use crate::domain::api_key_secret::{ApiKeySecret, KeyDigest};
use crate::ops;
use crate::probes::Kind;
use crate::state::AppState;

/// POST /v1/revoke
pub async fn revoke(
    state: web::Data<AppState>,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let ip_addr = crate::net::client_ip(&req, &state.config.trusted_proxies);
    // A braked address can still report a real key (it may share a NAT with the guesser);
    // only its guesses are refused, with 429.
    let guessed = |answer: ApiError| {
        let shared = state.shared_limits.as_ref();
        match state.probes.fail(Kind::ApiKeys, shared, ip_addr, now) {
            Some(wait) => ApiError::TooManyFailures { retry_after: wait },
            None => answer,
        }
    };
    let mut f = Fields::new(body.0, &["key"]);
    let raw = f.string("key", true, 1, 300);
    f.finish()?;
    let Ok(secret) = ApiKeySecret::parse(&raw.unwrap_or_default()) else {
        return Err(guessed(ApiError::field(
            "key",
            "This is not a Latchkey API key.",
        )));
    };
    let digest = KeyDigest::of_secret(&secret);
    drop(secret);
    let ip = ip_addr.map(|ip| ip.to_string());
    let Some((key, newly)) = ops::api_keys::report_leaked(&state, digest, ip).await? else {
        // Presenting keys that do not exist is guessing: it counts against the address.
        return Err(guessed(ApiError::NotFound));
    };
    tracing::warn!(key_id = %key.id, newly, "API key reported as leaked and revoked");
    Ok(render::object(
        StatusCode::OK,
        json!({
            "object": "revocation",
            "revoked": true,
            "api_key": { "id": key.id, "masked": key.masked() },
            "revoked_at": render::time(Some(if newly { now } else { key.revoked_at.unwrap_or(now) })),
        }),
    ))
}

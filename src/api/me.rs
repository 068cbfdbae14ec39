//! `GET /v1/me`: who this key is. Serialized from borrowed fields (no intermediate JSON tree):
//! this is the benchmark's endpoint and runs on every health check of a client's key.

use actix_web::HttpResponse;
use serde::Serialize;

use super::auth::{Authorized, need};
use super::error::ApiError;
use crate::web::timefmt;

#[derive(Serialize)]
struct Me<'a> {
    object: &'static str,
    team: Team<'a>,
    api_key: Key<'a>,
}

#[derive(Serialize)]
struct Team<'a> {
    id: &'a str,
    slug: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct Key<'a> {
    id: &'a str,
    name: &'a str,
    masked: String,
    mode: &'a str,
    environment: Option<&'a str>,
    scopes: Vec<&'static str>,
    created_at: String,
    expires_at: Option<String>,
    retiring_until: Option<String>,
}

/// The key's team, name, mode, environment, scopes and expiry.
pub async fn show(auth: Authorized<need::AnyKey>) -> Result<HttpResponse, ApiError> {
    // Everything comes from the authenticated lookup: no second query.
    let (key, lookup) = (auth.key(), &auth.lookup);
    Ok(HttpResponse::Ok().json(Me {
        object: "api_key_identity",
        team: Team {
            id: &key.team_id,
            slug: &lookup.team_slug,
            name: &lookup.team_name,
        },
        api_key: Key {
            id: &key.id,
            name: &key.name,
            masked: key.masked(),
            mode: &key.mode,
            environment: key.environment.as_deref(),
            scopes: auth.scopes.iter().map(|s| s.as_str()).collect(),
            created_at: timefmt::iso(key.created_at),
            expires_at: key.expires_at.map(timefmt::iso),
            retiring_until: key.retiring_until.map(timefmt::iso),
        },
    }))
}

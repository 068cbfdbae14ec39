//! `/v1/api-keys`: key management for automation, `admin` scope only. A key manages the keys
//! of its own mode: a test key never sees or creates live keys (no escalation from the sandbox).
//! The secret appears once, in the create or rotate response.

use std::collections::HashMap;

use actix_web::http::StatusCode;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, Principal, need};
use super::error::ApiError;
use super::render;
use super::request::{Fields, JsonObject, Page};
use crate::db::with_read;
use crate::domain::api_key_secret::{ApiKeySecret, EnvLabel};
use crate::domain::audit::Actor;
use crate::domain::ids::ApiKeyId;
use crate::domain::inputs::parse_allowlist;
use crate::domain::key_list::{KeyFilter, KeyListInput};
use crate::domain::limits;
use crate::domain::scope::{Scope, ScopeSet};
use crate::models::api_key::{ApiKey, KeySettings};
use crate::models::api_key_list;
use crate::ops;
use crate::ops::api_keys::{ChangeKeyError, CreateKeyError, KeyChanges, RotateKeyError};
use crate::state::AppState;

fn to_json(k: &ApiKey, now: i64) -> Value {
    json!({
        "id": k.id,
        "object": "api_key",
        "name": k.name,
        "masked": k.masked(),
        "mode": k.mode.as_str(),
        "environment": k.environment,
        "scopes": k.scope_set().iter().map(Scope::as_str).collect::<Vec<_>>(),
        "status": k.status(now).slug(),
        "created_at": render::time(Some(k.created_at)),
        "expires_at": render::time(k.expires_at),
        "last_used_at": render::time(k.last_used_at),
        "retiring_until": render::time(k.retiring_until),
        "replaced_by": k.replaced_by,
        "rate_limit_per_minute": k.rate_limit_per_minute,
        "ip_allowlist": k.ip_allowlist.entries(),
    })
}

/// The created/rotated key's JSON with its one-time secret; never cached.
fn with_secret(status: StatusCode, key: &ApiKey, secret: &ApiKeySecret, now: i64) -> HttpResponse {
    let mut body = to_json(key, now);
    body["secret"] = json!(secret.expose());
    render::shown_once(status, body)
}

fn actor(state: &AppState, p: &Principal) -> Actor {
    p.actor(state.clock.now())
}

/// A key of the caller's team and mode, or 404.
async fn find(state: &AppState, p: &Principal, id: &str) -> Result<ApiKey, ApiError> {
    let id = ApiKeyId::parse(id).ok_or(ApiError::NotFound)?;
    let team = p.tenant().team.clone();
    let now = state.clock.now();
    let key = with_read(&state.pool, move |c| {
        Ok(ApiKey::find_for_team(c, &team, &id, now)?)
    })
    .await?;
    key.filter(|k| k.mode == p.tenant().mode)
        .ok_or(ApiError::NotFound)
}

fn parse_scopes(f: &mut Fields) -> Option<ScopeSet> {
    if f.raw("scopes").is_some_and(serde_json::Value::is_null) {
        f.error("scopes", "Must be an array of scope names.");
        return None;
    }
    let names = f.strings("scopes", Scope::ALL.len())?;
    let mut set = ScopeSet::empty();
    for n in &names {
        match Scope::parse(n) {
            Some(s) => set.insert(s),
            None => {
                f.error("scopes", &format!("Unknown scope: {n}."));
                return None;
            }
        }
    }
    if set.is_empty() {
        f.error("scopes", "Give at least one scope.");
        return None;
    }
    Some(set)
}

/// `rate_limit_per_minute` and `ip_allowlist` (present → Some(new value)).
fn parse_limits(f: &mut Fields) -> (Option<Option<i32>>, Option<Option<String>>) {
    let rate = if f.has("rate_limit_per_minute") {
        Some(
            f.integer("rate_limit_per_minute", false, 1, limits::RATE_LIMIT_MAX)
                .and_then(|n| i32::try_from(n).ok()),
        )
    } else {
        None
    };
    let allow = if f.has("ip_allowlist") {
        match f.strings("ip_allowlist", limits::ALLOWLIST_MAX) {
            None => Some(None),
            Some(list) if list.is_empty() => Some(None),
            // Entries may hold spaces or commas too: each must be one address or CIDR.
            Some(list)
                if list.iter().any(|e| {
                    parse_allowlist(e)
                        .ok()
                        .flatten()
                        .is_none_or(|n| n.contains(' '))
                }) =>
            {
                f.error(
                    "ip_allowlist",
                    "Each entry must be an IP address or CIDR, like 203.0.113.0/24.",
                );
                None
            }
            Some(list) => match parse_allowlist(&list.join(" ")) {
                Ok(normalized) => Some(normalized),
                Err(message) => {
                    f.error("ip_allowlist", message);
                    None
                }
            },
        }
    } else {
        None
    };
    (rate, allow)
}

const NAME_TAKEN: &str = "A current key of this team already has this name.";
const ALREADY_RETIRING: &str = "This key is already being replaced; rotate its successor.";

impl From<CreateKeyError> for ApiError {
    fn from(e: CreateKeyError) -> Self {
        match e {
            CreateKeyError::NameTaken => ApiError::field("name", NAME_TAKEN),
            CreateKeyError::Failed(e) => e.into(),
        }
    }
}

impl From<ChangeKeyError> for ApiError {
    fn from(e: ChangeKeyError) -> Self {
        match e {
            ChangeKeyError::NameTaken => ApiError::field("name", NAME_TAKEN),
            ChangeKeyError::Gone => ApiError::NotFound,
            ChangeKeyError::Failed(e) => e.into(),
        }
    }
}

impl From<RotateKeyError> for ApiError {
    fn from(e: RotateKeyError) -> Self {
        match e {
            RotateKeyError::AlreadyRetiring => ApiError::field("id", ALREADY_RETIRING),
            RotateKeyError::Failed(e) => e.into(),
        }
    }
}

/// GET /v1/api-keys: the calling key's team's keys of its mode, newest first, with the
/// dashboard's search, filters and orders (`q`, `status`, `hint`, `creator`, `sort`), one by one
/// (a retiring key is its own item), keyset pages (`starting_after`, `limit`).
pub async fn list(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::from_query(&query)?;
    let input = KeyListInput {
        after: page.starting_after.clone().unwrap_or_default(),
        // The calling key's mode decides; there is no `mode` parameter here.
        mode: String::new(),
        ..KeyListInput::read(|k| query.get(k).map(String::as_str))
    };
    let filter = KeyFilter {
        grouped: false,
        ..input.parse().map_err(|errors| {
            ApiError::Validation(
                errors
                    .into_iter()
                    .map(|(f, m)| {
                        let f = if f == "after" { "starting_after" } else { f };
                        (f.to_owned(), m.to_owned())
                    })
                    .collect(),
            )
        })?
    };
    let now = state.clock.now();
    let team = auth.tenant().team.clone();
    let mode = auth.tenant().mode;
    let found = with_read(&state.pool, move |c| {
        Ok(api_key_list::page(
            c,
            &team,
            Some(mode),
            &filter,
            page.limit,
            now,
            None,
        )?)
    })
    .await?
    .ok_or_else(|| ApiError::field("starting_after", "No such api key."))?;
    Ok(render::list(
        found.keys.iter().map(|k| to_json(&k.key, now)).collect(),
        found.has_more,
    ))
}

/// GET /v1/api-keys/{id}: one key of the calling key's team and mode, as the list shows it.
pub async fn show(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = find(&state, &auth, &path).await?;
    Ok(render::object(
        StatusCode::OK,
        to_json(&key, state.clock.now()),
    ))
}

/// POST /v1/api-keys
pub async fn create(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(
        body.0,
        &[
            "name",
            "scopes",
            "environment",
            "expires_in_days",
            "rate_limit_per_minute",
            "ip_allowlist",
        ],
    );
    let name = f.string("name", true, 1, limits::NAME_MAX);
    let scopes = if f.has("scopes") {
        parse_scopes(&mut f)
    } else {
        Some(ScopeSet::all())
    };
    let environment = match f.string("environment", false, 1, limits::ENV_LABEL_MAX) {
        None => None,
        Some(e) => {
            let parsed = EnvLabel::parse(&e);
            if parsed.is_none() {
                f.error("environment", EnvLabel::MESSAGE);
            }
            parsed
        }
    };
    let days = f.integer("expires_in_days", false, 1, limits::EXPIRY_DAYS_MAX);
    let (rate, allow) = parse_limits(&mut f);
    f.finish()?;
    let now = state.clock.now();
    let settings = KeySettings {
        name: name.unwrap_or_default(),
        scopes: scopes.unwrap_or_else(ScopeSet::all),
        mode: auth.tenant().mode,
        environment,
        expires_at: days.map(|d| now + d * 86_400),
        rate_limit_per_minute: rate.flatten(),
        ip_allowlist: allow.flatten(),
    };
    let actor = actor(&state, &auth);
    let (key, secret) =
        ops::api_keys::create(&state, &actor, &auth.tenant().team, settings).await?;
    Ok(with_secret(StatusCode::CREATED, &key, &secret, now))
}

/// PATCH /v1/api-keys/{id}
pub async fn update(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let key = find(&state, &auth, &path).await?;
    let mut f = Fields::new(
        body.0,
        &["name", "scopes", "rate_limit_per_minute", "ip_allowlist"],
    );
    let name = if f.has("name") {
        f.string("name", true, 1, limits::NAME_MAX)
    } else {
        None
    };
    let scopes = if f.has("scopes") {
        parse_scopes(&mut f)
    } else {
        None
    };
    let (rate, allow) = parse_limits(&mut f);
    f.finish()?;
    let changes = KeyChanges {
        name: name.unwrap_or_else(|| key.name.clone()),
        scopes: scopes.unwrap_or_else(|| key.scope_set()),
        rate_limit_per_minute: rate.unwrap_or(key.rate_limit_per_minute),
        ip_allowlist: allow.unwrap_or_else(|| key.ip_allowlist.to_storage()),
    };
    let actor = actor(&state, &auth);
    ops::api_keys::update(&state, &actor, &key, changes).await?;
    let updated = find(&state, &auth, &path).await?;
    Ok(render::object(
        StatusCode::OK,
        to_json(&updated, state.clock.now()),
    ))
}

/// DELETE /v1/api-keys/{id}: revoked at once.
pub async fn delete(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = find(&state, &auth, &path).await?;
    let actor = actor(&state, &auth);
    ops::api_keys::delete(&state, &actor, &key).await?;
    Ok(render::deleted("api_key", &key.id))
}

/// POST /v1/api-keys/{id}/rotate
pub async fn rotate(
    auth: Authorized<need::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let key = find(&state, &auth, &path).await?;
    let mut f = Fields::new(body.0, &["grace_period_seconds"]);
    let grace = f
        .integer("grace_period_seconds", false, 0, limits::GRACE_SECONDS_MAX)
        .unwrap_or(86_400);
    f.finish()?;
    let actor = actor(&state, &auth);
    let now = actor.at;
    let (new_key, secret) = ops::api_keys::rotate(&state, &actor, &key, grace).await?;
    Ok(with_secret(StatusCode::CREATED, &new_key, &secret, now))
}

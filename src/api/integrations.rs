//! `/v1/integrations`: `integrations:read` / `integrations:write`. The credential is
//! write-only: requests may carry a `credential` object; responses only say whether one is
//! set, its fingerprint, and when and by whom it was set. `POST /v1/integrations/{id}/requests`
//! sends a bot flow's request with the credential injected, so the flow never holds it.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::objects::{self, ApiObject};
use super::render;
use super::request::{Fields, JsonObject};
use crate::db::DbConnection;
use crate::domain::ids::IntegrationId;
use crate::domain::integration::{
    self, Credential, Draft, DraftInput, Placement, Problems, Provider, is_reserved_header, oauth,
};
use crate::domain::limits;
use crate::models::integration::Integration;
use crate::models::oauth_connection::OAuthConnection;
use crate::ops::integrations::{self as ops, CallError, CallRequest, Edit, IntegrationError};
use crate::ops::oauth::TokenError;
use crate::outbound::{HOP_BY_HOP, OutboundError};
use crate::state::AppState;

impl ApiObject for Integration {
    const OBJECT: &'static str = "integration";

    fn valid_id(id: &str) -> bool {
        IntegrationId::parse(id).is_some()
    }

    fn to_json(&self) -> Value {
        let placement = self.placement();
        let credential = match &self.credential {
            Some(_) => json!({
                "set": true,
                "fingerprint": self.credential_fingerprint,
                "updated_at": render::time(self.credential_updated_at),
                "updated_by": self.credential_updated_by,
            }),
            None => json!({"set": false}),
        };
        let last_test = match self.test_at {
            Some(at) => json!({
                "at": render::time(Some(at)),
                "ok": self.test_ok.unwrap_or(false),
                "status": self.test_status,
                "latency_ms": self.test_latency_ms,
                "summary": self.test_summary,
            }),
            None => Value::Null,
        };
        json!({
            "id": self.id,
            "object": "integration",
            "mode": self.mode,
            "provider": self.provider().slug(),
            "name": self.name,
            "base_url": self.base_url,
            "credential_placement": {"type": placement.kind(), "name": placement.name()},
            "check_path": self.check_path,
            "credential": credential,
            "last_used_at": render::time(self.last_used_at),
            "last_test": last_test,
            "created_at": render::time(Some(self.created_at)),
            "updated_at": render::time(Some(self.updated_at)),
            "oauth": Value::Null,
        })
    }

    fn render_all(conn: &mut DbConnection, rows: &[Self]) -> diesel::QueryResult<Vec<Value>> {
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let connections = OAuthConnection::of_integrations(conn, &ids)?;
        Ok(rows
            .iter()
            .map(|row| {
                let mut shown = row.to_json();
                if let Some(c) = connections
                    .iter()
                    .find(|c| c.integration_id == row.id.as_str())
                {
                    shown["oauth"] = oauth_json(c);
                }
                shown
            })
            .collect())
    }
}

/// An OAuth connection as the API shows it: never a token or the client secret.
fn oauth_json(c: &OAuthConnection) -> Value {
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    json!({
        "grant_type": c.grant_type,
        "token_url": c.token_url,
        "authorize_url": c.authorize_url,
        "revoke_url": c.revoke_url,
        "client_id": c.client_id,
        "scopes": words(&c.scopes),
        "audience": c.audience,
        "client_auth": c.client_auth().slug(),
        "status": c.status().slug(),
        "status_reason": c.status_reason,
        "account": c.account,
        "granted_scopes": c.granted_scopes.as_deref().map(words),
        "connected_at": render::time(c.connected_at),
        "token_renewed_at": render::time(c.refreshed_at),
        "token_expires_at": render::time(c.access_expires_at),
    })
}

/// Field problems of the domain, under the API's field names.
fn problems(f: &mut Fields, prefix: &str, list: Problems) {
    for (field, message) in list {
        f.error(&format!("{prefix}{field}"), &message);
    }
}

/// `credential_placement`: `{"type": "...", "name": "..."}` → (type, name).
fn read_placement(f: &mut Fields) -> Option<(String, String)> {
    let raw = f.take("credential_placement")?;
    let Value::Object(map) = raw else {
        f.error(
            "credential_placement",
            "Must be an object like {\"type\": \"header\", \"name\": \"X-Api-Key\"}.",
        );
        return None;
    };
    let text = |k: &str| {
        map.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if map.keys().any(|k| k != "type" && k != "name") {
        f.error("credential_placement", "Only type and name may be given.");
        return None;
    }
    Some((text("type"), text("name")))
}

/// `credential`: `{"token": "..."}` or `{"username": "...", "password": "..."}` for `placement`.
fn read_credential(f: &mut Fields, placement: &Placement, required: bool) -> Option<Credential> {
    let raw = f.take("credential");
    let map = match raw {
        None => {
            if required {
                f.error("credential", "This field is required.");
            }
            return None;
        }
        Some(Value::Null) if required => {
            f.error("credential", "This field is required.");
            return None;
        }
        Some(Value::Object(map)) => map,
        Some(_) => {
            f.error(
                "credential",
                "Must be an object: {\"token\": \"…\"} or {\"username\": \"…\", \"password\": \"…\"}.",
            );
            return None;
        }
    };
    if let Some(k) = map
        .keys()
        .find(|k| !["token", "username", "password"].contains(&k.as_str()))
    {
        f.error(&format!("credential.{k}"), "Unknown field.");
        return None;
    }
    let text = |k: &str| map.get(k).and_then(Value::as_str);
    match Credential::from_fields(placement, text("token"), text("username"), text("password")) {
        Ok(c) => Some(c),
        Err(list) => {
            problems(f, "credential.", list);
            None
        }
    }
}

/// `oauth`: an OAuth 2.0 connection instead of a static credential —
/// `{"grant_type", "token_url", "authorize_url", "revoke_url", "client_id", "client_secret",
/// "scopes", "audience", "client_auth", "region"}` (the client secret is write-only, like a
/// credential; a provider's preset fills in what is left out).
fn read_oauth(f: &mut Fields, provider: Provider) -> Option<(oauth::Settings, SecretString)> {
    let map = match f.take("oauth")? {
        Value::Object(map) => map,
        _ => {
            f.error(
                "oauth",
                "Must be an object: {\"grant_type\": \"client_credentials\", …}.",
            );
            return None;
        }
    };
    const KNOWN: [&str; 10] = [
        "region",
        "client_auth",
        "grant_type",
        "token_url",
        "authorize_url",
        "revoke_url",
        "client_id",
        "client_secret",
        "scopes",
        "audience",
    ];
    if let Some(k) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        f.error(&format!("oauth.{k}"), "Unknown field.");
        return None;
    }
    if let Some(k) = KNOWN
        .iter()
        .find(|k| **k != "scopes" && map.get(**k).is_some_and(|v| !v.is_string() && !v.is_null()))
    {
        f.error(&format!("oauth.{k}"), "Must be a string.");
        return None;
    }
    let text = |k: &str| map.get(k).and_then(Value::as_str);
    let scopes = match map.get("scopes") {
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => list
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(_) => {
            f.error(
                "oauth.scopes",
                "Must be a list of scope names, or one string of them separated by spaces.",
            );
            return None;
        }
    };
    let settings = oauth::Settings::parse(&oauth::SettingsInput {
        provider,
        region: text("region"),
        client_auth: text("client_auth"),
        grant: text("grant_type").unwrap_or_default(),
        token_url: text("token_url").unwrap_or_default(),
        authorize_url: text("authorize_url"),
        revoke_url: text("revoke_url"),
        client_id: text("client_id").unwrap_or_default(),
        scopes: &scopes,
        audience: text("audience"),
    });
    let secret = oauth::parse_client_secret(text("client_secret"))
        .map_err(|m| f.error("oauth.client_secret", &m))
        .ok();
    match settings {
        Ok(settings) => secret.map(|s| (settings, s)),
        Err(list) => {
            problems(f, "", list);
            None
        }
    }
}

fn refused(e: IntegrationError) -> ApiError {
    match e {
        IntegrationError::Invalid(fields) => ApiError::Validation(fields),
        IntegrationError::NotFound => ApiError::NotFound,
        IntegrationError::Failed(e) => e.into(),
    }
}

/// GET /v1/integrations
pub async fn list(
    auth: Authorized<need::IntegrationsRead>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    objects::list::<Integration>(&state, auth.tenant(), &query).await
}

/// POST /v1/integrations
pub async fn create(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(
        body.0,
        &[
            "provider",
            "name",
            "base_url",
            "credential_placement",
            "check_path",
            "credential",
            "oauth",
        ],
    );
    let provider = f.string("provider", true, 1, limits::NAME_MAX);
    let name = f.string("name", true, 1, limits::NAME_MAX);
    let base_url = f.string("base_url", false, 1, limits::URL_MAX);
    let check_path = f.string("check_path", false, 1, limits::URL_MAX);
    let placement = read_placement(&mut f);
    // A static credential, or an OAuth connection (one of the two).
    let wants_oauth = f.has("oauth");
    if wants_oauth && f.has("credential") {
        f.error("credential", "Give a credential or oauth, not both.");
    }
    let oauth = if wants_oauth {
        let provider = Provider::parse(provider.as_deref().unwrap_or_default().trim())
            .unwrap_or(Provider::Custom);
        read_oauth(&mut f, provider)
    } else {
        None
    };
    let draft = Draft::parse(&DraftInput {
        region: oauth.as_ref().and_then(|(s, _)| s.region.as_deref()),
        provider: provider.as_deref().unwrap_or("custom"),
        name: name.as_deref().unwrap_or("-"),
        base_url: base_url.as_deref(),
        placement: placement.as_ref().map(|(t, _)| t.as_str()),
        credential_name: placement.as_ref().map(|(_, n)| n.as_str()),
        check_path: check_path.as_deref(),
    });
    let draft = match draft {
        Ok(d) => Some(d),
        Err(list) => {
            problems(&mut f, "", list);
            None
        }
    };
    let fallback = Placement::Bearer;
    let credential = if wants_oauth {
        None
    } else {
        read_credential(
            &mut f,
            draft.as_ref().map_or(&fallback, |d| &d.placement),
            true,
        )
    };
    f.finish()?;
    let secret = match (draft, oauth, credential) {
        (Some(draft), Some((settings, client_secret)), _) => {
            (draft, ops::Secret::OAuth(Box::new(settings), client_secret))
        }
        (Some(draft), None, Some(credential)) => (draft, ops::Secret::Static(credential)),
        _ => return Err(ApiError::field("credential", "This field is required.")),
    };
    let (draft, secret) = secret;
    let actor = auth.actor(state.clock.now());
    let row = ops::create(&state, &actor, auth.tenant(), draft, secret)
        .await
        .map_err(refused)?;
    let shown = objects::render_one(&state, row).await?;
    Ok(render::object(StatusCode::CREATED, shown))
}

/// GET /v1/integrations/{id}
pub async fn show(
    auth: Authorized<need::IntegrationsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::show::<Integration>(&state, auth.tenant(), &path).await
}

/// PATCH /v1/integrations/{id}
pub async fn update(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let current: Integration = objects::find(&state, auth.tenant(), &path).await?;
    let mut f = Fields::new(
        body.0,
        &[
            "name",
            "base_url",
            "credential_placement",
            "check_path",
            "credential",
        ],
    );
    let mut edit = Edit::default();
    if let Some(name) = f.string("name", false, 1, limits::NAME_MAX) {
        match integration::parse_name(&name) {
            Ok(n) => edit.name = Some(n),
            Err(m) => f.error("name", &m),
        }
    } else if f.has("name") {
        f.error("name", "Must not be empty.");
    }
    if let Some(url) = f.string("base_url", false, 1, limits::URL_MAX) {
        match integration::parse_base_url(&url) {
            Ok(u) => edit.base_url = Some(u),
            Err(m) => f.error("base_url", m),
        }
    }
    if let Some(p) = f.string("check_path", false, 1, limits::URL_MAX) {
        match integration::parse_check_path(&p) {
            Ok(p) => edit.check_path = Some(p),
            Err(m) => f.error("check_path", &m),
        }
    }
    if let Some((kind, name)) = read_placement(&mut f) {
        if current.provider() != integration::Provider::Custom {
            f.error(
                "credential_placement",
                "Only custom integrations choose where the credential goes.",
            );
        } else {
            match Placement::parse(&kind, &name) {
                Ok(p) => edit.placement = Some(p),
                Err((field, m)) => f.error(field, m),
            }
        }
    }
    let placement = edit
        .placement
        .clone()
        .unwrap_or_else(|| current.placement());
    edit.credential = read_credential(&mut f, &placement, false);
    f.finish()?;
    let actor = auth.actor(state.clock.now());
    let mode = auth.tenant().mode.as_str();
    let row = ops::update(
        &state,
        &actor,
        &auth.tenant().team,
        Some(mode),
        &current.id,
        edit,
    )
    .await
    .map_err(refused)?;
    Ok(render::object(StatusCode::OK, row.to_json()))
}

/// DELETE /v1/integrations/{id}
pub async fn delete(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !Integration::valid_id(&path) {
        return Err(ApiError::NotFound);
    }
    let actor = auth.actor(state.clock.now());
    let mode = auth.tenant().mode.as_str();
    if ops::delete(&state, &actor, &auth.tenant().team, Some(mode), &path).await? {
        Ok(render::deleted(Integration::OBJECT, &path))
    } else {
        Err(ApiError::NotFound)
    }
}

/// POST /v1/integrations/{id}/test
pub async fn test(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row: Integration = objects::find(&state, auth.tenant(), &path).await?;
    if row.credential.is_none() {
        return Err(ApiError::field(
            "credential",
            "This integration has no credential yet: set one first.",
        ));
    }
    let actor = auth.actor(state.clock.now());
    let (row, _) = ops::test_connection(&state, &actor, &auth.tenant().team, &row.id)
        .await
        .map_err(refused)?;
    Ok(render::object(StatusCode::OK, row.to_json()))
}

/// POST /v1/integrations/{id}/disconnect — revokes a consented OAuth grant at the provider
/// (where it can be) and forgets its tokens; the integration waits for a Connect. Idempotent:
/// an integration with no grant a person gave (already disconnected, never connected, client
/// credentials, a static credential) is answered as it is, with nothing changed or recorded.
pub async fn disconnect(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row: Integration = objects::find(&state, auth.tenant(), &path).await?;
    let actor = auth.actor(state.clock.now());
    crate::ops::oauth::forget(&state, &actor, &row).await?;
    let row: Integration = objects::find(&state, auth.tenant(), &path).await?;
    let shown = objects::render_one(&state, row).await?;
    Ok(render::object(StatusCode::OK, shown))
}

/// Methods a bot flow may use.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// A string-to-string object (`query`, `headers`), at most `max` entries.
fn string_map(f: &mut Fields, field: &str, max: usize) -> Vec<(String, String)> {
    match f.take(field) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) if map.len() <= max => {
            let mut out = Vec::new();
            for (k, v) in map {
                match v {
                    Value::String(s) => out.push((k, s)),
                    _ => f.error(&format!("{field}.{k}"), "Must be a string."),
                }
            }
            out
        }
        Some(_) => {
            f.error(
                field,
                &format!("Must be an object of at most {max} string values."),
            );
            Vec::new()
        }
    }
}

/// The request's headers: reserved ones (credentials, hop-by-hop, framing) are refused.
fn read_headers(f: &mut Fields) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in string_map(f, "headers", limits::INTEGRATION_HEADERS_MAX) {
        let field = format!("headers.{name}");
        if is_reserved_header(&name) || HOP_BY_HOP.contains(&name.to_ascii_lowercase().as_str()) {
            f.error(
                &field,
                "Latchkey sets this header (the credential, or the connection's own).",
            );
            continue;
        }
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), Ok(v)) => {
                headers.append(n, v);
            }
            _ => f.error(&field, "Not a valid header name and value."),
        }
    }
    headers
}

/// The body to send: a string as it is, anything else as JSON.
fn read_body(f: &mut Fields, headers: &mut HeaderMap) -> Vec<u8> {
    let bytes = match f.take("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.into_bytes(),
        Some(other) => {
            if !headers.contains_key(reqwest::header::CONTENT_TYPE) {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            other.to_string().into_bytes()
        }
    };
    if bytes.len() > limits::INTEGRATION_REQUEST_BODY_MAX {
        f.error(
            "body",
            &format!(
                "Must be at most {} KiB.",
                limits::INTEGRATION_REQUEST_BODY_MAX / 1024
            ),
        );
        return Vec::new();
    }
    bytes
}

/// POST /v1/integrations/{id}/requests
pub async fn request(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let row: Integration = objects::find(&state, auth.tenant(), &path).await?;
    let mut f = Fields::new(body.0, &["method", "path", "query", "headers", "body"]);
    let method = f
        .one_of("method", false, METHODS)
        .unwrap_or_else(|| "GET".into());
    let target = f.string("path", true, 1, limits::URL_MAX);
    if let Some(p) = &target
        && !integration::valid_relative_path(p)
    {
        f.error(
                "path",
                "Must be a path under the integration's base URL: starts with /, no .. segments, no host, no ?query (use query).",
            );
    }
    let query = string_map(&mut f, "query", 100);
    let mut headers = read_headers(&mut f);
    let bytes = read_body(&mut f, &mut headers);
    if row.credential.is_none() {
        f.error(
            "credential",
            "This integration has no credential yet: set one first.",
        );
    }
    f.finish()?;
    let req = CallRequest {
        method: reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ApiError::field("method", "Unknown method."))?,
        path: target.unwrap_or_default(),
        query,
        headers,
        body: bytes,
    };
    let answer = ops::call(&state, &row, req).await.map_err(|e| match e {
        CallError::Invalid(field, message) => ApiError::Validation(vec![(field, message)]),
        CallError::Upstream(e) => upstream(&e),
        CallError::TooLarge => ApiError::Upstream {
            status: StatusCode::BAD_GATEWAY,
            reason: format!(
                "The answer was larger than {} MiB.",
                limits::INTEGRATION_RESPONSE_MAX / (1024 * 1024)
            ),
        },
        CallError::Connection(TokenError::Failed(e)) | CallError::Failed(e) => e.into(),
        CallError::Connection(e) => ApiError::Upstream {
            status: StatusCode::BAD_GATEWAY,
            reason: e.for_people(),
        },
    })?;
    let mut header_map = Map::new();
    for (name, value) in &answer.headers {
        match header_map.get_mut(name) {
            Some(Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(value);
            }
            _ => {
                header_map.insert(name.clone(), json!(value));
            }
        }
    }
    let is_json = answer
        .headers
        .iter()
        .any(|(n, v)| n == "content-type" && v.contains("json"));
    let body = match (is_json, serde_json::from_slice::<Value>(&answer.body)) {
        (true, Ok(v)) => v,
        _ if answer.body.is_empty() => Value::Null,
        _ => json!(String::from_utf8_lossy(&answer.body)),
    };
    Ok(render::object(
        StatusCode::OK,
        json!({
            "object": "integration_response",
            "status": answer.status,
            "headers": header_map,
            "body": body,
            "latency_ms": u64::try_from(answer.elapsed.as_millis()).unwrap_or(u64::MAX),
        }),
    ))
}

/// The API's answer when the call itself failed.
fn upstream(e: &OutboundError) -> ApiError {
    let status = match e {
        OutboundError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    };
    ApiError::Upstream {
        status,
        reason: e.to_string(),
    }
}

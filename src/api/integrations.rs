//! `/v1/integrations`: `integrations:read` / `integrations:write`. Metadata only; credentials
//! come with the integrations vault.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::auth::{Authorized, need};
use super::error::ApiError;
use super::objects::{self, ApiObject};
use super::render;
use super::request::{Fields, JsonObject};
use crate::domain::ids::IntegrationId;
use crate::domain::limits;
use crate::models::integration::Integration;
use crate::state::AppState;

impl ApiObject for Integration {
    const OBJECT: &'static str = "integration";

    fn valid_id(id: &str) -> bool {
        IntegrationId::parse(id).is_some()
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "integration",
            "mode": self.mode,
            "provider": self.provider,
            "name": self.name,
            "base_url": self.base_url,
            "created_at": render::time(Some(self.created_at)),
            "updated_at": render::time(Some(self.updated_at)),
        })
    }
}

/// `shopify`, `hub-spot`, `crm_2`: lower-case letters, digits, `-` and `_`.
fn valid_provider(p: &str) -> bool {
    p.bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// An absolute `https://` URL (or `http://` to a loopback host, for local development), no
/// credentials, no fragment.
fn valid_base_url(u: &str) -> bool {
    let rest = if let Some(r) = u.strip_prefix("https://") {
        r
    } else if let Some(r) = u.strip_prefix("http://") {
        let host = r.split(['/', ':']).next().unwrap_or_default();
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return false;
        }
        r
    } else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    !authority.is_empty()
        && !authority.contains('@')
        && !u.contains('#')
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn check_provider_and_url(f: &mut Fields, provider: Option<&String>, base_url: Option<&String>) {
    if provider.is_some_and(|p| !valid_provider(p)) {
        f.error("provider", "Use lower-case letters, digits, '-' and '_'.");
    }
    if base_url.is_some_and(|u| !valid_base_url(u)) {
        f.error(
            "base_url",
            "Must be an https:// URL without credentials or fragment.",
        );
    }
}

/// GET /v1/integrations
pub async fn list(
    auth: Authorized<need::IntegrationsRead>,
    state: web::Data<AppState>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    objects::list::<Integration>(&state, &auth.tenant, &query).await
}

/// POST /v1/integrations
pub async fn create(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut f = Fields::new(body.0, &["provider", "name", "base_url"]);
    let provider = f.string("provider", true, 1, limits::NAME_MAX);
    let name = f.string("name", true, 1, limits::NAME_MAX);
    let base_url = f.string("base_url", true, 1, limits::URL_MAX);
    check_provider_and_url(&mut f, provider.as_ref(), base_url.as_ref());
    f.finish()?;
    let now = state.clock.now();
    let i = Integration {
        id: IntegrationId::generate().to_string(),
        team_id: auth.tenant.team.to_string(),
        mode: auth.tenant.mode.as_str().to_owned(),
        provider: provider.unwrap_or_default(),
        name: name.unwrap_or_default(),
        base_url: base_url.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    objects::created(&state, &auth, i, Integration::insert).await
}

/// GET /v1/integrations/{id}
pub async fn show(
    auth: Authorized<need::IntegrationsRead>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::show::<Integration>(&state, &auth.tenant, &path).await
}

/// PATCH /v1/integrations/{id}
pub async fn update(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut i: Integration = objects::find(&state, &auth.tenant, &path).await?;
    let mut f = Fields::new(body.0, &["provider", "name", "base_url"]);
    let provider = if f.has("provider") {
        f.string("provider", true, 1, limits::NAME_MAX)
    } else {
        None
    };
    let name = if f.has("name") {
        f.string("name", true, 1, limits::NAME_MAX)
    } else {
        None
    };
    let base_url = if f.has("base_url") {
        f.string("base_url", true, 1, limits::URL_MAX)
    } else {
        None
    };
    check_provider_and_url(&mut f, provider.as_ref(), base_url.as_ref());
    f.finish()?;
    i.provider = provider.unwrap_or(i.provider);
    i.name = name.unwrap_or(i.name);
    i.base_url = base_url.unwrap_or(i.base_url);
    i.updated_at = state.clock.now();
    objects::updated(&state, &auth, i, Integration::update).await
}

/// DELETE /v1/integrations/{id}
pub async fn delete(
    auth: Authorized<need::IntegrationsWrite>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    objects::delete::<Integration>(&state, &auth, &path).await
}

#[cfg(test)]
mod tests {
    use super::valid_base_url;

    #[test]
    fn base_urls_must_be_https_without_credentials() {
        assert!(valid_base_url("https://acme.myshopify.com/admin/api"));
        assert!(valid_base_url("http://localhost:9000"));
        assert!(!valid_base_url("http://example.com"));
        assert!(!valid_base_url("javascript:alert(1)"));
        assert!(!valid_base_url("https://user:pw@example.com"));
        assert!(!valid_base_url("https://"));
        assert!(!valid_base_url("https://example.com/#x"));
    }
}

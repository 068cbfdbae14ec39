//! The OpenAPI 3.1 document at `/v1/openapi.json`. Paths, methods, summaries and scopes come
//! from the route table (`super::ROUTES`, which a test checks against the handlers); request and
//! response schemas are declared here, once per object.

use actix_web::HttpResponse;
use serde_json::{Map, Value, json};

use super::ROUTES;
use crate::domain::limits;
use crate::domain::scope::Scope;

/// A single-line string of at most `max` characters without control characters; with
/// `min = 1`, at least one non-space (what `Fields::string` accepts).
fn text(min: usize, max: usize) -> Value {
    if min == 0 {
        json!({"type": "string", "maxLength": max, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"})
    } else {
        json!({"type": "string", "minLength": min, "maxLength": max,
               "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"})
    }
}

/// Like `text(0, max)` but newlines and tabs allowed (what `Fields::text` accepts).
fn multiline(max: usize) -> Value {
    json!({"type": "string", "maxLength": max, "pattern": "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$"})
}

fn id(prefix: &str) -> Value {
    json!({"type": "string", "pattern": format!("^{prefix}[0-9A-Za-z]{{20}}$")})
}

/// A request field naming one of the caller's bots. Its shape is all a schema can say; that
/// the bot must exist (for the key's team and mode) is said in words, and answered with 422.
fn bot_ref() -> Value {
    let mut v = id("bot_");
    v["description"] = json!(
        "The id of one of the team's bots, in the calling key's mode. A well-formed id that names no such bot is answered 422 VALIDATION_FAILED with a message for `bot_id`."
    );
    v
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable(v: Value) -> Value {
    json!({"oneOf": [v, {"type": "null"}]})
}

fn object(required: &[&str], props: Value) -> Value {
    json!({"type": "object", "required": required, "properties": props})
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn schemas() -> Value {
    let mode = json!({"type": "string", "enum": ["live", "test"]});
    let scope = json!({"type": "string", "enum": Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()});
    json!({
        "Error": object(&["error"], json!({"error": object(&["code", "message"], json!({
            "code": {"type": "string", "enum": ["INVALID_API_KEY", "API_KEY_EXPIRED", "INSUFFICIENT_PERMISSIONS", "IP_NOT_ALLOWED", "ACCOUNT_SUSPENDED", "RATE_LIMITED", "NOT_FOUND", "METHOD_NOT_ALLOWED", "VALIDATION_FAILED", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "REQUEST_TIMEOUT", "HEADERS_TOO_LARGE", "SERVICE_UNAVAILABLE", "UPSTREAM_FAILED", "UPSTREAM_TIMEOUT", "INTERNAL_ERROR"]},
            "message": {"type": "string"},
            "reason": {"type": "string", "description": "UPSTREAM_* only: what happened on the way to the integration's API."},
            "required_scope": scope,
            "fields": {"type": "object", "additionalProperties": {"type": "string"}}
        }))})),
        "Deleted": object(&["id", "object", "deleted"], json!({"id": {"type": "string"}, "object": {"type": "string"}, "deleted": {"const": true}})),
        "Me": object(&["object", "team", "api_key"], json!({
            "object": {"const": "api_key_identity"},
            "team": object(&["id", "slug", "name"], json!({"id": {"type": "string"}, "slug": {"type": "string"}, "name": {"type": "string"}})),
            "api_key": object(&["id", "name", "masked", "mode", "scopes", "created_at"], json!({
                "id": id("key_"), "name": {"type": "string"}, "masked": {"type": "string"}, "mode": mode,
                "environment": nullable(json!({"type": "string"})), "scopes": {"type": "array", "items": scope},
                "created_at": time(), "expires_at": nullable(time()), "retiring_until": nullable(time())
            }))
        })),
        "Bot": object(&["id", "object", "mode", "name", "description", "created_at", "updated_at"], json!({
            "id": id("bot_"), "object": {"const": "bot"}, "mode": mode, "name": {"type": "string"},
            "description": {"type": "string"}, "created_at": time(), "updated_at": time()
        })),
        "Channel": object(&["id", "object", "mode", "bot_id", "kind", "name", "created_at", "updated_at"], json!({
            "id": id("chn_"), "object": {"const": "channel"}, "mode": mode, "bot_id": id("bot_"),
            "kind": {"type": "string", "enum": crate::models::channel::KINDS}, "name": {"type": "string"},
            "created_at": time(), "updated_at": time()
        })),
        "Integration": object(&["id", "object", "mode", "provider", "name", "base_url", "credential_placement", "check_path", "credential", "created_at", "updated_at"], json!({
            "id": id("int_"), "object": {"const": "integration"}, "mode": mode, "provider": provider(),
            "name": {"type": "string"}, "base_url": {"type": "string"},
            "credential_placement": placement(),
            "check_path": {"type": "string"},
            "credential": {
                "type": "object", "required": ["set"],
                "description": "Whether a credential is stored, and its fingerprint (an HMAC, not part of the value). The value itself is write-only: no response ever carries it.",
                "properties": {"set": {"type": "boolean"}, "fingerprint": {"type": "string"}, "updated_at": time(), "updated_by": {"type": "string"}}
            },
            "last_used_at": nullable(time()),
            "last_test": nullable(object(&["at", "ok"], json!({"at": time(), "ok": {"type": "boolean"}, "status": nullable(json!({"type": "integer"})), "latency_ms": nullable(json!({"type": "integer"})), "summary": nullable(json!({"type": "string"}))}))),
            "oauth": nullable(oauth_connection()),
            "created_at": time(), "updated_at": time()
        })),
        "WebhookEndpoint": object(&["id", "object", "url", "description", "event_types", "enabled", "created_at", "updated_at"], json!({
            "id": id("whe_"), "object": {"const": "webhook_endpoint"}, "url": {"type": "string"},
            "description": {"type": "string"},
            "event_types": {"type": "array", "items": webhook_event_type(), "description": "Empty: every event."},
            "enabled": {"type": "boolean"}, "disabled_reason": nullable(json!({"type": "string"})),
            "previous_secret_expires_at": nullable(time()),
            "secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/]{43}=$", "description": "The signing secret: in the create and rotate responses only."},
            "created_at": time(), "updated_at": time()
        })),
        "WebhookDelivery": object(&["id", "object", "endpoint_id", "event_id", "event_type", "status", "attempts", "created_at"], json!({
            "id": id("whd_"), "object": {"const": "webhook_delivery"}, "endpoint_id": id("whe_"), "event_id": id("evt_"),
            "event_type": webhook_event_type(),
            "status": {"type": "string", "enum": crate::models::webhook::DELIVERY_STATUSES, "description": "pending: waiting for its first attempt or retrying; succeeded: a 2xx answer; failed: given up."},
            "attempts": {"type": "integer"},
            "next_attempt_at": nullable(time()), "last_attempt_at": nullable(time()),
            "last_status_code": nullable(json!({"type": "integer"})), "last_latency_ms": nullable(json!({"type": "integer"})),
            "last_error": nullable(json!({"type": "string"})), "created_at": time(),
            "body": nullable(json!({"type": "string", "description": "The request body as sent, byte for byte (on the delivery's own page)."})),
            "attempt_log": {"type": "array", "description": "Every attempt, newest first (on the delivery's own page).", "items": {"type": "object", "properties": {
                "attempt": {"type": "integer"}, "at": time(), "status_code": nullable(json!({"type": "integer"})),
                "latency_ms": {"type": "integer"}, "error": nullable(json!({"type": "string"})), "response_excerpt": nullable(json!({"type": "string"}))
            }}}
        })),
        "WebhookReplay": object(&["object", "count"], json!({"object": {"const": "webhook_replay"}, "count": {"type": "integer", "description": "Deliveries made due now."}})),
        "WebhookTest": object(&["object", "event_id"], json!({"object": {"const": "webhook_test"}, "event_id": id("evt_")})),
        "IntegrationResponse": object(&["object", "status", "headers", "body", "latency_ms"], json!({
            "object": {"const": "integration_response"},
            "status": {"type": "integer", "description": "The status the integration's API answered (redirects are returned, never followed)."},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {"description": "Parsed JSON when the answer is JSON, else the text, else null.  Any appearance of the credential is replaced by [redacted]."},
            "latency_ms": {"type": "integer"}
        })),
        "Message": object(&["id", "object", "role", "content", "created_at"], json!({
            "id": id("msg_"), "object": {"const": "message"}, "role": {"type": "string", "enum": crate::models::conversation::ROLES},
            "content": {"type": "string"}, "created_at": time()
        })),
        "Conversation": object(&["id", "object", "mode", "title", "created_at"], json!({
            "id": id("conv_"), "object": {"const": "conversation"}, "mode": mode, "bot_id": nullable(id("bot_")),
            "title": {"type": "string"}, "created_at": time(), "messages": {"type": "array", "items": r("Message")}
        })),
        "AgentLoop": object(&["id", "object", "mode", "name", "instructions", "created_at", "updated_at"], json!({
            "id": id("loop_"), "object": {"const": "agent_loop"}, "mode": mode, "bot_id": nullable(id("bot_")),
            "name": {"type": "string"}, "instructions": {"type": "string"}, "created_at": time(), "updated_at": time()
        })),
        "AgentLoopRun": object(&["id", "object", "agent_loop_id", "status", "input", "created_at"], json!({
            "id": id("run_"), "object": {"const": "agent_loop_run"}, "agent_loop_id": id("loop_"),
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
            "input": {"type": "object"}, "created_at": time(),
            "started_at": nullable(time()), "finished_at": nullable(time())
        })),
        "ApiKey": object(&["id", "object", "name", "masked", "mode", "scopes", "status", "created_at"], json!({
            "id": id("key_"), "object": {"const": "api_key"}, "name": {"type": "string"}, "masked": {"type": "string"},
            "mode": mode, "environment": nullable(json!({"type": "string"})), "scopes": {"type": "array", "items": scope},
            "status": {"type": "string", "enum": ["active", "expiring", "expired", "retiring", "revoked", "leaked"]},
            "created_at": time(), "expires_at": nullable(time()), "last_used_at": nullable(time()),
            "retiring_until": nullable(time()), "replaced_by": nullable(id("key_")),
            "rate_limit_per_minute": nullable(json!({"type": "integer"})),
            "ip_allowlist": nullable(json!({"type": "array", "items": {"type": "string"}})),
            "secret": {"type": "string", "description": "Only in the create and rotate responses.",
                       "pattern": crate::domain::api_key_secret::SCANNER_REGEX}
        })),
        "AuditEvent": object(&["id", "object", "action", "description", "actor", "detail", "created_at"], json!({
            "id": id("aud_"), "object": {"const": "audit_event"},
            "action": {"type": "string", "enum": crate::domain::audit::AuditAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>()},
            "description": {"type": "string"},
            "actor": object(&["type", "name"], json!({
                "type": {"type": "string", "enum": ["user", "operator", "api_key", "system"]},
                "id": nullable(json!({"type": "string"})), "name": {"type": "string"},
                "agency_id": nullable(json!({"type": "string"})), "agency_name": nullable(json!({"type": "string"}))
            })),
            "target": nullable(object(&["type"], json!({
                "type": {"type": "string"}, "id": nullable(json!({"type": "string"})), "name": nullable(json!({"type": "string"}))
            }))),
            "detail": {"type": "object"}, "ip": nullable(json!({"type": "string"})), "created_at": time()
        })),
        "Revocation": object(&["object", "revoked", "api_key", "revoked_at"], json!({
            "object": {"const": "revocation"}, "revoked": {"const": true},
            "api_key": object(&["id", "masked"], json!({"id": id("key_"), "masked": {"type": "string"}})),
            "revoked_at": time()
        })),
    })
}

fn list_of(name: &str) -> Value {
    object(
        &["object", "data", "has_more"],
        json!({"object": {"const": "list"}, "data": {"type": "array", "items": r(name)}, "has_more": {"type": "boolean"}}),
    )
}

/// A JSON body; it may be left out when none of its fields is required (it then means `{}`).
fn body(required: &[&str], props: Value) -> Value {
    json!({"required": !required.is_empty(), "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": props, "additionalProperties": false
    }}}})
}

fn optional_body(props: Value) -> Value {
    json!({"required": false, "content": {"application/json": {"schema": {
        "type": "object", "properties": props, "additionalProperties": false
    }}}})
}

/// What a route takes and answers, as the OpenAPI document states it.
pub struct Shape {
    /// The request body's schema, if it takes one.
    pub request: Option<fn() -> Value>,
    /// The success status.
    pub status: &'static str,
    /// The success body.
    pub reply: Reply,
}

/// A success body: one object of a schema, or a list of them.
pub enum Reply {
    /// `{...}` of this component schema.
    One(&'static str),
    /// `{"object":"list","data":[...],"has_more":...}` of this component schema.
    List(&'static str),
}

impl Shape {
    /// A read of one object (200).
    pub const fn one(schema: &'static str) -> Self {
        Self {
            request: None,
            status: "200",
            reply: Reply::One(schema),
        }
    }

    /// A list (200), with `limit` and `starting_after`.
    pub const fn list(schema: &'static str) -> Self {
        Self {
            request: None,
            status: "200",
            reply: Reply::List(schema),
        }
    }

    /// A delete (200 with the `Deleted` object).
    pub const DELETED: Self = Self::one("Deleted");

    /// The same shape answering `status` instead.
    pub const fn with_status(self, status: &'static str) -> Self {
        Self { status, ..self }
    }

    /// A write with a body, answering `status` with one `schema`.
    pub const fn with_body(
        status: &'static str,
        schema: &'static str,
        request: fn() -> Value,
    ) -> Self {
        Self {
            request: Some(request),
            status,
            reply: Reply::One(schema),
        }
    }

    fn response_schema(&self) -> Value {
        match self.reply {
            Reply::One(name) => r(name),
            Reply::List(name) => list_of(name),
        }
    }
}

fn channel_kind() -> Value {
    json!({"type": "string", "enum": crate::models::channel::KINDS})
}

fn scope_list() -> Value {
    json!({"type": "array", "maxItems": Scope::ALL.len(), "minItems": 1, "items": {"type": "string", "enum": Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()}})
}

fn cidrs() -> Value {
    json!({"type": "array", "maxItems": limits::ALLOWLIST_MAX, "items": {"type": "string", "pattern": "^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$"}})
}

fn https_url() -> Value {
    json!({"type": "string", "format": "uri", "maxLength": limits::URL_MAX, "pattern": "^https://[^@#\\s/]+(/[^#\\s]*)?$"})
}

fn provider() -> Value {
    json!({"type": "string", "enum": crate::domain::integration::Provider::ALL.map(|p| p.slug())})
}

fn rate_limit() -> Value {
    nullable(json!({"type": "integer", "minimum": 1, "maximum": limits::RATE_LIMIT_MAX}))
}

/// `POST /bots`.
pub fn bot_create_body() -> Value {
    body(
        &["name"],
        json!({"name": text(1, limits::NAME_MAX), "description": nullable(multiline(limits::DESCRIPTION_MAX))}),
    )
}

/// `PATCH /bots/{id}`.
pub fn bot_update_body() -> Value {
    body(
        &[],
        json!({"name": text(1, limits::NAME_MAX), "description": nullable(multiline(limits::DESCRIPTION_MAX))}),
    )
}

/// `POST /channels`.
pub fn channel_create_body() -> Value {
    body(
        &["bot_id", "kind", "name"],
        json!({"bot_id": bot_ref(), "kind": channel_kind(), "name": text(1, limits::NAME_MAX)}),
    )
}

/// `PATCH /channels/{id}`.
pub fn channel_update_body() -> Value {
    body(
        &[],
        json!({"kind": channel_kind(), "name": text(1, limits::NAME_MAX)}),
    )
}

/// `POST /conversations`.
pub fn conversation_create_body() -> Value {
    body(
        &[],
        json!({
            "bot_id": nullable(bot_ref()), "title": nullable(text(0, limits::TITLE_MAX)),
            "messages": {"type": ["array", "null"], "maxItems": 200, "items": {"type": "object", "required": ["role", "content"], "additionalProperties": false,
                "properties": {"role": {"type": "string", "enum": crate::models::conversation::ROLES}, "content": {"type": "string", "minLength": 1, "maxLength": 32000}}}}
        }),
    )
}

/// Where the credential goes: the preset's, or (custom only) bearer, basic, header, query.
fn placement() -> Value {
    object(
        &["type"],
        json!({"type": {"type": "string", "enum": ["bearer", "basic", "header", "query"]},
               "name": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._-]{1,64}$", "description": "The header or query parameter name (header and query only)."}}),
    )
}

/// The write-only credential of a request body.
fn credential() -> Value {
    let value = json!({"type": "string", "minLength": 1, "maxLength": crate::domain::integration::CREDENTIAL_MAX, "pattern": "^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$"});
    json!({
        "writeOnly": true,
        "description": "The credential, encrypted at rest and never returned: {\"token\": …} for bearer, header and query placements; {\"username\": …, \"password\": …} for basic.",
        "oneOf": [
            {"type": "object", "required": ["token"], "additionalProperties": false, "properties": {"token": value}},
            {"type": "object", "required": ["username", "password"], "additionalProperties": false, "properties": {"username": value, "password": value}}
        ]
    })
}

/// An integration's OAuth 2.0 connection as responses show it: never a token or the secret.
fn oauth_connection() -> Value {
    let scopes = json!({"type": "array", "items": {"type": "string"}});
    object(
        &["grant_type", "token_url", "client_id", "scopes", "status"],
        json!({
            "grant_type": {"type": "string", "enum": ["authorization_code", "client_credentials"]},
            "token_url": {"type": "string"}, "authorize_url": {"type": ["string", "null"]},
            "revoke_url": {"type": ["string", "null"]}, "client_id": {"type": "string"},
            "scopes": scopes, "audience": {"type": ["string", "null"]},
            "client_auth": {"type": "string", "enum": ["basic", "post"], "description": "How the token endpoint takes the client id and secret: HTTP basic auth or the form body."},
            "status": {"type": "string", "enum": ["pending", "connected", "needs_reconnecting"],
                       "description": "needs_reconnecting: the provider refused the grant (invalid_grant, a removed app); calls answer 502 until a person connects it again."},
            "status_reason": {"type": ["string", "null"], "description": "The provider's refusal, when it needs reconnecting."},
            "account": {"type": ["string", "null"], "description": "Who consented, when the provider says."},
            "granted_scopes": nullable(scopes),
            "connected_at": nullable(time()),
            "token_renewed_at": nullable(time()),
            "token_expires_at": nullable(time())
        }),
    )
}

/// The `oauth` object of `POST /integrations`.
fn oauth_body() -> Value {
    let line = json!({"type": "string", "minLength": 1, "maxLength": crate::domain::integration::CREDENTIAL_MAX, "pattern": "^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$"});
    let url = json!({"type": "string", "format": "uri", "maxLength": limits::URL_MAX});
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["client_id", "client_secret"],
        "description": "An OAuth 2.0 connection instead of a static credential: Latchkey gets and renews the access tokens itself. client_credentials connects at once; authorization_code waits for a person's consent in the dashboard. The presets (hubspot, zoho_crm, calendly, google_calendar, google_sheets, microsoft_graph, salesforce) fill in what is left out: the authorization_code grant, their endpoints (in the region given), scopes and client_auth; a custom provider gives grant_type and token_url (and authorize_url for authorization_code).",
        "properties": {
            "grant_type": {"type": "string", "enum": ["authorization_code", "client_credentials"]},
            "region": nullable(json!({"type": "string", "maxLength": 100, "description": "zoho_crm: the data centre (us, eu, in, au, jp, ca, sa, cn; default us). salesforce: production or sandbox. microsoft_graph: the directory (tenant) id or domain (default common)."})),
            "client_auth": nullable(json!({"type": "string", "enum": ["basic", "post"], "description": "How the token endpoint takes the client id and secret (the preset's, else basic)."})),
            "token_url": url, "authorize_url": nullable(url.clone()), "revoke_url": nullable(url.clone()),
            "client_id": line,
            "client_secret": {"writeOnly": true, "description": "Encrypted at rest and never returned.", "type": "string", "minLength": 1, "maxLength": crate::domain::integration::CREDENTIAL_MAX},
            "scopes": {"oneOf": [{"type": "array", "items": {"type": "string", "pattern": "^[^\\s\"\\\\]+$"}}, {"type": "string"}]},
            "audience": nullable(json!({"type": "string", "maxLength": 512}))
        }
    })
}

/// `POST /integrations`.
pub fn integration_create_body() -> Value {
    let mut b = body(
        &["provider", "name"],
        json!({"provider": provider(), "name": text(1, limits::NAME_MAX),
               "base_url": {"type": ["string", "null"], "format": "uri", "maxLength": limits::URL_MAX, "description": "https:// (http:// only to addresses the operator allowlisted). Optional (null or left out) for presets with a fixed API host (Stripe, HubSpot, Zoho CRM, Calendly)."},
               "credential_placement": placement(),
               "check_path": {"type": ["string", "null"], "maxLength": limits::URL_MAX, "description": "The read-only request Test connection sends; the preset's when null or left out."},
               "credential": credential(),
               "oauth": oauth_body()}),
    );
    // A static credential or an OAuth connection: exactly one.
    b["content"]["application/json"]["schema"]["oneOf"] =
        json!([{"required": ["credential"]}, {"required": ["oauth"]}]);
    b
}

/// `PATCH /integrations/{id}`.
pub fn integration_update_body() -> Value {
    body(
        &[],
        json!({"name": text(1, limits::NAME_MAX), "base_url": nullable(https_url()),
               "credential_placement": placement(),
               "check_path": {"type": ["string", "null"], "maxLength": limits::URL_MAX, "description": "null or left out: unchanged."},
               "credential": credential()}),
    )
}

fn webhook_event_type() -> Value {
    json!({"type": "string", "enum": crate::domain::webhook::EVENT_TYPES.iter()
        .filter(|e| e.audience == crate::domain::webhook::Audience::Team)
        .map(|e| e.name).collect::<Vec<_>>()})
}

/// `POST /webhook-endpoints`.
pub fn webhook_endpoint_create_body() -> Value {
    body(
        &["url"],
        json!({"url": {"type": "string", "format": "uri", "maxLength": limits::URL_MAX, "description": "https:// on a public host (http:// only to addresses the operator allowlisted)."},
               "description": nullable(multiline(limits::DESCRIPTION_MAX)),
               "event_types": {"type": ["array", "null"], "maxItems": 64, "items": webhook_event_type()}}),
    )
}

/// `PATCH /webhook-endpoints/{id}`.
pub fn webhook_endpoint_update_body() -> Value {
    body(
        &[],
        json!({"url": {"type": "string", "format": "uri", "maxLength": limits::URL_MAX},
               "description": nullable(multiline(limits::DESCRIPTION_MAX)),
               "event_types": {"type": ["array", "null"], "maxItems": 64, "items": webhook_event_type()},
               "enabled": {"type": ["boolean", "null"]}}),
    )
}

/// `POST /webhook-endpoints/{id}/rotate-secret`.
pub fn webhook_rotate_body() -> Value {
    body(
        &[],
        json!({"overlap_seconds": {"type": ["integer", "null"], "enum": [0, 86400, 604800, null], "description": "How long the old secret keeps signing too: 0 (default), 24 hours, 7 days."}}),
    )
}

/// `POST /webhook-endpoints/{id}/retry`.
pub fn webhook_retry_body() -> Value {
    body(
        &[],
        json!({"window_seconds": {"type": ["integer", "null"], "enum": [3600, 86400, 259200, 604800, null], "description": "How far back: an hour, 24 hours (default), 3 or 7 days."}}),
    )
}

/// `POST /integrations/{id}/requests`.
pub fn integration_request_body() -> Value {
    body(
        &["path"],
        json!({
            "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "default": "GET"},
            "path": {"type": "string", "minLength": 1, "maxLength": limits::URL_MAX, "description": "Under the integration's base URL: starts with /, no .. segments, no host, no ?query."},
            "query": {"type": "object", "maxProperties": 100, "additionalProperties": {"type": "string"}},
            "headers": {"type": "object", "maxProperties": limits::INTEGRATION_HEADERS_MAX, "additionalProperties": {"type": "string"}, "description": "Authorization, Cookie, Host and hop-by-hop headers are refused: Latchkey sets the credential."},
            "body": {"description": "A string is sent as it is; any other JSON value is sent as JSON.", "maxLength": limits::INTEGRATION_REQUEST_BODY_MAX}
        }),
    )
}

/// `POST /agent-loops`.
pub fn agent_loop_create_body() -> Value {
    body(
        &["name"],
        json!({"name": text(1, limits::NAME_MAX), "instructions": nullable(multiline(limits::INSTRUCTIONS_MAX)), "bot_id": nullable(bot_ref())}),
    )
}

/// `POST /agent-loops/{id}/runs`.
pub fn run_body() -> Value {
    optional_body(json!({"input": {"type": ["object", "null"]}}))
}

/// `PATCH /agent-loops/{id}/runs/{run_id}`.
pub fn run_update_body() -> Value {
    body(
        &["status"],
        json!({"status": {"type": "string", "enum": ["running", "succeeded", "failed"]}}),
    )
}

/// `POST /api-keys`.
pub fn api_key_create_body() -> Value {
    body(
        &["name"],
        json!({
            "name": text(1, limits::NAME_MAX), "scopes": scope_list(), "environment": nullable(json!({"type": "string", "pattern": format!("^[a-z0-9]{{1,{}}}$", limits::ENV_LABEL_MAX)})),
            "expires_in_days": nullable(json!({"type": "integer", "minimum": 1, "maximum": limits::EXPIRY_DAYS_MAX})),
            "rate_limit_per_minute": rate_limit(), "ip_allowlist": nullable(cidrs())
        }),
    )
}

/// `PATCH /api-keys/{id}`.
pub fn api_key_update_body() -> Value {
    body(
        &[],
        json!({"name": text(1, limits::NAME_MAX), "scopes": scope_list(), "rate_limit_per_minute": rate_limit(), "ip_allowlist": nullable(cidrs())}),
    )
}

/// `POST /api-keys/{id}/rotate`.
pub fn rotate_body() -> Value {
    optional_body(
        json!({"grace_period_seconds": nullable(json!({"type": "integer", "minimum": 0, "maximum": limits::GRACE_SECONDS_MAX}))}),
    )
}

/// `POST /revoke`.
pub fn revoke_body() -> Value {
    body(
        &["key"],
        json!({"key": {"type": "string", "pattern": crate::domain::api_key_secret::SCANNER_REGEX}}),
    )
}

fn operation_id(method: &str, path: &str) -> String {
    format!(
        "{}{}",
        method.to_lowercase(),
        path.replace(['/', '{', '}', '-'], "_")
    )
}

/// From a create to the operations on the created object (`id` from the response body), so
/// clients and stateful testers can follow them.
fn links(method: &str, path: &str) -> Option<Value> {
    if method != "POST" || path.contains('{') || path == "/revoke" {
        return None;
    }
    let item = format!("{path}/{{id}}");
    let mut links = Map::new();
    for route in ROUTES
        .iter()
        .filter(|r| r.path == item || r.path.starts_with(&format!("{item}/")))
    {
        links.insert(
            format!("{}{}", route.method.to_lowercase(), route.path.trim_start_matches(path).replace(['/', '{', '}'], "_")),
            json!({"operationId": operation_id(route.method, route.path), "parameters": {"id": "$response.body#/id"}}),
        );
    }
    (!links.is_empty()).then_some(Value::Object(links))
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": r("Error")}}})
}

fn rate_headers() -> Value {
    json!({
        "X-RateLimit-Limit": {"description": "Requests allowed per minute for this key.", "schema": {"type": "integer"}},
        "X-RateLimit-Remaining": {"description": "Requests left in the current minute.", "schema": {"type": "integer"}},
        "X-RateLimit-Reset": {"description": "Unix time when the current window resets.", "schema": {"type": "integer"}}
    })
}

/// Builds the document; `server` is the public base URL.
pub fn document(server: &str) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for route in ROUTES {
        let (request, ok, schema) = (
            route.shape.request.map(|body| body()),
            route.shape.status,
            route.shape.response_schema(),
        );
        let mut responses = Map::new();
        let mut success = json!({"description": "Success", "headers": rate_headers(), "content": {"application/json": {"schema": schema}}});
        if let Some(links) = links(route.method, route.path) {
            success["links"] = links;
        }
        responses.insert(ok.into(), success);

        let keyed = route.path != "/revoke";
        // Also /revoke: presenting keys that do not exist counts against the address.
        responses.insert(
            "429".into(),
            json!({"description": "RATE_LIMITED: over the key's rate limit, or too many invalid keys from this address this minute",
                   "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                   "content": {"application/json": {"schema": r("Error")}}}),
        );
        responses.insert(
            "431".into(),
            error("HEADERS_TOO_LARGE (request target and headers over 32 KiB)"),
        );
        if keyed {
            responses.insert("401".into(), error("INVALID_API_KEY (missing, malformed, unknown, deleted or retired key) or API_KEY_EXPIRED"));
            responses.insert(
                "403".into(),
                error("INSUFFICIENT_PERMISSIONS (with required_scope), IP_NOT_ALLOWED or ACCOUNT_SUSPENDED"),
            );
        }
        if route.path.contains("{id}") || !keyed {
            responses.insert(
                "404".into(),
                error("NOT_FOUND (also for other teams' objects and the other mode's)"),
            );
        }
        if request.is_some() {
            responses.insert(
                "413".into(),
                error("PAYLOAD_TOO_LARGE (bodies over 64 KiB)"),
            );
            responses.insert(
                "415".into(),
                error("UNSUPPORTED_MEDIA_TYPE (not application/json, or compressed)"),
            );
            responses.insert(
                "408".into(),
                error("REQUEST_TIMEOUT (the body did not arrive in time)"),
            );
        }
        if request.is_some() || route.method == "GET" {
            let lists = route.method == "GET" && !route.path.ends_with("{id}");
            responses.insert(
                "422".into(),
                error(if lists {
                    "VALIDATION_FAILED, with a message per field: also when `starting_after` is well formed but names no object of this list (of the calling key's team and mode)"
                } else if request.is_some() {
                    "VALIDATION_FAILED, with a message per field: also when a well-formed reference (`bot_id`) names no object of the calling key's team and mode"
                } else {
                    "VALIDATION_FAILED, with a message per field"
                }),
            );
        }
        responses.insert("503".into(), error("SERVICE_UNAVAILABLE"));
        let mut op = json!({
            "operationId": operation_id(route.method, route.path),
            "summary": route.summary,
            "responses": responses,
        });
        match route.scope {
            Some(s) => {
                op["description"] = json!(format!(
                    "Requires the `{s}` scope (or `admin`; a `:write` scope includes `:read`)."
                ));
                op["x-required-scope"] = json!(s.as_str());
            }
            None if keyed => op["description"] = json!("Any valid key."),
            None => op["security"] = json!([]),
        }
        let path_params: Vec<Value> = ["id", "run_id", "delivery_id"]
            .iter()
            .filter(|name| route.path.contains(&format!("{{{name}}}")))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string", "maxLength": limits::REFERENCE_MAX}}))
            .collect();
        if !path_params.is_empty() {
            op["parameters"] = Value::Array(path_params);
        }
        if matches!(route.shape.reply, Reply::List(_)) {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut params = params;
            params.push(json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}}));
            params.push(json!({"name": "starting_after", "in": "query", "schema": {"type": "string", "maxLength": limits::REFERENCE_MAX},
                "description": "The id of the last object of the previous page (newest first). It must name an object of this list, of the calling key's team and mode; a well-formed id that names none is answered 422 VALIDATION_FAILED with a message for `starting_after`."}));
            op["parameters"] = Value::Array(params);
        }
        if route.path == "/api-keys" && matches!(route.shape.reply, Reply::List(_)) {
            use crate::domain::key_list::{HintFilter, KeySort, SEARCH_MAX, StatusFilter};
            // An empty value means "no filter", as the dashboard's form sends it.
            let choices =
                |values: Vec<&'static str>| std::iter::once("").chain(values).collect::<Vec<_>>();
            let mut params = op["parameters"].as_array().cloned().unwrap_or_default();
            params.extend([
                json!({"name": "q", "in": "query", "schema": {"type": "string", "maxLength": SEARCH_MAX},
                    "description": "Search: part of the name (any case), the environment label, the first or last four characters of the key, a masked key as shown (`sk_live_AbCd…wxYz`) or its start. A whole secret key is refused (422), never searched for."}),
                json!({"name": "status", "in": "query", "schema": {"type": "string", "enum": choices(StatusFilter::ALL.iter().map(|s| s.1).collect())}, "description": "Only keys with this status (empty: any)."}),
                json!({"name": "hint", "in": "query", "schema": {"type": "string", "enum": choices(HintFilter::ALL.iter().map(|s| s.1).collect())},
                    "description": "Only keys with this hygiene finding: `attention` (any that needs it), `old` (created more than 90 days ago), `unused` (no request for 30 days), `no-expiry`, `admin`."}),
                json!({"name": "creator", "in": "query", "schema": {"type": "string", "pattern": "^(|api|usr_[0-9A-Za-z]{20})$"}, "description": "Only keys made by this person (`usr_…`), or through the API (`api`); empty: anyone."}),
                json!({"name": "sort", "in": "query", "schema": {"type": "string", "enum": choices(KeySort::ALL.iter().map(|s| s.1).collect()), "default": "newest"},
                    "description": "The order; ties are broken by id, so pages never skip or repeat a key. `starting_after` continues in the same order."}),
            ]);
            op["parameters"] = Value::Array(params);
        }
        if route.path == "/webhook-endpoints/{id}/deliveries" {
            let mut params = op["parameters"].as_array().cloned().unwrap_or_default();
            let statuses: Vec<&str> = std::iter::once("")
                .chain(crate::models::webhook::DELIVERY_STATUSES)
                .collect();
            params.extend([
                json!({"name": "status", "in": "query", "schema": {"type": "string", "enum": statuses}, "description": "Only deliveries in this state (empty: any)."}),
                json!({"name": "event_type", "in": "query", "schema": {"anyOf": [webhook_event_type(), {"const": ""}]}, "description": "Only deliveries of this event type (empty: any)."}),
            ]);
            op["parameters"] = Value::Array(params);
        }
        if route.path == "/audit-events" {
            let mut params = op["parameters"].as_array().cloned().unwrap_or_default();
            let date = json!({"type": "string", "format": "date"});
            params.extend([
                json!({"name": "action", "in": "query", "schema": {"type": "string", "enum": crate::domain::audit::AuditAction::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>()}, "description": "Only events of this action."}),
                json!({"name": "actor", "in": "query", "schema": {"type": "string", "maxLength": crate::domain::audit::MATCH_MAX}, "description": "Only events by this user or key (`usr_…`, `key_…`), or by actors whose name contains these words (any case)."}),
                json!({"name": "key", "in": "query", "schema": {"type": "string", "maxLength": crate::domain::audit::MATCH_MAX}, "description": "Only events about this key (`key_…`), about keys whose name contains these words (any case, every rotation and deleted keys too), or about the key with these last four characters."}),
                json!({"name": "from", "in": "query", "schema": date, "description": "From 00:00 UTC of this date."}),
                json!({"name": "to", "in": "query", "schema": date, "description": "Up to the end (UTC) of this date."}),
            ]);
            op["parameters"] = Value::Array(params);
            op["description"] = json!(
                "Requires the `admin` scope and a live key: a test-mode key gets 403 INSUFFICIENT_PERMISSIONS. Filters combine; malformed ones are answered 422 with a message per field."
            );
        }
        if let Some(req) = request {
            op["requestBody"] = req;
        }
        let entry = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        entry[route.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Chatbot Platform API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Authenticate with `Authorization: Bearer <API key>`. Errors use one envelope: {\"error\":{\"code\",\"message\"}}. Live and test keys see separate data."
        },
        "servers": [{"url": format!("{server}/v1")}],
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "description": "sk_live_… or sk_test_… keys from Team settings → API keys."}},
            "schemas": schemas()
        },
        "paths": paths
    })
}

/// GET /v1/openapi.json
pub async fn serve(state: actix_web::web::Data<crate::state::AppState>) -> HttpResponse {
    HttpResponse::Ok().json(document(&state.config.public_url))
}

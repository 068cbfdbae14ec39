//! `Authorization: Bearer <key>` → an authorized principal, in the documented order:
//! strict header parse → format + checksum (no DB) → SHA-256 → cache or one indexed lookup → revoked /
//! retired / expired → IP allowlist → team suspended → scope → rate limit → usage noted in memory → handler.
//! The required scope is part of the handler's signature (`Authorized<need::BotsWrite>`), so
//! a route cannot forget it and the route table can be checked against it.

use std::marker::PhantomData;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::future::{Either, LocalBoxFuture, Ready, ready};

use super::error::ApiError;
use crate::domain::api_key_secret::KeyDigest;
use crate::domain::ids::ApiKeyId;
use crate::domain::scope::{Scope, ScopeSet};
use crate::domain::tenant::Tenant;
use crate::keycheck::key_cache::{Cached, Entry};
use crate::keycheck::ratelimit::RateDecision;
use crate::keycheck::shared_limits::SharedLimits;
use crate::models::api_key::{ApiKey, KeyLookup, KeyStatus};
use crate::models::usage::Outcome;
use crate::net::client_ip;
use crate::probes::Kind;
use crate::state::AppState;

/// Longest `Authorization` token accepted.
pub const MAX_TOKEN_LEN: usize = 255;

/// What a route requires of the key.
pub trait Requirement {
    /// The scope, or `None` for "any valid key" (`/v1/me`).
    const SCOPE: Option<Scope>;
}

/// Scope markers for handler signatures.
pub mod need {
    use super::{Requirement, Scope};

    macro_rules! marker {
        ($($(#[$doc:meta])* $name:ident => $scope:expr),* $(,)?) => {$(
            $(#[$doc])*
            pub struct $name;
            impl Requirement for $name {
                const SCOPE: Option<Scope> = $scope;
            }
        )*};
    }

    marker! {
        /// Any valid key.
        AnyKey => None,
        /// `bots:read`.
        BotsRead => Some(Scope::BotsRead),
        /// `bots:write`.
        BotsWrite => Some(Scope::BotsWrite),
        /// `integrations:read`.
        IntegrationsRead => Some(Scope::IntegrationsRead),
        /// `integrations:write`.
        IntegrationsWrite => Some(Scope::IntegrationsWrite),
        /// `channels:read`.
        ChannelsRead => Some(Scope::ChannelsRead),
        /// `channels:write`.
        ChannelsWrite => Some(Scope::ChannelsWrite),
        /// `conversations:read`.
        ConversationsRead => Some(Scope::ConversationsRead),
        /// `conversations:write`.
        ConversationsWrite => Some(Scope::ConversationsWrite),
        /// `agent-loops:read`.
        AgentLoopsRead => Some(Scope::AgentLoopsRead),
        /// `agent-loops:write`.
        AgentLoopsWrite => Some(Scope::AgentLoopsWrite),
        /// `admin`.
        Admin => Some(Scope::Admin),
    }
}

/// An authenticated key.
#[derive(Debug)]
pub struct Principal {
    /// The key's record, team essentials and tally (shared with the key cache).
    pub entry: Cached,
    /// The caller's address (as audit events record it).
    pub ip: Option<std::net::IpAddr>,
}

impl Principal {
    /// Whose data it reaches.
    pub fn tenant(&self) -> &Tenant {
        &self.entry.tenant
    }

    /// Granted scopes.
    pub fn scopes(&self) -> ScopeSet {
        self.entry.gate.scopes
    }

    /// The key's record and its team's essentials.
    pub fn lookup(&self) -> &KeyLookup {
        &self.entry.lookup
    }

    /// The key's record.
    pub fn key(&self) -> &ApiKey {
        &self.entry.lookup.key
    }

    /// Typed key id.
    pub fn key_id(&self) -> ApiKeyId {
        self.key().key_id()
    }

    /// The key as the actor of a change made now.
    pub fn actor(&self, now: i64) -> crate::domain::audit::Actor {
        crate::domain::audit::Actor {
            who: crate::domain::audit::Who::Key {
                id: self.key_id(),
                name: self.key().name.clone(),
            },
            ip: self.ip.map(|ip| ip.to_string()),
            at: now,
        }
    }
}

/// A principal whose key has the scope `R` requires.
pub struct Authorized<R: Requirement> {
    /// The key.
    pub principal: Principal,
    _requirement: PhantomData<R>,
}

impl<R: Requirement> std::ops::Deref for Authorized<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

/// The token of the one `Authorization: Bearer <token>` header, strictly: exactly one header,
/// scheme `Bearer` in any case, one or more spaces (RFC 6750's `1*SP`), a token without
/// whitespace of at most 255 chars. No header at all is [`ApiError::MissingApiKey`].
pub fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let value = values.next().ok_or(ApiError::MissingApiKey)?;
    if values.next().is_some() {
        return Err(ApiError::InvalidApiKey);
    }
    let value = value.to_str().map_err(|_| ApiError::InvalidApiKey)?;
    parse_bearer(value).ok_or(ApiError::InvalidApiKey)
}

/// The token of one `Authorization` value: `Bearer` in any case, one or more spaces, then a
/// non-empty token of at most [`MAX_TOKEN_LEN`] bytes without whitespace or control bytes.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    let valid = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && !token
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
    valid.then_some(token)
}

/// The digest of the presented key, once its header, format and checksum passed: typos and
/// garbage never reach the cache or the database, and no copy of the key outlives this call.
///
/// The same header rules as [`bearer_token`], in one pass fewer over the key: a token with
/// whitespace, control or non-ASCII bytes, or longer than a key, fails the key's own format,
/// which admits only `[a-z0-9_]` and base62 (and answers with the same 401).
pub fn presented_digest(req: &HttpRequest) -> Result<KeyDigest, ApiError> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let value = values.next().ok_or(ApiError::MissingApiKey)?;
    if values.next().is_some() {
        return Err(ApiError::InvalidApiKey);
    }
    let token = bearer_bytes(value.as_bytes()).ok_or(ApiError::InvalidApiKey)?;
    let token = std::str::from_utf8(token).map_err(|_| ApiError::InvalidApiKey)?;
    KeyDigest::of_presented(token).map_err(|_| ApiError::InvalidApiKey)
}

/// The token of an `Authorization` value as bytes: `Bearer` in any case, one or more spaces,
/// the rest (checked by the key's format).
fn bearer_bytes(value: &[u8]) -> Option<&[u8]> {
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, token) = value.split_at(space);
    let start = token.iter().position(|&b| b != b' ')?;
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then_some(&token[start..])
}

/// A key that passed every check before the rate limit.
struct Admitted {
    entry: Cached,
    ip: Option<std::net::IpAddr>,
    limit: i64,
}

/// The checks after the lookup, in the documented order: status → IP allowlist → suspended
/// team → scope (the rate limit comes next, in [`limit_here`] or [`limit_shared`]).
fn admit<R: Requirement>(
    state: &AppState,
    req: &HttpRequest,
    entry: Cached,
    now: i64,
) -> Result<Admitted, ApiError> {
    let gate = &entry.gate;
    let ip = client_ip(req, &state.config.trusted_proxies);
    // Refusals of a key that still exists are counted like its accepted requests (in memory,
    // flushed with them): the key page charts them by outcome.
    let refuse = |outcome: Outcome, error: ApiError| {
        entry.tally.refuse(outcome, ip, now);
        Err(error)
    };
    match gate.times.status(now) {
        KeyStatus::Revoked | KeyStatus::Leaked => return Err(ApiError::InvalidApiKey),
        KeyStatus::Expired => return refuse(Outcome::Expired, ApiError::ApiKeyExpired),
        KeyStatus::Active | KeyStatus::ExpiringSoon | KeyStatus::Retiring => {}
    }
    if !gate.anywhere && !entry.lookup.key.ip_allowlist.allows(ip) {
        return refuse(Outcome::Address, ApiError::IpNotAllowed);
    }
    if gate.team_suspended {
        return Err(ApiError::AccountSuspended);
    }
    if let Some(required) = R::SCOPE
        && !gate.scopes.grants(required)
    {
        return refuse(Outcome::Scope, ApiError::InsufficientPermissions(required));
    }
    let limit = gate.limit;
    Ok(Admitted { entry, ip, limit })
}

/// A rate-limit decision and who counted it (`redis` for every node, `node` for this one).
type Counted = (RateDecision, &'static str);

/// The rate limit counted by this node (no Redis, or Redis unavailable), and the request
/// noted in the key's usage, admitted or refused.
fn limit_here(admitted: &Admitted, now: i64) -> Counted {
    let decision = admitted.entry.tally.limit(admitted.limit, admitted.ip, now);
    (decision, "node")
}

/// The rate limit counted across every node in Redis (this node's own count when Redis
/// fails or is slow), and the request noted in the key's usage.
async fn limit_shared(shared: &SharedLimits, admitted: &Admitted, now: i64) -> Counted {
    match shared
        .check(&admitted.entry.lookup.key.id, admitted.limit)
        .await
    {
        Some(decision) => {
            let tally = &admitted.entry.tally;
            if decision.allowed {
                tally.record(admitted.ip, now);
            } else {
                tally.refuse(Outcome::RateLimit, admitted.ip, now);
            }
            (decision, "redis")
        }
        None => limit_here(admitted, now),
    }
}

/// After the rate limit (which noted the request): its headers, a 429 over it, else the
/// principal.
fn finish<R: Requirement>(
    state: &AppState,
    req: &HttpRequest,
    admitted: Admitted,
    (decision, counted): Counted,
    now: i64,
) -> Result<Authorized<R>, ApiError> {
    req.extensions_mut().insert(decision);
    if !decision.allowed {
        state
            .metrics
            .rate_limited
            .with_label_values(&[counted])
            .inc();
        return Err(ApiError::RateLimited {
            // Redis's clock may differ a little from ours: always ask for at least a second.
            retry_after: (decision.reset_at - now).max(1),
        });
    }
    let Admitted { entry, ip, .. } = admitted;
    Ok(Authorized {
        principal: Principal { entry, ip },
        _requirement: PhantomData,
    })
}

/// Every check after the lookup, awaiting Redis for the rate limit when it is configured.
async fn authorize<R: Requirement>(
    state: &AppState,
    req: &HttpRequest,
    entry: Cached,
    now: i64,
) -> Result<Authorized<R>, ApiError> {
    let admitted = admit::<R>(state, req, entry, now)?;
    let decision = match &state.shared_limits {
        Some(shared) => limit_shared(shared, &admitted, now).await,
        None => limit_here(&admitted, now),
    };
    finish(state, req, admitted, decision, now)
}

impl<R: Requirement + 'static> FromRequest for Authorized<R> {
    type Error = ApiError;
    // A cache hit without Redis is decided without awaiting anything: no boxed future on the
    // hot path.
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return Either::Left(ready(Err(ApiError::ServiceUnavailable(
                "state missing".into(),
            ))));
        };
        let now = state.clock.now();
        // No brake before the lookup: a braked address (a NAT, a cloud egress shared with an
        // attacker) still gets in with a valid key; only its invalid ones are refused.
        let digest = match presented_digest(req) {
            Ok(digest) => digest,
            Err(e) => return Either::Left(ready(noted(state, req, now, Err(e)))),
        };
        let hit = state.key_cache.get(&digest);
        state.metrics.cache_lookup(hit.is_some());
        if let Some(hit) = &hit
            && state.shared_limits.is_none()
        {
            let authorized = admit::<R>(state, req, hit.clone(), now).and_then(|admitted| {
                let decision = limit_here(&admitted, now);
                finish(state, req, admitted, decision, now)
            });
            return Either::Left(ready(noted(state, req, now, authorized)));
        }
        let (state, req) = (state.clone(), req.clone());
        Either::Right(Box::pin(async move {
            let entry = match hit {
                Some(hit) => hit,
                None => {
                    let generation = state.key_cache.generation();
                    let found = crate::keycheck::lookup::find(&state.pool, digest).await?;
                    let Some(found) = found else {
                        return noted(&state, &req, now, Err(ApiError::InvalidApiKey));
                    };
                    let tally = state.key_tallies.of(&found.key.id);
                    let entry = std::sync::Arc::new(Entry::new(found, tally));
                    state.key_cache.insert(digest, entry.clone(), generation);
                    entry
                }
            };
            let authorized = authorize(&state, &req, entry, now).await;
            noted(&state, &req, now, authorized)
        }))
    }
}

/// Counts a presented key that was not valid against the caller's address (the brake on
/// guessing), and answers a braked address's invalid key with 429 instead of 401; other
/// outcomes, valid keys from a braked address included, pass through untouched.
fn noted<T>(
    state: &AppState,
    req: &HttpRequest,
    now: i64,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    let result = match result {
        Err(ApiError::InvalidApiKey) => {
            let ip = client_ip(req, &state.config.trusted_proxies);
            let shared = state.shared_limits.as_ref();
            match state.probes.fail(Kind::ApiKeys, shared, ip, now) {
                Some(wait) => Err(ApiError::TooManyFailures { retry_after: wait }),
                None => Err(ApiError::InvalidApiKey),
            }
        }
        other => other,
    };
    let outcome = match &result {
        Ok(_) => "accepted",
        Err(ApiError::InvalidApiKey) => "invalid",
        Err(ApiError::TooManyFailures { .. }) => "braked",
        Err(ApiError::MissingApiKey) => "missing",
        Err(ApiError::ApiKeyExpired) => "expired",
        Err(ApiError::IpNotAllowed) => "ip_not_allowed",
        Err(ApiError::AccountSuspended) => "suspended",
        Err(ApiError::InsufficientPermissions(_)) => "insufficient_scope",
        Err(ApiError::RateLimited { .. }) => "rate_limited",
        Err(_) => "unavailable",
    };
    state.metrics.key_check(outcome);
    result
}

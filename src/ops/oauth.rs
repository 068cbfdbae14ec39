//! OAuth 2.0 connections of integrations: access tokens obtained and renewed by Latchkey, so a
//! connection stays up without anyone pasting tokens. The `oauth2` crate speaks the protocol;
//! every request it makes goes through the guarded outbound client.
//!
//! **One renewal at a time, everywhere.** Providers that rotate refresh tokens treat a reused
//! one as stolen and revoke the whole grant, so two concurrent renewals can disconnect an
//! integration for good. Within a node, renewals of one integration take turns
//! (`AppState::oauth_renewals`); across nodes on PostgreSQL, the renewal holds the integration's
//! row lock while it asks the provider, and stores the new tokens (a rotated refresh token
//! too) in that same transaction. Whoever waited then finds the credential version moved on and
//! uses the tokens the winner stored, without asking the provider again.

use std::future::Future;
use std::pin::Pin;

use base64::Engine;
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, HttpRequest, HttpResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use url::Url;

use super::record;
use crate::db::{DbConnection, with_read, with_write, write_tx};
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target, Who};
use crate::domain::integration::oauth::{GrantType, Secrets, Status};
use crate::domain::integration::{ClientAuth, Credential};
use crate::error::AppError;
use crate::models::integration::Integration;
use crate::models::oauth_connection::{OAuthConnection, Renewed};
use crate::outbound::{self, Outbound, OutboundError};
use crate::state::AppState;

/// The most of a token endpoint's answer read (tokens are a few kilobytes at most).
const TOKEN_ANSWER_MAX: usize = 64 * 1024;

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The connection is not up: waiting for consent, or refused by the provider earlier.
    #[error("the OAuth connection is {}", .0.slug())]
    NotConnected(Status),
    /// The provider refused the grant now (`invalid_grant`, a removed app): the connection
    /// needs reconnecting (recorded, audited and announced once).
    #[error("the provider refused the grant: {0}")]
    Refused(String),
    /// The provider could not be reached or answered something unusable (try again later).
    #[error("the provider's token endpoint failed: {0}")]
    Unavailable(String),
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

impl TokenError {
    /// What a person reads when an OAuth connection gives no access token.
    pub fn for_people(&self) -> String {
        match self {
            TokenError::NotConnected(Status::Pending) => {
                "This integration is not connected yet: connect it first.".into()
            }
            TokenError::NotConnected(_) | TokenError::Refused(_) => {
                "This integration's OAuth connection needs reconnecting: its provider refused the \
                 grant. Reconnect it in the dashboard."
                    .into()
            }
            TokenError::Unavailable(why) => {
                format!("The provider's token endpoint did not give an access token: {why}")
            }
            TokenError::Failed(_) => {
                "Latchkey could not read this integration's connection.".into()
            }
        }
    }
}

/// The `oauth2` crate's HTTP client: the guarded outbound client (https only unless the
/// operator allowlisted the address, no private addresses, no redirects, timeouts).
struct Guarded<'a>(&'a Outbound);

impl<'c> AsyncHttpClient<'c> for Guarded<'_> {
    type Error = OutboundError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, OutboundError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = Url::parse(&parts.uri.to_string()).map_err(|_| OutboundError::Scheme)?;
            let answer = self
                .0
                .send(outbound::Request {
                    method: parts.method,
                    url,
                    headers: parts.headers,
                    body,
                    response_cap: TOKEN_ANSWER_MAX,
                })
                .await?;
            let mut response = oauth2::http::Response::builder().status(answer.status);
            for (name, value) in &answer.headers {
                response = response.header(name.as_str(), value.as_str());
            }
            response
                .body(answer.body)
                .map_err(|_| OutboundError::Protocol)
        })
    }
}

/// What a token endpoint answers besides RFC 6749's fields: an OpenID Connect ID token, read at
/// a consent for "Connected as …" (never stored, never shown).
#[derive(Clone, Default, Deserialize, Serialize)]
struct IdToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl std::fmt::Debug for IdToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdToken([redacted])")
    }
}

impl ExtraTokenFields for IdToken {}

/// A token endpoint's answer.
type Tokens = StandardTokenResponse<IdToken, BasicTokenType>;

/// A client for a token endpoint, answering [`Tokens`].
type Client<HasTokenUrl = EndpointNotSet> = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
>;

type TokenClient = Client<EndpointSet>;

fn token_client(conn: &OAuthConnection, secrets: &Secrets) -> Result<TokenClient, TokenError> {
    let token_url = TokenUrl::new(conn.token_url.clone())
        .map_err(|_| AppError::Internal("stored token URL does not parse".into()))?;
    let auth = match conn.client_auth() {
        ClientAuth::Basic => AuthType::BasicAuth,
        ClientAuth::Post => AuthType::RequestBody,
    };
    Ok(Client::new(ClientId::new(conn.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            secrets.client_secret.expose_secret().to_owned(),
        ))
        .set_auth_type(auth)
        .set_token_uri(token_url))
}

/// Who consented, as an ID token that came with the tokens names them: its e-mail address,
/// else the preferred user name, the name, or the subject. The token came straight from the
/// token endpoint over TLS, which OpenID Connect Core §3.1.3.7 accepts in place of checking its
/// signature; it only labels the connection on the page.
fn account_of(tokens: &Tokens) -> Option<String> {
    let jwt = tokens.extra_fields().id_token.as_deref()?;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    ["email", "preferred_username", "name", "sub"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(serde_json::Value::as_str))
        .map(one_line)
        .filter(|a| !a.is_empty())
}

/// What a token endpoint answered, or why not.
fn answer<RE: std::error::Error + 'static>(
    result: Result<Tokens, RequestTokenError<RE, BasicErrorResponse>>,
) -> Result<Tokens, TokenError> {
    match result {
        Ok(tokens) => Ok(tokens),
        Err(RequestTokenError::ServerResponse(e)) => match e.error() {
            // The grant is gone (RFC 6749 §5.2): only a person can connect it again.
            BasicErrorResponseType::InvalidGrant
            | BasicErrorResponseType::InvalidClient
            | BasicErrorResponseType::UnauthorizedClient => Err(TokenError::Refused(format!(
                "{}{}",
                e.error().as_ref(),
                e.error_description()
                    .map(|d| format!(": {}", one_line(d)))
                    .unwrap_or_default()
            ))),
            other => Err(TokenError::Unavailable(other.as_ref().to_owned())),
        },
        Err(RequestTokenError::Request(e)) => Err(TokenError::Unavailable(e.to_string())),
        Err(RequestTokenError::Parse(..)) => Err(TokenError::Unavailable(
            "the answer was not a token response".into(),
        )),
        Err(RequestTokenError::Other(e)) => Err(TokenError::Unavailable(one_line(&e))),
    }
}

/// A provider's text, on one short line.
fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(200).collect()
}

/// Asks the provider for new tokens: by the refresh token when there is one, else (client
/// credentials) by the client's own id and secret.
async fn request_tokens(
    outbound: &Outbound,
    conn: &OAuthConnection,
    secrets: &Secrets,
) -> Result<Tokens, TokenError> {
    let client = token_client(conn, secrets)?;
    let http = Guarded(outbound);
    let scopes = conn
        .scopes
        .split_whitespace()
        .map(|s| Scope::new(s.to_owned()));
    match (conn.grant(), &secrets.refresh_token) {
        (_, Some(refresh)) => {
            let refresh = RefreshToken::new(refresh.expose_secret().to_owned());
            answer(
                client
                    .exchange_refresh_token(&refresh)
                    .request_async(&http)
                    .await,
            )
        }
        (GrantType::ClientCredentials, None) => {
            let mut request = client.exchange_client_credentials().add_scopes(scopes);
            if let Some(audience) = &conn.audience {
                request = request.add_extra_param("audience", audience.clone());
            }
            answer(request.request_async(&http).await)
        }
        (GrantType::AuthorizationCode, None) => Err(TokenError::NotConnected(Status::Pending)),
    }
}

/// The secrets sealed in `i`'s credential.
fn secrets_of(state: &AppState, i: &Integration) -> Result<Secrets, TokenError> {
    match super::sealed_credential::open(&state.vault, i)? {
        Credential::OAuth(secrets) => Ok(secrets),
        _ => Err(AppError::Internal("integration has no OAuth connection".into()).into()),
    }
}

/// Seals `secrets` as `i`'s credential at `version`.
fn seal(
    state: &AppState,
    i: &Integration,
    version: i64,
    secrets: Secrets,
) -> Result<String, AppError> {
    super::sealed_credential::seal(
        &state.vault,
        &i.team_id,
        &i.id,
        version,
        &Credential::OAuth(secrets),
    )
}

/// The secrets after a token answer: a rotated refresh token replaces the old one (a provider
/// that does not rotate sends none, and the old one stays).
fn after(old: Secrets, tokens: &Tokens) -> Secrets {
    Secrets {
        client_secret: old.client_secret,
        refresh_token: tokens
            .refresh_token()
            .map(|r| SecretString::from(r.secret().to_owned()))
            .or(old.refresh_token),
        access_token: Some(SecretString::from(
            tokens.access_token().secret().to_owned(),
        )),
    }
}

fn renewed(tokens: &Tokens, now: i64) -> Renewed {
    Renewed {
        access_expires_at: tokens
            .expires_in()
            .map(|d| now + i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)),
        granted_scopes: tokens
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")),
        at: now,
    }
}

/// Records that the provider refused the grant: "needs reconnecting", with one audit event
/// (and so one `integration.disconnected` webhook event) — only on the change.
fn disconnect(
    c: &mut DbConnection,
    i: &Integration,
    reason: &str,
    at: i64,
) -> diesel::QueryResult<()> {
    if OAuthConnection::broke(c, &i.id, reason)? {
        let actor = Actor {
            who: Who::System,
            ip: None,
            at,
        };
        let change = Change::new(
            AuditAction::IntegrationDisconnected,
            Target::new("integration", i.id.clone(), i.name.clone()),
        )
        .with("reason", reason);
        record(c, &Owner::Team(i.team_id.clone()), &actor, &change)?;
    }
    Ok(())
}

/// What a renewal ends with.
enum Outcome {
    /// The access token to use (this renewal's, or the one another renewal stored meanwhile).
    Token(SecretString),
    /// The provider refused the grant (recorded).
    Refused(String),
}

/// The access token for a call through `i` now: the stored one while it is current, else a
/// renewed one. `stale`: the provider just refused the stored one (a 401), so renew it even
/// though it has not expired — unless another renewal already replaced it.
pub async fn access_token(
    state: &AppState,
    i: &Integration,
    stale: bool,
) -> Result<SecretString, TokenError> {
    let id = i.id.to_string();
    let conn = with_read(&state.pool, move |c| Ok(OAuthConnection::find(c, &id)?))
        .await?
        .ok_or_else(|| AppError::Internal("OAuth integration without its connection".into()))?;
    // Waiting for its consent, or refused: nothing to renew, no lock to take.
    if conn.status() != Status::Connected {
        return Err(TokenError::NotConnected(conn.status()));
    }
    let now = state.clock.now();
    let secrets = secrets_of(state, i)?;
    if !stale
        && let Some(token) = &secrets.access_token
        && !crate::domain::integration::oauth::due(conn.access_expires_at, now)
    {
        return Ok(SecretString::from(token.expose_secret().to_owned()));
    }
    renew(state, i.id.as_str(), i.credential_version).await
}

/// Renews the tokens of integration `id` (found idle at credential version `seen`) so that its
/// refresh token is used: the keep-alive sweep's renewal, the calls' own (once, everywhere).
pub async fn keep_alive(state: &AppState, id: &str, seen: i64) -> Result<(), TokenError> {
    renew(state, id, seen).await.map(drop)
}

/// Renews the tokens of integration `id` whose credential was at `seen` when found due —
/// once, however many callers find it due together, on however many nodes.
async fn renew(state: &AppState, id: &str, seen: i64) -> Result<SecretString, TokenError> {
    let _turn = state.oauth_renewals.lock(id).await;
    let outcome = if state.config.database_is_sqlite {
        renew_alone(state, id, seen).await?
    } else {
        renew_locked(state, id, seen).await?
    };
    match outcome {
        Outcome::Token(token) => Ok(token),
        Outcome::Refused(reason) => Err(TokenError::Refused(reason)),
    }
}

/// Whether another renewal stored new tokens since `seen`: then its access token.
fn renewed_meanwhile(
    state: &AppState,
    i: &Integration,
    conn: &OAuthConnection,
    seen: i64,
) -> Result<Option<SecretString>, TokenError> {
    if i.credential_version == seen {
        return Ok(None);
    }
    if conn.status() != Status::Connected {
        return Err(TokenError::NotConnected(conn.status()));
    }
    Ok(secrets_of(state, i)?.access_token)
}

fn load(c: &mut DbConnection, id: &str) -> Result<(Integration, OAuthConnection), AppError> {
    let i =
        Integration::by_id(c, id)?.ok_or_else(|| AppError::Internal("integration gone".into()))?;
    let conn = OAuthConnection::find(c, id)?
        .ok_or_else(|| AppError::Internal("OAuth integration without its connection".into()))?;
    Ok((i, conn))
}

/// Stores what the provider answered, in the caller's transaction: new tokens (a rotated
/// refresh token too) over the credential version the renewal started from, or the refusal.
fn record_answer(
    c: &mut DbConnection,
    state: &AppState,
    i: Integration,
    secrets: Secrets,
    answer: Result<Tokens, TokenError>,
) -> Result<Result<Outcome, TokenError>, AppError> {
    let now = state.clock.now();
    Ok(match answer {
        Ok(tokens) => {
            let token = SecretString::from(tokens.access_token().secret().to_owned());
            let sealed = seal(state, &i, i.credential_version + 1, after(secrets, &tokens))?;
            OAuthConnection::renewed(
                c,
                &i.id,
                i.credential_version,
                &sealed,
                &renewed(&tokens, now),
            )?;
            Ok(Outcome::Token(token))
        }
        Err(TokenError::Refused(reason)) => {
            disconnect(c, &i, &reason, now)?;
            Ok(Outcome::Refused(reason))
        }
        Err(e) => Err(e),
    })
}

/// SQLite: one node, so this node's turn is the only one; the provider is asked outside any
/// transaction (a write transaction would hold every writer for the request's length).
async fn renew_alone(state: &AppState, id: &str, seen: i64) -> Result<Outcome, TokenError> {
    let key = id.to_owned();
    let (i, conn) = with_read(&state.pool, move |c| load(c, &key)).await?;
    if let Some(token) = renewed_meanwhile(state, &i, &conn, seen)? {
        return Ok(Outcome::Token(token));
    }
    let secrets = secrets_of(state, &i)?;
    let answer = request_tokens(&state.outbound, &conn, &secrets).await;
    let worker = state.clone();
    with_write(&state.pool, move |c| {
        write_tx(c, |c| record_answer(c, &worker, i, secrets, answer))
    })
    .await?
}

/// PostgreSQL: the integration's row stays locked while the provider is asked, so a renewal
/// on another node waits for this one and then reads what it stored.
async fn renew_locked(state: &AppState, id: &str, seen: i64) -> Result<Outcome, TokenError> {
    let handle = tokio::runtime::Handle::current();
    let worker = state.clone();
    let key = id.to_owned();
    with_write(&state.pool, move |c| {
        write_tx(c, |c| -> Result<Result<Outcome, TokenError>, AppError> {
            OAuthConnection::lock(c, &key)?;
            let (i, conn) = load(c, &key)?;
            match renewed_meanwhile(&worker, &i, &conn, seen) {
                Ok(Some(token)) => return Ok(Ok(Outcome::Token(token))),
                Ok(None) => {}
                Err(e) => return Ok(Err(e)),
            }
            let secrets = match secrets_of(&worker, &i) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            // This thread is one of the runtime's blocking threads: waiting here holds the row
            // lock (and a pooled connection) for at most the outbound timeout.
            let answer = handle.block_on(request_tokens(&worker.outbound, &conn, &secrets));
            record_answer(c, &worker, i, secrets, answer)
        })
    })
    .await?
}

/// How long a person has to consent at the provider and come back.
pub const CONSENT_TTL: i64 = 600;

/// A consent on its way: what the callback needs. Kept in the person's server-side session
/// (never in the browser), taken out by the callback (single use).
#[derive(Debug, Serialize, Deserialize)]
pub struct Pending {
    /// The integration being connected.
    pub integration_id: String,
    /// Its team.
    pub team_id: String,
    /// The person who pressed Connect.
    pub user_id: String,
    /// The `state` sent to the provider (compared in constant time).
    pub state: String,
    /// The PKCE code verifier (its S256 challenge went to the provider).
    pub verifier: String,
    /// The callback address sent (the same one must come with the code).
    pub redirect_uri: String,
    /// When it stops being accepted.
    pub expires_at: i64,
}

/// Why a consent did not connect the integration.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// Not this person's, not this integration's, a wrong `state`, or too old.
    #[error("the consent does not match or has expired")]
    Mismatch,
    /// The person declined at the provider, or the provider answered an error (its code).
    #[error("the provider answered {0}")]
    Declined(String),
    /// The code could not be exchanged for tokens.
    #[error(transparent)]
    Token(#[from] TokenError),
}

impl From<AppError> for ConsentError {
    fn from(e: AppError) -> Self {
        Self::Token(TokenError::Failed(e))
    }
}

/// Starts a consent for authorization-code integration `i` by `user`, coming back to
/// `redirect_uri`: the provider's authorization URL (with `state` and a PKCE S256 challenge) and
/// what the callback will need.
pub async fn start_consent(
    state: &AppState,
    i: &Integration,
    user: &str,
    redirect_uri: &str,
) -> Result<Option<(url::Url, Pending)>, AppError> {
    let id = i.id.to_string();
    let Some(conn) = with_read(&state.pool, move |c| Ok(OAuthConnection::find(c, &id)?))
        .await?
        .filter(|c| c.grant() == GrantType::AuthorizationCode)
    else {
        return Ok(None);
    };
    let auth_url = conn
        .authorize_url
        .clone()
        .and_then(|u| AuthUrl::new(u).ok())
        .ok_or_else(|| AppError::Internal("stored authorization URL does not parse".into()))?;
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| AppError::Internal("callback URL does not parse".into()))?;
    let client = BasicClient::new(ClientId::new(conn.client_id.clone())).set_auth_uri(auth_url);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(CsrfToken::new_random);
    // What the provider's consent page needs to hand out a refresh token (Google, Zoho).
    for (name, value) in i.provider().oauth().map_or(&[][..], |p| p.authorize_params) {
        request = request.add_extra_param(*name, *value);
    }
    let (url, csrf) = request
        .add_scopes(
            conn.scopes
                .split_whitespace()
                .map(|s| Scope::new(s.to_owned())),
        )
        .set_pkce_challenge(challenge)
        .set_redirect_uri(std::borrow::Cow::Owned(redirect))
        .url();
    let pending = Pending {
        integration_id: i.id.to_string(),
        team_id: i.team_id.to_string(),
        user_id: user.to_owned(),
        state: csrf.secret().to_owned(),
        verifier: verifier.secret().to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        expires_at: state.clock.now() + CONSENT_TTL,
    };
    Ok(Some((url, pending)))
}

/// What the provider sent back to the callback.
#[derive(Debug, Default)]
pub struct Callback {
    /// `state`.
    pub state: String,
    /// `code`, on consent.
    pub code: Option<String>,
    /// `error`, when declined or refused.
    pub error: Option<String>,
}

/// Finishes a consent: checks it is `user`'s pending one (state, age), exchanges the code (with
/// the PKCE verifier) for tokens, and stores them — the integration is connected, audited once.
pub async fn finish_consent(
    state: &AppState,
    actor: &Actor,
    user: &str,
    pending: Pending,
    back: Callback,
) -> Result<Integration, ConsentError> {
    let same_state: bool = pending.state.as_bytes().ct_eq(back.state.as_bytes()).into();
    if !same_state || pending.user_id != user || pending.expires_at < state.clock.now() {
        return Err(ConsentError::Mismatch);
    }
    if let Some(error) = back.error {
        return Err(ConsentError::Declined(one_line(&error)));
    }
    let code = back.code.ok_or(ConsentError::Mismatch)?;
    let key = pending.integration_id.clone();
    let (i, conn) = with_read(&state.pool, move |c| load(c, &key)).await?;
    if i.team_id.as_str() != pending.team_id || conn.grant() != GrantType::AuthorizationCode {
        return Err(ConsentError::Mismatch);
    }
    let secrets = secrets_of(state, &i)?;
    let redirect = RedirectUrl::new(pending.redirect_uri.clone())
        .map_err(|_| AppError::Internal("callback URL does not parse".into()))?;
    let tokens = answer(
        token_client(&conn, &secrets)?
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .set_redirect_uri(std::borrow::Cow::Owned(redirect))
            .request_async(&Guarded(&state.outbound))
            .await,
    )?;
    let now = state.clock.now();
    let account = account_of(&tokens);
    let sealed = seal(state, &i, i.credential_version + 1, after(secrets, &tokens))?;
    let r = renewed(&tokens, now);
    let (actor, row) = (actor.clone(), i.clone());
    with_write(&state.pool, move |c| {
        write_tx(c, |c| -> Result<(), AppError> {
            OAuthConnection::consented(
                c,
                &row.id,
                row.credential_version,
                &sealed,
                &r,
                account.as_deref(),
            )?;
            let change = Change::new(
                AuditAction::IntegrationConnected,
                Target::new("integration", row.id.clone(), row.name.clone()),
            );
            record(c, &Owner::Team(row.team_id.clone()), &actor, &change)?;
            Ok(())
        })
    })
    .await?;
    Ok(i)
}

/// Revokes `i`'s grant at the provider (RFC 7009) when it has a revocation endpoint and a
/// token: the refresh token (which ends the grant), else the access token. `None`: nothing to
/// revoke; else whether the provider took it. A failure does not stop what comes next (a
/// deletion forgets the tokens anyway).
pub async fn revoke(state: &AppState, i: &Integration) -> Result<Option<bool>, AppError> {
    let id = i.id.to_string();
    let Some(conn) = with_read(&state.pool, move |c| Ok(OAuthConnection::find(c, &id)?)).await?
    else {
        return Ok(None);
    };
    let Some(url) = conn
        .revoke_url
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
    else {
        return Ok(None);
    };
    let Ok(secrets) = secrets_of(state, i) else {
        return Ok(Some(false));
    };
    let (token, hint) = match (&secrets.refresh_token, &secrets.access_token) {
        (Some(r), _) => (r, "refresh_token"),
        (None, Some(a)) => (a, "access_token"),
        (None, None) => return Ok(None),
    };
    // Sent by hand rather than by the oauth2 crate, which refuses any http:// revocation
    // endpoint — also one the operator allowlisted for an internal provider; the guarded client
    // applies the same https rule otherwise.
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token.expose_secret())
        .append_pair("token_type_hint", hint)
        .finish();
    let pair = zeroize::Zeroizing::new(format!(
        "{}:{}",
        form_encode(&conn.client_id),
        form_encode(secrets.client_secret.expose_secret())
    ));
    let mut headers = reqwest::header::HeaderMap::new();
    let mut auth = reqwest::header::HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
    ))
    .map_err(|_| AppError::Internal("client credentials are not a header value".into()))?;
    auth.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, auth);
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let answer = state
        .outbound
        .send(outbound::Request {
            method: reqwest::Method::POST,
            url,
            headers,
            body: body.into_bytes(),
            response_cap: TOKEN_ANSWER_MAX,
        })
        .await;
    // RFC 7009: 200 whether or not the token was still valid.
    let revoked = answer.is_ok_and(|a| a.status == 200);
    Ok(Some(revoked))
}

/// Disconnects `i`, a connection a person consented to (connected, or needing reconnecting): its
/// grant is revoked at the provider where it can be, then its tokens are forgotten — the
/// integration stays, waiting for a Connect. One audit event (and `integration.disconnected`
/// webhook event). `None`: `i` has no such connection; else what [`revoke`] said.
pub async fn forget(
    state: &AppState,
    actor: &Actor,
    i: &Integration,
) -> Result<Option<Option<bool>>, AppError> {
    let key = i.id.to_string();
    let (i, conn) = with_read(&state.pool, move |c| load(c, &key)).await?;
    if !conn.disconnectable() {
        return Ok(None);
    }
    // No renewal of this node runs meanwhile (nor, on PostgreSQL, of another: the row lock
    // below waits for one in flight, and a later one finds the connection pending).
    let _turn = state.oauth_renewals.lock(i.id.as_str()).await;
    let revoked = revoke(state, &i).await?;
    let (worker, actor) = (state.clone(), actor.clone());
    let key = i.id.to_string();
    with_write(&state.pool, move |c| {
        write_tx(c, |c| -> Result<Option<Option<bool>>, AppError> {
            OAuthConnection::lock(c, &key)?;
            let (i, conn) = load(c, &key)?;
            if !conn.disconnectable() {
                return Ok(None);
            }
            let secrets = match secrets_of(&worker, &i) {
                Ok(s) => s,
                Err(TokenError::Failed(e)) => return Err(e),
                Err(e) => return Err(AppError::Internal(e.to_string())),
            };
            let kept = Secrets {
                client_secret: secrets.client_secret,
                refresh_token: None,
                access_token: None,
            };
            let sealed = seal(&worker, &i, i.credential_version + 1, kept)?;
            if !OAuthConnection::forgotten(c, &i.id, i.credential_version, &sealed)? {
                return Err(AppError::Internal("connection changed while locked".into()));
            }
            let change = Change::new(
                AuditAction::IntegrationDisconnected,
                Target::new("integration", i.id.clone(), i.name.clone()),
            )
            .with("revoked_at_provider", revoked);
            record(c, &Owner::Team(i.team_id.clone()), &actor, &change)?;
            Ok(Some(revoked))
        })
    })
    .await
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before basic auth.
fn form_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

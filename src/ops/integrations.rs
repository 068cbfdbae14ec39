//! Integrations: a team's connections to third-party APIs, with their credentials sealed in
//! the vault. The changes (create, edit or replace the credential, delete, test the
//! connection) are operations with their audit and outbox events; [`call`] — a bot flow's
//! request through an integration — is not a change: it writes nothing on its way (its usage
//! is counted in memory and flushed in batches, like a key's).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::oauth::TokenError;
use super::sealed_credential;
use super::{Abort, record, transact};
use crate::db::DbConnection;
use crate::db::with_read;
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target};
use crate::domain::ids::{IntegrationId, TeamId};
use crate::domain::integration::{self, Credential, Draft, Placement, oauth};
use crate::domain::limits;
use crate::domain::tenant::Tenant;
use crate::error::AppError;
use crate::models::integration::{Integration, TestOutcome};
use crate::models::oauth_connection::OAuthConnection;
use crate::outbound::{self, OutboundError};
use crate::state::AppState;
use crate::vault::Keyring;

/// A change to an integration: `None` keeps what is there.
#[derive(Debug, Default)]
pub struct Edit {
    /// New name.
    pub name: Option<String>,
    /// New base URL.
    pub base_url: Option<Url>,
    /// New placement.
    pub placement: Option<Placement>,
    /// New check path.
    pub check_path: Option<String>,
    /// A replacement credential.
    pub credential: Option<Credential>,
}

/// Why an integration change was refused.
#[derive(Debug)]
pub enum IntegrationError {
    /// Field problems (field name, message); nothing was written.
    Invalid(Vec<(String, String)>),
    /// No such integration in this team (or mode).
    NotFound,
    /// Something below failed.
    Failed(AppError),
}

impl From<AppError> for IntegrationError {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

fn invalid(field: &str, message: impl Into<String>) -> IntegrationError {
    IntegrationError::Invalid(vec![(field.to_owned(), message.into())])
}

/// The message for a base URL the outbound policy refuses.
fn base_url_refusal(e: &OutboundError) -> String {
    match e {
        OutboundError::Scheme => crate::domain::integration::SCHEME_MESSAGE.to_owned(),
        OutboundError::Blocked(_) => "This host is a private or reserved address; Latchkey \
                                      only calls public addresses unless the operator \
                                      allowlists the range."
            .to_owned(),
        OutboundError::Unresolved(host) => {
            format!("{host} does not resolve; http:// only reaches allowlisted addresses.")
        }
        other => other.to_string(),
    }
}

/// The base URL, if the outbound policy lets Latchkey call it.
async fn vet_base_url(state: &AppState, url: &Url) -> Result<(), IntegrationError> {
    state
        .outbound
        .vet(url)
        .await
        .map_err(|e| invalid("base_url", base_url_refusal(&e)))
}

/// An OAuth endpoint, if the outbound policy lets Latchkey call it.
async fn vet_oauth_url(state: &AppState, url: &Url) -> Result<(), IntegrationError> {
    state.outbound.vet(url).await.map_err(|e| {
        let field = "oauth.token_url";
        invalid(field, base_url_refusal(&e))
    })
}

fn check_path_ok(base: &Url, path: &str) -> Result<(), IntegrationError> {
    match integration::join(base, path, &[]) {
        Some(_) => Ok(()),
        None => Err(invalid(
            "check_path",
            "Enter a path under the base URL that starts with / (no .. segments).",
        )),
    }
}

fn fits(placement: &Placement, credential: &Credential) -> Result<(), IntegrationError> {
    if credential.fits(placement) {
        Ok(())
    } else if *placement == Placement::Basic {
        Err(invalid(
            "credential",
            "Enter both the username and the password.",
        ))
    } else {
        Err(invalid("credential", "Enter the token."))
    }
}

/// Seals `credential` for integration `id` of `team` at `version`; returns (sealed, fingerprint).
fn seal(
    vault: &Keyring,
    team: &str,
    id: &str,
    version: i64,
    credential: &Credential,
) -> Result<(String, String), AppError> {
    let sealed = sealed_credential::seal(vault, team, id, version, credential)?;
    Ok((sealed, vault.fingerprint(team, &credential.to_plaintext())))
}

/// A base URL as stored and shown: without the trailing slash a bare host gets.
fn stored_url(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

fn target(i: &Integration) -> Target {
    Target::new("integration", i.id.clone(), i.name.clone())
}

/// What a new integration authenticates with.
#[derive(Debug)]
pub enum Secret {
    /// A credential as entered (token, or username and password).
    Static(Credential),
    /// An OAuth 2.0 connection: its settings and the client secret of the app registered at
    /// the provider.
    OAuth(Box<oauth::Settings>, SecretString),
}

/// Creates an integration of `tenant` with its credential sealed (for an OAuth connection, its
/// client secret; the tokens come later).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    tenant: &Tenant,
    settings: Draft,
    secret: Secret,
) -> Result<Integration, IntegrationError> {
    let (credential, connection) = match secret {
        Secret::Static(_) if !settings.provider.takes_static() => {
            return Err(invalid(
                "credential",
                format!(
                    "{} connects with OAuth 2.0 (its access tokens expire within the hour): set \
                     up the OAuth connection instead of pasting a credential.",
                    settings.provider.label()
                ),
            ));
        }
        Secret::Static(credential) => (credential, None),
        Secret::OAuth(oauth, client_secret) => {
            for url in [
                Some(&oauth.token_url),
                oauth.authorize_url.as_ref(),
                oauth.revoke_url.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                vet_oauth_url(state, url).await?;
            }
            let credential = Credential::OAuth(oauth::Secrets {
                client_secret,
                refresh_token: None,
                access_token: None,
            });
            (credential, Some(oauth))
        }
    };
    fits(&settings.placement, &credential)?;
    check_path_ok(&settings.base_url, &settings.check_path)?;
    vet_base_url(state, &settings.base_url).await?;
    let id = IntegrationId::generate();
    let team = tenant.team.to_string();
    let (sealed, fingerprint) = seal(&state.vault, &team, &id, 1, &credential)?;
    drop(credential);
    let now = actor.at;
    let row = Integration {
        id,
        team_id: tenant.team.clone(),
        mode: tenant.mode.as_str().to_owned(),
        provider: settings.provider.slug().to_owned(),
        name: settings.name,
        base_url: stored_url(&settings.base_url),
        created_at: now,
        updated_at: now,
        auth_type: settings.placement.kind().to_owned(),
        auth_name: settings.placement.name().map(str::to_owned),
        auth_prefix: settings.placement.prefix().to_owned(),
        check_path: settings.check_path,
        credential: Some(sealed),
        credential_version: 1,
        credential_fingerprint: Some(fingerprint),
        credential_updated_at: Some(now),
        credential_updated_by: Some(actor.who.label().to_owned()),
        created_by: actor.who.user().cloned(),
        last_used_at: None,
        test_at: None,
        test_ok: None,
        test_status: None,
        test_latency_ms: None,
        test_summary: None,
    };
    let (actor, owner) = (actor.clone(), Owner::Team(tenant.team.clone()));
    transact(state, move |c| {
        if Integration::count_for_team(c, &row.team_id)? >= limits::INTEGRATIONS_MAX {
            return Err(Abort::Refused(invalid(
                "name",
                format!(
                    "A team can have at most {} integrations.",
                    limits::INTEGRATIONS_MAX
                ),
            )));
        }
        Integration::insert(c, &row)?;
        let mut change = Change::new(AuditAction::IntegrationCreated, target(&row))
            .with("provider", row.provider.clone())
            .with("mode", row.mode.clone())
            .with("credential_fingerprint", row.credential_fingerprint.clone());
        if let Some(oauth) = &connection {
            // Client credentials get tokens by themselves; a consent waits for its person.
            let status = match oauth.grant {
                oauth::GrantType::ClientCredentials => oauth::Status::Connected,
                oauth::GrantType::AuthorizationCode => oauth::Status::Pending,
            };
            OAuthConnection::insert(c, &OAuthConnection::new(&row.id, oauth, status))?;
            change = change.with("oauth_grant_type", oauth.grant.slug());
        }
        record(c, &owner, &actor, &change)?;
        Ok(row)
    })
    .await
}

/// Applies `edit` to integration `id` of `team` (restricted to `mode` when given: the API's
/// tenant). A replaced credential gets the next version and a new fingerprint.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    mode: Option<&str>,
    id: &str,
    edit: Edit,
) -> Result<Integration, IntegrationError> {
    if let Some(url) = &edit.base_url {
        vet_base_url(state, url).await?;
    }
    let (actor, team, id) = (actor.clone(), team.clone(), id.to_owned());
    let mode = mode.map(str::to_owned);
    let vault = state.vault.clone();
    transact(state, move |c| {
        let mut row = Integration::of_team(c, team.as_str(), &id)?
            .filter(|i| mode.as_deref().is_none_or(|m| m == i.mode))
            .ok_or(Abort::Refused(IntegrationError::NotFound))?;
        let mut changed: Vec<&str> = Vec::new();
        if let Some(name) = edit.name.filter(|n| *n != row.name) {
            row.name = name;
            changed.push("name");
        }
        if let Some(url) = edit.base_url.as_ref().map(stored_url)
            && url != row.base_url
        {
            row.base_url = url;
            changed.push("base_url");
        }
        if let Some(path) = edit.check_path.filter(|p| *p != row.check_path) {
            row.check_path = path;
            changed.push("check_path");
        }
        let base = Url::parse(&row.base_url)
            .map_err(|_| AppError::Internal("stored base URL does not parse".into()))?;
        check_path_ok(&base, &row.check_path).map_err(Abort::Refused)?;
        let placement = edit.placement.unwrap_or_else(|| row.placement());
        if placement != row.placement() {
            let basic = |p: &Placement| *p == Placement::Basic;
            if basic(&placement) != basic(&row.placement()) && edit.credential.is_none() {
                return Err(Abort::Refused(invalid(
                    "credential",
                    "This placement needs a different credential: enter it to replace the old one.",
                )));
            }
            row.auth_type = placement.kind().to_owned();
            row.auth_name = placement.name().map(str::to_owned);
            row.auth_prefix = placement.prefix().to_owned();
            changed.push("credential_placement");
        }
        let replaced = edit.credential.is_some();
        if let Some(credential) = edit.credential {
            // A connection's tokens are Latchkey's to renew: a pasted token would silently
            // end the connection (its row would still say connected).
            if OAuthConnection::find(c, &row.id)?.is_some() {
                return Err(Abort::Refused(invalid(
                    "credential",
                    "This integration connects with OAuth: its tokens are renewed by Latchkey and cannot be replaced by hand.",
                )));
            }
            fits(&placement, &credential).map_err(Abort::Refused)?;
            let version = row.credential_version + 1;
            let (sealed, fingerprint) = seal(&vault, team.as_str(), &row.id, version, &credential)?;
            row.credential = Some(sealed);
            row.credential_version = version;
            row.credential_fingerprint = Some(fingerprint);
            row.credential_updated_at = Some(actor.at);
            row.credential_updated_by = Some(actor.who.label().to_owned());
        }
        if changed.is_empty() && !replaced {
            return Ok(row);
        }
        row.updated_at = actor.at;
        Integration::update(c, &row)?;
        let action = if replaced {
            AuditAction::IntegrationCredentialReplaced
        } else {
            AuditAction::IntegrationUpdated
        };
        let mut change = Change::new(action, target(&row))
            .with("changed", changed)
            .with("mode", row.mode.clone());
        if replaced {
            change = change.with("credential_fingerprint", row.credential_fingerprint.clone());
        }
        record(c, &Owner::Team(team.clone()), &actor, &change)?;
        Ok(row)
    })
    .await
}

/// Deletes integration `id` of `team` (in `mode`, when given); false when there was none.
pub async fn delete(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    mode: Option<&str>,
    id: &str,
) -> Result<bool, AppError> {
    let (actor, team, id) = (actor.clone(), team.clone(), id.to_owned());
    let mode = mode.map(str::to_owned);
    // An OAuth grant is revoked at the provider first (RFC 7009), so deleting the integration
    // leaves no live token behind there either.
    let (t, key, m) = (team.to_string(), id.clone(), mode.clone());
    let found = with_read(&state.pool, move |c| {
        Ok(Integration::of_team(c, &t, &key)?.filter(|i| m.as_deref().is_none_or(|m| m == i.mode)))
    })
    .await?;
    let revoked = match &found {
        Some(row) => super::oauth::revoke(state, row).await?,
        None => None,
    };
    transact(state, move |c| {
        let Some(row) = Integration::of_team(c, team.as_str(), &id)?
            .filter(|i| mode.as_deref().is_none_or(|m| m == i.mode))
        else {
            return Ok(false);
        };
        Integration::delete_row(c, &row.id)?;
        let mut change = Change::new(AuditAction::IntegrationDeleted, target(&row))
            .with("mode", row.mode.clone());
        if let Some(revoked) = revoked {
            change = change.with("revoked_at_provider", revoked);
        }
        record(c, &Owner::Team(team.clone()), &actor, &change)?;
        Ok::<_, Abort<AppError>>(true)
    })
    .await
}

/// `latchkey vault forget`: discards every credential sealed with the lost master key
/// `key_id` (each integration stays, without a credential, and its team's log says so) and the
/// key's check value, in one transaction on `conn`. Returns how many credentials went.
pub fn forget_master_key(
    conn: &mut DbConnection,
    key_id: &str,
    at: i64,
) -> diesel::QueryResult<usize> {
    crate::db::write_tx(conn, |c| {
        let mut discarded = 0;
        for (id, team, _, sealed) in Integration::sealed(c)? {
            if crate::vault::key_id_of(&sealed) != Some(key_id) {
                continue;
            }
            let Some(row) = Integration::of_team(c, &team, &id)? else {
                continue;
            };
            Integration::discard_credential(c, &id, at)?;
            let actor = Actor {
                who: crate::domain::audit::Who::System,
                ip: None,
                at,
            };
            let change = Change::new(AuditAction::IntegrationCredentialDiscarded, target(&row))
                .with("master_key_id", key_id);
            record(c, &Owner::Team(row.team_id.clone()), &actor, &change)?;
            discarded += 1;
        }
        crate::models::vault_check::delete(c, key_id)?;
        Ok(discarded)
    })
}

/// Puts the credential where `placement` says, on `url` or `headers`.
fn inject(
    placement: &Placement,
    credential: &Credential,
    url: &mut Url,
    headers: &mut HeaderMap,
) -> Result<(), AppError> {
    let bad = |_| AppError::Internal("credential is not a valid header value".into());
    let mut header = |name: HeaderName, text: SecretString| -> Result<(), AppError> {
        let mut value = HeaderValue::from_str(text.expose_secret()).map_err(bad)?;
        value.set_sensitive(true);
        headers.insert(name, value);
        Ok(())
    };
    let access;
    let credential = match credential {
        // An OAuth connection's request carries its current access token.
        Credential::OAuth(secrets) => {
            let token = secrets.access_token.as_ref().ok_or_else(|| {
                AppError::Internal("OAuth credential without an access token".into())
            })?;
            access = Credential::Token(SecretString::from(token.expose_secret().to_owned()));
            &access
        }
        other => other,
    };
    match (placement, credential) {
        (Placement::Bearer, Credential::Token(t)) => header(
            AUTHORIZATION,
            SecretString::from(format!("Bearer {}", t.expose_secret())),
        ),
        (Placement::Basic, Credential::Basic { username, password }) => {
            let pair = zeroize::Zeroizing::new(format!(
                "{}:{}",
                username.expose_secret(),
                password.expose_secret()
            ));
            header(
                AUTHORIZATION,
                SecretString::from(format!("Basic {}", B64.encode(pair.as_bytes()))),
            )
        }
        (Placement::Header { name, prefix }, Credential::Token(t)) => {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| AppError::Internal("stored header name is invalid".into()))?;
            header(
                name,
                SecretString::from(format!("{prefix}{}", t.expose_secret())),
            )
        }
        (Placement::Query { name }, Credential::Token(t)) => {
            url.query_pairs_mut().append_pair(name, t.expose_secret());
            Ok(())
        }
        _ => Err(AppError::Internal(
            "stored credential does not fit its placement".into(),
        )),
    }
}

/// Replaces every appearance of the credential (and of its basic-auth encoding) in `text`.
pub fn scrub(text: &str, credential: &Credential) -> String {
    let mut out = text.to_owned();
    let mut secrets: Vec<String> = credential
        .secrets()
        .into_iter()
        .filter(|s| s.len() >= 4)
        .map(str::to_owned)
        .collect();
    if let Credential::Basic { username, password } = credential {
        secrets.push(B64.encode(format!(
            "{}:{}",
            username.expose_secret(),
            password.expose_secret()
        )));
    }
    for secret in &secrets {
        out = out.replace(secret.as_str(), "[redacted]");
    }
    out
}

/// The first characters of an answer, on one line, scrubbed.
fn excerpt(body: &[u8], credential: &Credential) -> String {
    let text = String::from_utf8_lossy(body);
    let scrubbed = scrub(&text, credential);
    let one_line: String = scrubbed.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(limits::TEST_EXCERPT_MAX).collect();
    if one_line.chars().count() > limits::TEST_EXCERPT_MAX {
        cut.push('…');
    }
    cut
}

/// Sends the preset's check request with the credential and stores (and audits) the outcome.
pub async fn test_connection(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    id: &str,
) -> Result<(Integration, TestOutcome), IntegrationError> {
    let (t, key) = (team.to_string(), id.to_owned());
    let row = with_read(&state.pool, move |c| Ok(Integration::of_team(c, &t, &key)?))
        .await?
        .ok_or(IntegrationError::NotFound)?;
    if row.credential.is_none() {
        return Err(invalid(
            "credential",
            "This integration has no credential yet: set one first.",
        ));
    }
    let base = Url::parse(&row.base_url)
        .map_err(|_| AppError::Internal("stored base URL does not parse".into()))?;
    let url = integration::join(&base, &row.check_path, &[])
        .ok_or_else(|| AppError::Internal("stored check path leaves the base URL".into()))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    let sent = send_through(
        state,
        &row,
        outbound::Request {
            method: reqwest::Method::GET,
            url,
            headers,
            body: Vec::new(),
            response_cap: 16 * 1024,
        },
    )
    .await;
    let result = match sent {
        Ok(answered) => Ok(answered),
        Err(CallError::Upstream(e)) => Err(e.to_string()),
        Err(CallError::Connection(e)) => Err(e.for_people()),
        Err(CallError::Invalid(_, message)) => Err(message),
        Err(CallError::TooLarge) => Err("The answer was too large.".into()),
        Err(CallError::Failed(e)) => return Err(e.into()),
    };
    let at = state.clock.now();
    let outcome = match &result {
        Ok((r, credential)) => TestOutcome {
            at,
            ok: (200..300).contains(&r.status),
            status: Some(i32::from(r.status)),
            latency_ms: i64::try_from(r.elapsed.as_millis()).unwrap_or(i64::MAX),
            summary: excerpt(&r.body, credential),
        },
        Err(summary) => TestOutcome {
            at,
            ok: false,
            status: None,
            latency_ms: 0,
            summary: summary.clone(),
        },
    };
    drop(result);
    let (actor, team, saved) = (actor.clone(), team.clone(), outcome.clone());
    let row = transact(state, move |c| {
        let Some(mut row) = Integration::of_team(c, team.as_str(), &row.id)? else {
            return Err(Abort::Refused(IntegrationError::NotFound));
        };
        Integration::save_test(c, &row.id, &saved)?;
        let action = if saved.ok {
            AuditAction::IntegrationTested
        } else {
            AuditAction::IntegrationTestFailed
        };
        let mut change = Change::new(action, target(&row)).with("latency_ms", saved.latency_ms);
        change = match saved.status {
            Some(status) => change.with("status", status),
            None => change.with("error", saved.summary.clone()),
        };
        record(c, &Owner::Team(team.clone()), &actor, &change)?;
        row.test_at = Some(saved.at);
        row.test_ok = Some(saved.ok);
        row.test_status = saved.status;
        row.test_latency_ms = Some(saved.latency_ms);
        row.test_summary = Some(saved.summary.clone());
        Ok(row)
    })
    .await?;
    Ok((row, outcome))
}

/// A bot flow's request, parsed by the API.
#[derive(Debug)]
pub struct CallRequest {
    /// Method.
    pub method: reqwest::Method,
    /// Path under the base URL.
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// Headers (reserved ones already refused).
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Why a call did not come back with an answer.
#[derive(Debug)]
pub enum CallError {
    /// The request is not acceptable (field, message).
    Invalid(String, String),
    /// The outbound guard refused, or the peer failed.
    Upstream(OutboundError),
    /// The answer was larger than the cap.
    TooLarge,
    /// An OAuth connection could give no access token.
    Connection(TokenError),
    /// Something below failed.
    Failed(AppError),
}

impl From<AppError> for CallError {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

/// Sends `req` to integration `i` with its credential injected and returns the answer with
/// the credential scrubbed out of it. Counts the call in memory (no database write).
pub async fn call(
    state: &AppState,
    i: &Integration,
    req: CallRequest,
) -> Result<outbound::Response, CallError> {
    let base = Url::parse(&i.base_url)
        .map_err(|_| AppError::Internal("stored base URL does not parse".into()))?;
    let placement = i.placement();
    if let Placement::Query { name } = &placement
        && req.query.iter().any(|(k, _)| k == name)
    {
        return Err(CallError::Invalid(
            format!("query.{name}"),
            "This parameter carries the credential; Latchkey sets it.".into(),
        ));
    }
    if let Some(name) = placement.name()
        && matches!(placement, Placement::Header { .. })
        && req.headers.contains_key(name)
    {
        return Err(CallError::Invalid(
            format!("headers.{name}"),
            "This header carries the credential; Latchkey sets it.".into(),
        ));
    }
    let url = integration::join(&base, &req.path, &req.query).ok_or_else(|| {
        CallError::Invalid(
            "path".into(),
            "Must be a path under the integration's base URL.".into(),
        )
    })?;
    state
        .integration_usage
        .record(&i.id, None, state.clock.now());
    let (mut answer, credential) = send_through(
        state,
        i,
        outbound::Request {
            method: req.method,
            url,
            headers: req.headers,
            body: req.body,
            response_cap: limits::INTEGRATION_RESPONSE_MAX,
        },
    )
    .await?;
    if answer.truncated {
        return Err(CallError::TooLarge);
    }
    if let Ok(text) = std::str::from_utf8(&answer.body) {
        let clean = scrub(text, &credential);
        if clean != text {
            answer.body = clean.into_bytes();
        }
    }
    for (_, value) in &mut answer.headers {
        *value = scrub(value, &credential);
    }
    Ok(answer)
}

/// The credential a request through `i` carries now: a static one as sealed; for an OAuth
/// connection, its current access token (renewed when due, or when `stale`: the provider has
/// just refused the one it had).
async fn current_credential(
    state: &AppState,
    i: &Integration,
    stale: bool,
) -> Result<Credential, CallError> {
    match sealed_credential::open(&state.vault, i)? {
        Credential::OAuth(mut secrets) => {
            let token = super::oauth::access_token(state, i, stale)
                .await
                .map_err(CallError::Connection)?;
            secrets.access_token = Some(token);
            Ok(Credential::OAuth(secrets))
        }
        other => Ok(other),
    }
}

/// Sends `req` through `i` with its credential put in place; for an OAuth connection a 401
/// gets one more try with a renewed access token (a provider may end a token before its
/// announced expiry). Returns the answer and the credential it carried (to scrub the answer).
async fn send_through(
    state: &AppState,
    i: &Integration,
    req: outbound::Request,
) -> Result<(outbound::Response, Credential), CallError> {
    let mut credential = current_credential(state, i, false).await?;
    let placement = i.placement();
    let mut retried = false;
    loop {
        let (mut url, mut headers) = (req.url.clone(), req.headers.clone());
        inject(&placement, &credential, &mut url, &mut headers)?;
        let answer = state
            .outbound
            .send(outbound::Request {
                method: req.method.clone(),
                url,
                headers,
                body: req.body.clone(),
                response_cap: req.response_cap,
            })
            .await
            .map_err(CallError::Upstream)?;
        if answer.status == 401 && !retried && matches!(credential, Credential::OAuth(_)) {
            retried = true;
            credential = current_credential(state, i, true).await?;
            continue;
        }
        return Ok((answer, credential));
    }
}

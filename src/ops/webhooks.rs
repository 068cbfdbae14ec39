//! Webhook endpoints: a team's (or an agency's) URLs that receive its events, each with a
//! signing secret kept in the vault and shown once. Deliveries are made by the job in
//! `jobs/webhooks.rs`, never on the request path of a change.

use url::Url;

use super::{Abort, record, transact};
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target};
use crate::domain::ids::WebhookEndpointId;
use crate::domain::webhook::SigningSecret;
use crate::error::AppError;
use crate::models::webhook::WebhookEndpoint;
use crate::outbound::OutboundError;
use crate::state::AppState;
use crate::vault::{Keyring, stores};

/// What an endpoint is set up with (parsed by the surface).
#[derive(Debug)]
pub struct EndpointSettings {
    /// Where deliveries go.
    pub url: Url,
    /// What it is for.
    pub description: String,
    /// The event types it wants (empty: every event).
    pub event_types: Vec<String>,
}

/// Why an endpoint change was refused.
#[derive(Debug)]
pub enum WebhookError {
    /// Field problems (field, message); nothing was written.
    Invalid(Vec<(String, String)>),
    /// No such endpoint here.
    NotFound,
    /// Something below failed.
    Failed(AppError),
}

impl From<AppError> for WebhookError {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

fn owner_id(owner: &Owner) -> &str {
    match owner {
        Owner::Team(t) => t.as_str(),
        Owner::Agency(a) => a.as_str(),
    }
}

/// Seals a signing secret for endpoint `id` of `owner` at `version`.
fn seal(
    vault: &Keyring,
    owner: &str,
    id: &str,
    version: i64,
    secret: &SigningSecret,
) -> Result<String, AppError> {
    vault
        .seal(
            &stores::webhook_secret(owner, id, version),
            secret.as_secret(),
        )
        .map_err(|e| AppError::Internal(format!("vault: {e}")))
}

/// Opens endpoint `e`'s current signing secret, and its previous one while the rotation's
/// overlap lasts at `now`.
pub fn secrets(
    vault: &Keyring,
    e: &WebhookEndpoint,
    now: i64,
) -> Result<(SigningSecret, Option<SigningSecret>), AppError> {
    let open = |sealed: &str, version: i64| {
        let text = vault
            .open(&stores::webhook_secret(e.owner(), &e.id, version), sealed)
            .map_err(|err| AppError::Internal(format!("vault: {err}")))?;
        SigningSecret::parse(secrecy::ExposeSecret::expose_secret(&text))
            .ok_or_else(|| AppError::Internal("sealed signing secret is malformed".into()))
    };
    let current = open(&e.secret, e.secret_version)?;
    let previous = match (
        &e.previous_secret,
        e.previous_secret_version,
        e.previous_until,
    ) {
        (Some(sealed), Some(version), Some(until)) if until > now => Some(open(sealed, version)?),
        _ => None,
    };
    Ok((current, previous))
}

/// Adds an endpoint for `owner`; returns it with its signing secret, to be shown once.
pub async fn create_endpoint(
    state: &AppState,
    actor: &Actor,
    owner: &Owner,
    settings: EndpointSettings,
) -> Result<(WebhookEndpoint, SigningSecret), WebhookError> {
    if let Err(e) = state.outbound.vet(&settings.url).await {
        let message = match e {
            OutboundError::Scheme => "Use an https:// URL.".to_owned(),
            other => other.to_string(),
        };
        return Err(WebhookError::Invalid(vec![("url".into(), message)]));
    }
    let id = WebhookEndpointId::generate().to_string();
    let secret = SigningSecret::generate();
    let sealed = seal(&state.vault, owner_id(owner), &id, 1, &secret)?;
    let (team_id, agency_id) = match owner {
        Owner::Team(t) => (Some(t.to_string()), None),
        Owner::Agency(a) => (None, Some(a.to_string())),
    };
    let row = WebhookEndpoint {
        id,
        team_id,
        agency_id,
        url: settings.url.to_string(),
        description: settings.description,
        event_types: if settings.event_types.is_empty() {
            "*".to_owned()
        } else {
            settings.event_types.join(" ")
        },
        enabled: true,
        disabled_reason: None,
        secret: sealed,
        secret_version: 1,
        previous_secret: None,
        previous_secret_version: None,
        previous_until: None,
        created_by: actor.who.user().map(ToString::to_string),
        since_event: String::new(),
        created_at: actor.at,
        updated_at: actor.at,
    };
    let (actor, owner) = (actor.clone(), owner.clone());
    let row = transact(state, move |c| {
        WebhookEndpoint::insert(c, &row)?;
        let change = Change::new(
            AuditAction::WebhookEndpointCreated,
            Target::new("webhook_endpoint", row.id.clone(), row.url.clone()),
        )
        .with("event_types", row.event_types.clone());
        record(c, &owner, &actor, &change)?;
        // From its own creation event on: only what happens after it is added is sent.
        let mut row = row;
        row.since_event = crate::models::webhook::newest_event(c)?;
        WebhookEndpoint::start_after(c, &row.id, &row.since_event)?;
        Ok::<_, Abort<WebhookError>>(row)
    })
    .await?;
    Ok((row, secret))
}

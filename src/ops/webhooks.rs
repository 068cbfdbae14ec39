//! Webhook endpoints: a team's (or an agency's) URLs that receive its events, each with a
//! signing secret kept in the vault and shown once. Deliveries are made by the job in
//! `jobs/webhooks.rs`, never on the request path of a change.

use url::Url;

use super::{Abort, record, transact};
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target};
use crate::domain::ids::WebhookEndpointId;
use crate::domain::limits;
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

/// Refuses a URL the guarded client would not send to (the SSRF table, plain http), as a
/// field message: checked when saved, and again by the client at every send.
async fn vetted(state: &AppState, url: &Url) -> Result<(), WebhookError> {
    state.outbound.vet(url).await.map_err(|e| {
        let message = match e {
            OutboundError::Scheme => crate::domain::integration::SCHEME_MESSAGE.to_owned(),
            other => other.to_string(),
        };
        WebhookError::Invalid(vec![("url".into(), message)])
    })
}

/// Adds an endpoint for `owner`; returns it with its signing secret, to be shown once.
pub async fn create_endpoint(
    state: &AppState,
    actor: &Actor,
    owner: &Owner,
    settings: EndpointSettings,
) -> Result<(WebhookEndpoint, SigningSecret), WebhookError> {
    vetted(state, &settings.url).await?;
    let id = WebhookEndpointId::generate();
    let secret = SigningSecret::generate();
    let sealed = seal(&state.vault, owner.id(), &id, 1, &secret)?;
    let (team_id, agency_id) = match owner {
        Owner::Team(t) => (Some(t.clone()), None),
        Owner::Agency(a) => (None, Some(a.clone())),
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
        created_by: actor.who.user().cloned(),
        since_event: String::new(),
        failing_since: None,
        created_at: actor.at,
        updated_at: actor.at,
    };
    let (actor, owner) = (actor.clone(), owner.clone());
    let row = transact(state, move |c| {
        if WebhookEndpoint::of_owner(c, row.owner())?.len() >= limits::WEBHOOK_ENDPOINTS_MAX {
            return Err(Abort::Refused(WebhookError::Invalid(vec![(
                "url".into(),
                format!(
                    "{} can have at most {} webhook endpoints; delete one first.",
                    match owner {
                        Owner::Team(_) => "A team",
                        Owner::Agency(_) => "An agency",
                    },
                    limits::WEBHOOK_ENDPOINTS_MAX
                ),
            )])));
        }
        WebhookEndpoint::insert(c, &row)?;
        let change = Change::new(
            AuditAction::WebhookEndpointCreated,
            Target::new("webhook_endpoint", row.id.clone(), row.url.clone()),
        )
        .with("event_types", row.event_types.clone());
        record(c, &owner, &actor, &change)?;
        // From its own creation event on: only what happens after it is added is sent.
        let mut row = row;
        row.since_event = crate::models::outbox::newest_event(c)?;
        WebhookEndpoint::start_after(c, &row.id, &row.since_event)?;
        Ok::<_, Abort<WebhookError>>(row)
    })
    .await?;
    Ok((row, secret))
}

/// A change to an endpoint: `None` keeps what is there.
#[derive(Debug, Default)]
pub struct EndpointEdit {
    /// New URL.
    pub url: Option<Url>,
    /// New description.
    pub description: Option<String>,
    /// New event types (empty: every event).
    pub event_types: Option<Vec<String>>,
    /// Enable (clearing why it was disabled) or disable.
    pub enabled: Option<bool>,
}

fn target(e: &WebhookEndpoint) -> Target {
    Target::new("webhook_endpoint", e.id.clone(), e.url.clone())
}

fn owned(
    c: &mut crate::db::DbConnection,
    owner: &Owner,
    id: &str,
) -> Result<WebhookEndpoint, Abort<WebhookError>> {
    WebhookEndpoint::of(c, owner.id(), id)?.ok_or(Abort::Refused(WebhookError::NotFound))
}

/// Applies `edit` to endpoint `id` of `owner`.
pub async fn update_endpoint(
    state: &AppState,
    actor: &Actor,
    owner: &Owner,
    id: &str,
    edit: EndpointEdit,
) -> Result<WebhookEndpoint, WebhookError> {
    if let Some(url) = &edit.url {
        vetted(state, url).await?;
    }
    let (actor, owner, id) = (actor.clone(), owner.clone(), id.to_owned());
    transact(state, move |c| {
        let mut e = owned(c, &owner, &id)?;
        let mut changed: Vec<&str> = Vec::new();
        if let Some(url) = edit.url.map(|u| u.to_string()).filter(|u| *u != e.url) {
            e.url = url;
            changed.push("url");
        }
        if let Some(d) = edit.description.filter(|d| *d != e.description) {
            e.description = d;
            changed.push("description");
        }
        if let Some(types) = edit.event_types {
            let joined = if types.is_empty() {
                "*".to_owned()
            } else {
                types.join(" ")
            };
            if joined != e.event_types {
                e.event_types = joined;
                changed.push("event_types");
            }
        }
        if let Some(on) = edit.enabled.filter(|on| *on != e.enabled) {
            e.enabled = on;
            e.disabled_reason = (!on).then(|| "Disabled by a person.".to_owned());
            // Enabled again: a fresh start for the five-day rule.
            e.failing_since = None;
            changed.push("enabled");
        }
        if changed.is_empty() {
            return Ok(e);
        }
        e.updated_at = actor.at;
        WebhookEndpoint::save(c, &e)?;
        if edit.enabled == Some(true) {
            // Back in service: what waited is tried now, not at its old retry time.
            crate::models::webhook::Delivery::all_due(c, &e.id, actor.at)?;
        }
        let change =
            Change::new(AuditAction::WebhookEndpointUpdated, target(&e)).with("changed", changed);
        record(c, &owner, &actor, &change)?;
        Ok(e)
    })
    .await
}

/// Deletes endpoint `id` of `owner` (its pending deliveries go with it).
pub async fn delete_endpoint(
    state: &AppState,
    actor: &Actor,
    owner: &Owner,
    id: &str,
) -> Result<(), WebhookError> {
    let (actor, owner, id) = (actor.clone(), owner.clone(), id.to_owned());
    transact(state, move |c| {
        let e = owned(c, &owner, &id)?;
        WebhookEndpoint::delete(c, &e.id)?;
        record(
            c,
            &owner,
            &actor,
            &Change::new(AuditAction::WebhookEndpointDeleted, target(&e)),
        )?;
        Ok(())
    })
    .await
}

/// The overlaps a rotation may keep the old secret signing for: none, 24 hours, 7 days.
pub const ROTATION_OVERLAPS: [i64; 3] = [0, 86_400, 7 * 86_400];

/// Gives endpoint `id` of `owner` a new signing secret, returned once. For `overlap` seconds
/// the old one keeps signing too (both in `webhook-signature`; the old one alone in
/// `X-Chatbot-Signature`, which the seed's verifier checks with one secret).
pub async fn rotate_secret(
    state: &AppState,
    actor: &Actor,
    owner: &Owner,
    id: &str,
    overlap: i64,
) -> Result<(WebhookEndpoint, SigningSecret), WebhookError> {
    if !ROTATION_OVERLAPS.contains(&overlap) {
        return Err(WebhookError::Invalid(vec![(
            "overlap".into(),
            "Choose now, 24 hours or 7 days.".into(),
        )]));
    }
    let secret = SigningSecret::generate();
    let (actor, owner, id) = (actor.clone(), owner.clone(), id.to_owned());
    let vault = state.vault.clone();
    let sealed_for = secret.expose().to_owned();
    let row = transact(state, move |c| {
        let mut e = owned(c, &owner, &id)?;
        let version = e.secret_version.max(e.previous_secret_version.unwrap_or(0)) + 1;
        let fresh = SigningSecret::parse(&sealed_for)
            .ok_or_else(|| AppError::Internal("generated secret does not parse".into()))?;
        let sealed = seal(&vault, e.owner(), &e.id, version, &fresh)?;
        if overlap > 0 {
            e.previous_secret = Some(std::mem::take(&mut e.secret));
            e.previous_secret_version = Some(e.secret_version);
            e.previous_until = Some(actor.at + overlap);
        } else {
            e.previous_secret = None;
            e.previous_secret_version = None;
            e.previous_until = None;
        }
        e.secret = sealed;
        e.secret_version = version;
        e.updated_at = actor.at;
        WebhookEndpoint::save(c, &e)?;
        let change = Change::new(AuditAction::WebhookSecretRotated, target(&e))
            .with("overlap_seconds", overlap);
        record(c, &owner, &actor, &change)?;
        Ok(e)
    })
    .await?;
    Ok((row, secret))
}

/// Sends a `webhook.test` event to endpoint `id` of `owner` only: an outbox event and its one
/// delivery, made by the job like any other.
pub async fn send_test(
    state: &AppState,
    actor: &Actor,
    owner: &Owner,
    id: &str,
) -> Result<String, WebhookError> {
    use crate::domain::ids::{DeliveryId, OutboxEventId};
    let (actor, owner, id) = (actor.clone(), owner.clone(), id.to_owned());
    transact(state, move |c| {
        let e = owned(c, &owner, &id)?;
        let audit_id = record(
            c,
            &owner,
            &actor,
            &Change::new(AuditAction::WebhookEndpointTested, target(&e)),
        )?;
        let event_id = OutboxEventId::generate_ordered();
        let body = super::event_body(
            &event_id,
            "webhook.test",
            &owner,
            &actor,
            &target(&e),
            &Default::default(),
        )
        .map_err(|err| AppError::Internal(err.to_string()))?;
        crate::models::outbox::insert(
            c,
            &event_id,
            &owner,
            "webhook.test",
            &body,
            &audit_id,
            actor.at,
        )?;
        crate::models::outbox::mark_fanned_out(c, std::slice::from_ref(&event_id), actor.at)?;
        crate::models::webhook::Delivery::insert_new(
            c,
            &[crate::models::webhook::Delivery::pending(
                DeliveryId::generate_ordered(),
                &e.id,
                &event_id,
                "webhook.test",
                actor.at,
            )],
        )?;
        Ok(event_id.to_string())
    })
    .await
}

/// What to send again.
#[derive(Debug, Clone)]
pub enum Replay {
    /// One delivery (any state).
    One(String),
    /// Every delivery created at or after this time (Unix seconds) that failed or is still
    /// retrying: all sent again now.
    UndeliveredSince(i64),
}

/// Makes deliveries of endpoint `id` of `owner` due now; returns how many. The job sends them
/// with the same event id and bytes, so receivers that dedupe by `webhook-id` stay correct.
pub async fn replay(
    state: &AppState,
    actor: &Actor,
    owner: &Owner,
    id: &str,
    what: Replay,
) -> Result<usize, WebhookError> {
    use crate::models::webhook::Delivery;
    let (actor, owner, id) = (actor.clone(), owner.clone(), id.to_owned());
    transact(state, move |c| {
        let e = owned(c, &owner, &id)?;
        let n = match &what {
            Replay::One(d) => match Delivery::replay_one(c, &e.id, d, actor.at)? {
                0 => return Err(Abort::Refused(WebhookError::NotFound)),
                n => n,
            },
            Replay::UndeliveredSince(since) => {
                Delivery::retry_now_since(c, &e.id, *since, actor.at)?
            }
        };
        if n > 0 {
            let change = Change::new(AuditAction::WebhookDeliveriesReplayed, target(&e))
                .with("count", i64::try_from(n).unwrap_or(i64::MAX));
            record(c, &owner, &actor, &change)?;
        }
        Ok(n)
    })
    .await
}

/// How long an endpoint may fail every delivery before it is disabled.
pub const FAILING_DISABLES_AFTER: i64 = 5 * 86_400;

/// Disables endpoint `e` for `reason` (inside the delivery job's transaction), with an audit
/// event from the system: the owner sees a banner and the log says why.
pub fn disable_for(
    c: &mut crate::db::DbConnection,
    e: &WebhookEndpoint,
    reason: &str,
    at: i64,
) -> diesel::QueryResult<()> {
    WebhookEndpoint::disable(c, &e.id, reason, at)?;
    let Some(owner) = e.belongs_to() else {
        return Ok(());
    };
    let actor = Actor {
        who: crate::domain::audit::Who::System,
        ip: None,
        at,
    };
    let change =
        Change::new(AuditAction::WebhookEndpointDisabled, target(e)).with("reason", reason);
    record(c, &owner, &actor, &change).map(|_| ())
}

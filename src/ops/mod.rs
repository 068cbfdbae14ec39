//! Operations: every change a user or a key makes, written once and called by both surfaces.
//! An operation takes parsed values and an [`Actor`]; in ONE transaction it writes the rows,
//! the typed audit event and the outbox event (the webhook payload's exact bytes); after the
//! commit it invalidates what caches the change touches. Each returns its own error enum.
//!
//! Handlers never open transactions, write events or touch caches: that is what makes "no
//! change without its events, no event without its change" (DESIGN §8) hold by construction.

pub mod accounts;
pub mod agency;
pub mod api_keys;
pub mod email_change;
pub mod integrations;
pub mod mailing;
pub mod members;
pub mod oauth;
pub mod passkeys;
pub mod platform;
pub mod reconfirm;
pub mod sealed_credential;
pub mod teams;
pub mod two_factor;
pub mod webhooks;

use serde_json::{Map, Value, json};

use crate::cluster::Stale;
use crate::db::{DbConnection, with_write, write_tx};
use crate::domain::audit::{Actor, Change, Owner, Who};
use crate::domain::ids::OutboxEventId;
use crate::error::AppError;
use crate::models;
use crate::state::AppState;

/// Why a transaction body stopped: the operation refused (`E`), or something below failed.
pub(crate) enum Abort<E> {
    /// The operation's own refusal (name taken, already retiring…): rolled back.
    Refused(E),
    /// A database or other failure: rolled back, rendered as the surface renders `AppError`.
    Failed(AppError),
}

impl<E> From<diesel::result::Error> for Abort<E> {
    fn from(e: diesel::result::Error) -> Self {
        Self::Failed(e.into())
    }
}

impl<E> From<AppError> for Abort<E> {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

/// Runs `body` in one write transaction; an operation's refusal and a failure both roll back.
pub(crate) async fn transact<T, E, F>(state: &AppState, body: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<AppError> + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, Abort<E>> + Send + 'static,
{
    run(state, None, body).await
}

/// Like [`transact`], for a change that weakens keys (delete, rotate, end grace, leak report,
/// narrowed scopes or limits, suspension): the transaction also announces what it made stale
/// to every node, and this returns only once no node can still admit the old state
/// (`cluster::Cluster::settle`), so the very next request anywhere sees the change.
pub(crate) async fn transact_weakening<T, E, F>(
    state: &AppState,
    stale: Stale,
    body: F,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<AppError> + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, Abort<E>> + Send + 'static,
{
    run(state, Some(stale), body).await
}

async fn run<T, E, F>(state: &AppState, stale: Option<Stale>, body: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<AppError> + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<T, Abort<E>> + Send + 'static,
{
    let announced = stale.clone();
    let outcome = with_write(&state.pool, move |c| {
        let tx = write_tx(c, |c| {
            let value = body(c)?;
            // Last, so the announcement's row lock is held for as short a time as possible.
            let seq = match &announced {
                Some(stale) => crate::cluster::announce(c, stale)?,
                None => None,
            };
            Ok((value, seq))
        });
        match tx {
            Ok(done) => Ok(Ok(done)),
            Err(Abort::Refused(e)) => Ok(Err(e)),
            Err(Abort::Failed(e)) => Err(e),
        }
    })
    .await;
    // A change wrote an outbox event: the delivery job looks now, not at its next tick.
    state.webhook_wake.notify_one();
    // This node forgets at once, whatever the outcome (forgetting is always safe).
    if let Some(stale) = &stale {
        stale.apply(&state.key_cache);
    }
    match outcome {
        Ok(Ok((value, seq))) => {
            state.cluster.settle(&state.pool, seq).await;
            Ok(value)
        }
        Ok(Err(refused)) => Err(refused),
        Err(e) => Err(E::from(e)),
    }
}

/// The person acting, for the changes only a signed-in person can make (creating a team or an
/// agency, inviting): no route lets a key or Latchkey itself reach them, so anything else is a
/// bug, reported as one.
pub(crate) fn person(actor: &Actor) -> Result<crate::domain::ids::UserId, AppError> {
    actor
        .who
        .user()
        .cloned()
        .ok_or_else(|| AppError::Internal(format!("{} cannot make this change", actor.who.kind())))
}

/// Writes `change` to `owner`'s audit log and to the outbox. Call inside the transaction that
/// makes the change, and nowhere else (the operations here, and the demo seed, which writes
/// history with fixed past times).
pub fn record(
    conn: &mut DbConnection,
    owner: &Owner,
    actor: &Actor,
    change: &Change,
) -> diesel::QueryResult<crate::domain::ids::AuditEventId> {
    let audit_id = models::audit::insert(conn, owner, actor, change)?;
    let event_id = OutboxEventId::generate_ordered();
    let body = payload(&event_id, owner, actor, change)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    models::outbox::insert(
        conn,
        &event_id,
        owner,
        change.action.as_str(),
        &body,
        &audit_id,
        actor.at,
    )?;
    Ok(audit_id)
}

/// The webhook payload of a change: compact JSON with sorted keys, ids and times as strings,
/// integers only — the bytes that Node's `JSON.stringify(JSON.parse(body))` reproduces
/// (DESIGN §10). Produced once; every delivery attempt sends these bytes. A change whose
/// detail Node would not reproduce (a float, a huge integer, an integer-like key) is refused.
pub fn payload(
    id: &OutboxEventId,
    owner: &Owner,
    actor: &Actor,
    change: &Change,
) -> Result<String, crate::domain::webhook::PortabilityError> {
    event_body(
        id,
        change.action.as_str(),
        owner,
        actor,
        &change.target,
        &change.detail,
    )
}

/// The body of an event of `event_type` (a change's action, or `webhook.test`): the one shape
/// every delivery has.
pub fn event_body(
    id: &OutboxEventId,
    event_type: &str,
    owner: &Owner,
    actor: &Actor,
    target: &crate::domain::audit::Target,
    detail: &Map<String, Value>,
) -> Result<String, crate::domain::webhook::PortabilityError> {
    let who = match &actor.who {
        Who::User { id, name } => json!({"type": "user", "id": id.as_str(), "name": name}),
        Who::Operator { id, name, agency } => json!({
            "type": "operator", "id": id.as_str(), "name": name, "agency_id": agency.as_str(),
        }),
        Who::Key { id, name } => json!({"type": "api_key", "id": id.as_str(), "name": name}),
        Who::System => json!({"type": "system", "name": "Latchkey"}),
    };
    let mut data = Map::new();
    data.insert(
        "object".to_owned(),
        json!({"type": target.kind, "id": target.id, "name": target.label}),
    );
    data.insert("detail".to_owned(), Value::Object(detail.clone()));
    let body = json!({
        "id": id.as_str(),
        "type": event_type,
        "created_at": crate::timefmt::iso(actor.at),
        owner.key(): owner.id(),
        "actor": who,
        "data": data,
    });
    crate::domain::webhook::check_portable(&body)?;
    Ok(body.to_string())
}

//! Key operations: create, update, rotate, delete, end a grace period, and the leak report.
//! Each is one transaction with its audit and outbox events; each makes the next request with
//! the key see the change (the key cache is invalidated after the commit, here and only here).

use super::{Abort, record, transact, transact_weakening};
use crate::cluster::Stale;
use crate::db::with_read;
use crate::domain::api_key_secret::{ApiKeySecret, KeyDigest};
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target, Who};
use crate::domain::ids::{ApiKeyId, TeamId};
use crate::domain::scope::{Scope, ScopeSet};
use crate::error::AppError;
use crate::models::api_key::{ApiKey, KeyLookup, KeySettings, KeyWriteError};
use crate::state::AppState;

/// Why a key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    /// Another current key of the team has this name.
    #[error("name taken")]
    NameTaken,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Why a key could not be changed, deleted or retired.
#[derive(Debug, thiserror::Error)]
pub enum ChangeKeyError {
    /// Another current key of the team has the new name.
    #[error("name taken")]
    NameTaken,
    /// The key is gone (deleted meanwhile, or not the team's).
    #[error("not found")]
    Gone,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Why a key could not be rotated.
#[derive(Debug, thiserror::Error)]
pub enum RotateKeyError {
    /// It is already being replaced; rotate its successor.
    #[error("already retiring")]
    AlreadyRetiring,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// What an edit sets: every field is the new value.
#[derive(Clone, Debug)]
pub struct KeyChanges {
    /// New name.
    pub name: String,
    /// New scopes.
    pub scopes: ScopeSet,
    /// New per-key rate limit (None = the team's).
    pub rate_limit_per_minute: Option<i32>,
    /// New allowlist, canonical space-separated CIDRs (None = anywhere).
    pub ip_allowlist: Option<String>,
}

fn target(key: &ApiKey) -> Target {
    Target::new("api_key", key.id.clone(), key.name.clone())
}

fn scope_names(scopes: ScopeSet) -> Vec<&'static str> {
    scopes.iter().map(Scope::as_str).collect()
}

fn owner_of(key: &ApiKey) -> Owner {
    Owner::Team(key.team_id.clone())
}

impl<E> From<KeyWriteError> for Abort<E>
where
    E: From<KeyWriteError>,
{
    fn from(e: KeyWriteError) -> Self {
        match e {
            KeyWriteError::Db(e) => Abort::Failed(e.into()),
            other => Abort::Refused(E::from(other)),
        }
    }
}

impl From<KeyWriteError> for CreateKeyError {
    fn from(e: KeyWriteError) -> Self {
        match e {
            KeyWriteError::Db(e) => Self::Failed(e.into()),
            // Insert refuses only a taken name.
            _ => Self::NameTaken,
        }
    }
}

impl From<KeyWriteError> for ChangeKeyError {
    fn from(e: KeyWriteError) -> Self {
        match e {
            KeyWriteError::NameTaken => Self::NameTaken,
            KeyWriteError::Db(e) => Self::Failed(e.into()),
            KeyWriteError::NotFound | KeyWriteError::AlreadyRetiring => Self::Gone,
        }
    }
}

impl From<KeyWriteError> for RotateKeyError {
    fn from(e: KeyWriteError) -> Self {
        match e {
            KeyWriteError::Db(e) => Self::Failed(e.into()),
            // The successor takes over the old name, which the retiring step just freed.
            _ => Self::AlreadyRetiring,
        }
    }
}

/// Creates a key for `team` and returns it with its one-time secret (rendered only now, after
/// the commit).
pub async fn create(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    settings: KeySettings,
) -> Result<(ApiKey, ApiKeySecret), CreateKeyError> {
    let (actor, team) = (actor.clone(), team.clone());
    transact(state, move |c| {
        let id = ApiKeyId::generate();
        let (key, secret) = ApiKey::insert(c, &id, &team, &settings, actor.who.user(), actor.at)?;
        let change = Change::new(AuditAction::ApiKeyCreated, target(&key))
            .with("mode", key.mode.as_str())
            .with("environment", key.environment.clone())
            .with("scopes", scope_names(key.scope_set()))
            .with("expires_at", key.expires_at);
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok((key, secret))
    })
    .await
}

/// Renames a key, replaces its scopes and limits; effective on the next request.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    key: &ApiKey,
    changes: KeyChanges,
) -> Result<(), ChangeKeyError> {
    let (actor, old) = (actor.clone(), key.clone());
    let stale = Stale::Key(key.id.clone());
    transact_weakening(state, stale, move |c| {
        let team = old.team_id.clone();
        let id = old.key_id();
        ApiKey::update_settings(c, &team, &id, &changes.name, changes.scopes)?;
        ApiKey::update_limits(
            c,
            &team,
            &id,
            changes.rate_limit_per_minute,
            changes.ip_allowlist.as_deref(),
        )?;
        let mut change = Change::new(
            AuditAction::ApiKeyUpdated,
            Target::new("api_key", old.id.clone(), changes.name.clone()),
        )
        .with("scopes", scope_names(changes.scopes))
        .with("rate_limit_per_minute", changes.rate_limit_per_minute)
        .with(
            "ip_allowlist",
            changes
                .ip_allowlist
                .as_deref()
                .map(|l| l.split(' ').collect::<Vec<_>>()),
        );
        if old.name != changes.name {
            change = change.with("previous_name", old.name.clone());
        }
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok(())
    })
    .await
}

/// Replaces `key` with a successor of the same settings; the old key keeps working for
/// `grace` seconds (0 = it stops now).
pub async fn rotate(
    state: &AppState,
    actor: &Actor,
    key: &ApiKey,
    grace: i64,
) -> Result<(ApiKey, ApiKeySecret), RotateKeyError> {
    if key.retiring_until.is_some() {
        return Err(RotateKeyError::AlreadyRetiring);
    }
    let (actor, old) = (actor.clone(), key.clone());
    let stale = Stale::Key(key.id.clone());
    transact_weakening(state, stale, move |c| {
        let (successor, secret) = ApiKey::rotate(c, &old, grace, actor.who.user(), actor.at)?;
        let change = Change::new(AuditAction::ApiKeyRotated, target(&old))
            .with("successor_id", successor.id.clone())
            .with("grace_seconds", grace)
            .with("old_key_works_until", actor.at + grace);
        record(c, &owner_of(&old), &actor, &change)?;
        Ok((successor, secret))
    })
    .await
}

/// Deletes a key: the next request with it fails.
pub async fn delete(state: &AppState, actor: &Actor, key: &ApiKey) -> Result<(), ChangeKeyError> {
    revoke(state, actor, key, AuditAction::ApiKeyDeleted).await
}

/// Ends a retiring key's grace period now (its successor is already in place).
pub async fn end_grace(
    state: &AppState,
    actor: &Actor,
    key: &ApiKey,
) -> Result<(), ChangeKeyError> {
    revoke(state, actor, key, AuditAction::ApiKeyGraceEnded).await
}

async fn revoke(
    state: &AppState,
    actor: &Actor,
    key: &ApiKey,
    action: AuditAction,
) -> Result<(), ChangeKeyError> {
    let (actor, old) = (actor.clone(), key.clone());
    let stale = Stale::Key(key.id.clone());
    transact_weakening(state, stale, move |c| {
        let team = old.team_id.clone();
        ApiKey::revoke(c, &team, &old.key_id(), actor.at)?;
        let change = Change::new(action, target(&old)).with("masked", old.masked());
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok(())
    })
    .await
}

/// A leak report through `POST /v1/revoke`: possession of the secret is the authority, so the
/// key itself is the actor. Returns the key and whether this report revoked it (false: it was
/// already revoked), or None when no key has this digest.
pub async fn report_leaked(
    state: &AppState,
    digest: KeyDigest,
    ip: Option<String>,
) -> Result<Option<(ApiKey, bool)>, AppError> {
    let now = state.clock.now();
    // The key's id names what goes stale; a digest that names no key changes nothing.
    let Some(known) = with_read(&state.pool, move |c| {
        Ok(ApiKey::find_by_digest(c, &digest)?)
    })
    .await?
    else {
        return Ok(None);
    };
    let stale = Stale::Key(known.key.id.clone());
    transact_weakening(state, stale, move |c| {
        let Some(KeyLookup { key, .. }) = ApiKey::find_by_digest(c, &digest)? else {
            return Ok(None);
        };
        if !ApiKey::report_leaked(c, &key.id, now)? {
            return Ok(Some((key, false)));
        }
        let actor = Actor {
            who: Who::Key {
                id: key.key_id(),
                name: key.name.clone(),
            },
            ip,
            at: now,
        };
        let change =
            Change::new(AuditAction::ApiKeyLeaked, target(&key)).with("masked", key.masked());
        record(c, &owner_of(&key), &actor, &change)?;
        Ok::<_, Abort<AppError>>(Some((key, true)))
    })
    .await
}

/// Announces `notice` about `key` (from the lifecycle sweep, as Latchkey itself): one audit
/// event and its webhook, once per key and notice even with several nodes sweeping. Returns
/// false when it had been announced already.
pub async fn announce(
    state: &AppState,
    key: &ApiKey,
    notice: crate::domain::key_notice::Notice,
    at: i64,
) -> Result<bool, AppError> {
    use crate::domain::key_notice::Notice;
    let (key, mail_state) = (key.clone(), state.clone());
    let made = transact(state, move |c| {
        if !crate::models::key_notice::claim(c, key.id.as_str(), notice, at)? {
            return Ok(false);
        }
        let action = match notice {
            Notice::Expiring7d | Notice::Expiring1d => AuditAction::ApiKeyExpiring,
            Notice::Expired => AuditAction::ApiKeyExpired,
            Notice::GraceEnded => AuditAction::ApiKeyGraceEnded,
        };
        let mut change = Change::new(action, target(&key))
            .with("masked", key.masked())
            .with("mode", key.mode.as_str());
        if let Some(days) = notice.days() {
            change = change.with("days", days);
        }
        if let Some(expires) = key.expires_at.filter(|_| notice != Notice::GraceEnded) {
            change = change.with("expires_at", expires);
        }
        if let Some(until) = key.retiring_until.filter(|_| notice == Notice::GraceEnded) {
            change = change.with("ended_at", until);
        }
        let actor = Actor {
            who: Who::System,
            ip: None,
            at,
        };
        record(c, &Owner::Team(key.team_id.clone()), &actor, &change)?;
        super::mailing::queue_expiry_notice(c, &mail_state, &key, notice, at)?;
        Ok::<_, Abort<AppError>>(true)
    })
    .await?;
    if made {
        state.mail_wake.notify_one();
    }
    Ok(made)
}

/// Records where keys were used from (`key id, addresses`, from the usage flush, inside its
/// transaction) and announces each new address of a key that was already used from another
/// one: an audit event and an `api_key.new_address` webhook, once per key and address across
/// every node (the address row's insert decides).
pub fn record_addresses(
    c: &mut crate::db::DbConnection,
    seen: &[(&str, &[crate::keycheck::tally::Seen])],
) -> diesel::QueryResult<()> {
    use crate::models::key_address::{self, Sighting};
    let sightings: Vec<Sighting<'_>> = seen
        .iter()
        .flat_map(|(id, list)| {
            list.iter().map(move |s| Sighting {
                key_id: id,
                ip: s.ip.to_string(),
                first: s.first,
                last: s.last,
                requests: s.requests,
            })
        })
        .collect();
    for s in key_address::record(c, &sightings)? {
        let Some(key) = ApiKey::find(c, s.key_id)? else {
            continue;
        };
        let change = Change::new(AuditAction::ApiKeyNewAddress, target(&key))
            .with("masked", key.masked())
            .with("mode", key.mode.as_str())
            .with("ip", s.ip.as_str())
            .with("first_seen_at", s.first);
        let actor = Actor {
            who: Who::System,
            ip: Some(s.ip.clone()),
            at: s.first,
        };
        record(c, &owner_of(&key), &actor, &change)?;
    }
    Ok(())
}

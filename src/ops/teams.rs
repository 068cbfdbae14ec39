//! Team operations: the first owner's set-up, creating a team, saving its settings.

use super::{Abort, person, record, transact, transact_weakening};
use crate::cluster::Stale;
use crate::db::DbConnection;
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target};
use crate::domain::ids::UserId;
use crate::domain::inputs::{Email, Name};
use crate::error::AppError;
use crate::models::setup;
use crate::models::team::Team;
use crate::models::user::{NewUser, User};
use crate::state::AppState;

/// Why the first set-up did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SetUpError {
    /// The set-up link is no longer valid (used, expired, or a user exists).
    #[error("set-up closed")]
    Closed,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Creates `name` with `owner` as its owner, inside the caller's transaction.
fn create_in(
    c: &mut DbConnection,
    actor: &Actor,
    name: &Name,
    owner: &UserId,
) -> diesel::QueryResult<Team> {
    let team = Team::create_with_owner(c, name.as_str(), owner, actor.at)?;
    let change = Change::new(
        AuditAction::TeamCreated,
        Target::new("team", team.id.clone(), team.name.clone()),
    )
    .with("slug", team.slug.clone());
    record(c, &Owner::Team(team.team_id()), actor, &change)?;
    Ok(team)
}

/// The acting user creates a team and owns it.
pub async fn create(state: &AppState, actor: &Actor, name: Name) -> Result<Team, AppError> {
    let actor = actor.clone();
    transact(state, move |c| {
        let owner = person(&actor)?;
        Ok::<_, Abort<AppError>>(create_in(c, &actor, &name, &owner)?)
    })
    .await
}

/// The first start's set-up: the owner's account and first team, once, with a valid set-up
/// `token`. `actor.who` names the new user.
pub async fn set_up(
    state: &AppState,
    actor: &Actor,
    token: String,
    email: Email,
    password_hash: String,
    team: Name,
) -> Result<Team, SetUpError> {
    let actor = actor.clone();
    transact(state, move |c| {
        // Checked inside the transaction: two racing set-ups cannot both succeed.
        if User::any_exist(c)? || !setup::is_valid(c, &token, actor.at)? {
            return Err(Abort::Refused(SetUpError::Closed));
        }
        let uid = person(&actor)?;
        User::insert(
            c,
            &NewUser {
                id: uid.as_str(),
                email: email.as_str(),
                name: actor.who.label(),
                password_hash: &password_hash,
                created_at: actor.at,
            },
        )?;
        let team = create_in(c, &actor, &team, &uid)?;
        setup::clear(c)?;
        Ok(team)
    })
    .await
}

/// A team's settings as saved.
#[derive(Clone, Debug)]
pub struct TeamSettings {
    /// Team name.
    pub name: Name,
    /// Default rate limit of its keys, per minute.
    pub rate_limit_per_minute: i32,
    /// Days its audit events are kept.
    pub audit_retention_days: i32,
}

/// Saves a team's settings; every cached key of the team sees them on its next request.
pub async fn update_settings(
    state: &AppState,
    actor: &Actor,
    team: &Team,
    settings: TeamSettings,
) -> Result<(), AppError> {
    let (actor, before) = (actor.clone(), team.clone());
    // The default rate limit is part of every cached key of the team.
    let stale = Stale::Team(team.team_id());
    transact_weakening(state, stale, move |c| {
        let id = before.team_id();
        Team::update_settings(
            c,
            &id,
            settings.name.as_str(),
            settings.rate_limit_per_minute,
            settings.audit_retention_days,
        )?;
        let mut change = Change::new(
            AuditAction::TeamUpdated,
            Target::new("team", before.id.clone(), settings.name.as_str()),
        )
        .with("rate_limit_per_minute", settings.rate_limit_per_minute)
        .with("audit_retention_days", settings.audit_retention_days);
        if before.name != settings.name.as_str() {
            change = change.with("previous_name", before.name.clone());
        }
        record(c, &Owner::Team(id), &actor, &change)?;
        Ok::<_, Abort<AppError>>(())
    })
    .await
}

//! Agency operations: create an agency, its clients (create, suspend, resume, delete), its
//! operators (invite, remove) and its brand. These events go to the agency's own log, so they
//! outlive a deleted client; a client's members never see them.

use super::{Abort, person, record, transact, transact_weakening};
use crate::cluster::Stale;
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target};
use crate::domain::ids::{AgencyId, UserId};
use crate::domain::inputs::{Email, Name};
use crate::error::AppError;
use crate::models::agency::{Agency, BrandSettings, HostError};
use crate::models::invitation::{self, Invitation};
use crate::models::team::Team;
use crate::models::user::User;
use crate::state::AppState;

/// Why an operator invitation was not sent.
#[derive(Debug, thiserror::Error)]
pub enum InviteOperatorError {
    /// The address already operates the agency.
    #[error("already an operator")]
    AlreadyOperator,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Why an operator was not removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveOperatorError {
    /// They do not operate this agency.
    #[error("not an operator")]
    NotOperator,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Why a brand was not saved.
#[derive(Debug, thiserror::Error)]
pub enum BrandError {
    /// Another agency already uses this host name; nothing was written.
    #[error("host {0} claimed")]
    HostClaimed(String),
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

fn client(team: &Team) -> Target {
    Target::new("client", team.id.clone(), team.name.clone())
}

/// The acting user starts an agency and owns it.
pub async fn create_agency(
    state: &AppState,
    actor: &Actor,
    name: Name,
) -> Result<Agency, AppError> {
    let actor = actor.clone();
    transact(state, move |c| {
        let owner = person(&actor)?;
        let agency = Agency::create_with_owner(c, name.as_str(), &owner, actor.at)?;
        let change = Change::new(
            AuditAction::AgencyCreated,
            Target::new("agency", agency.id.clone(), agency.name.clone()),
        );
        record(c, &Owner::Agency(agency.agency_id()), &actor, &change)?;
        Ok::<_, Abort<AppError>>(agency)
    })
    .await
}

/// Creates a client team of `agency`.
pub async fn create_client(
    state: &AppState,
    actor: &Actor,
    agency: &AgencyId,
    name: Name,
) -> Result<Team, AppError> {
    let (actor, agency) = (actor.clone(), agency.clone());
    transact(state, move |c| {
        let team = Team::create(c, name.as_str(), Some(&agency), actor.at)?;
        let change =
            Change::new(AuditAction::ClientCreated, client(&team)).with("slug", team.slug.clone());
        record(c, &Owner::Agency(agency), &actor, &change)?;
        Ok::<_, Abort<AppError>>(team)
    })
    .await
}

/// Suspends (`true`) or resumes a client: its keys get 403 `ACCOUNT_SUSPENDED` from the next
/// request on.
pub async fn set_suspended(
    state: &AppState,
    actor: &Actor,
    agency: &AgencyId,
    team: &Team,
    suspend: bool,
) -> Result<(), AppError> {
    let (actor, agency, t) = (actor.clone(), agency.clone(), team.clone());
    let stale = Stale::Team(team.team_id());
    transact_weakening(state, stale, move |c| {
        Team::set_suspended(c, &t.team_id(), suspend.then_some(actor.at))?;
        let action = if suspend {
            AuditAction::ClientSuspended
        } else {
            AuditAction::ClientResumed
        };
        record(
            c,
            &Owner::Agency(agency),
            &actor,
            &Change::new(action, client(&t)),
        )?;
        Ok::<_, Abort<AppError>>(())
    })
    .await
}

/// Deletes a client with its keys, members and data; the agency's log keeps the event.
pub async fn delete_client(
    state: &AppState,
    actor: &Actor,
    agency: &AgencyId,
    team: &Team,
) -> Result<(), AppError> {
    let (actor, agency, t) = (actor.clone(), agency.clone(), team.clone());
    let stale = Stale::Team(team.team_id());
    transact_weakening(state, stale, move |c| {
        record(
            c,
            &Owner::Agency(agency),
            &actor,
            &Change::new(AuditAction::ClientDeleted, client(&t)),
        )?;
        Team::delete(c, &t.team_id())?;
        Ok::<_, Abort<AppError>>(())
    })
    .await
}

/// Invites `email` to operate the agency; returns the one-time link token.
pub async fn invite_operator(
    state: &AppState,
    actor: &Actor,
    agency: &AgencyId,
    email: Email,
    link_base: &str,
) -> Result<super::mailing::Invited, InviteOperatorError> {
    let (actor, agency, mail_state) = (actor.clone(), agency.clone(), state.clone());
    let (token, draft) = transact(state, move |c| {
        let addr = email.as_str();
        if Agency::operators(c, &agency)?
            .iter()
            .any(|o| o.email == addr)
        {
            return Err(Abort::Refused(InviteOperatorError::AlreadyOperator));
        }
        let by = person(&actor)?;
        let to = invitation::Target::Agency(agency.clone());
        let (id, token) = Invitation::create(c, &to, addr, "operator", &by, actor.at)?;
        let change = Change::new(
            AuditAction::OperatorInvited,
            Target::new("invitation", id.as_str(), addr),
        );
        record(c, &Owner::Agency(agency.clone()), &actor, &change)?;
        let draft = super::mailing::invitation_draft(
            c,
            &mail_state,
            addr,
            &by,
            super::mailing::Place::Agency(&agency),
            actor.at,
        )?;
        Ok((token, draft))
    })
    .await?;
    Ok(super::mailing::hand_over(state, &token, draft, link_base).await)
}

/// Removes an operator: their next request to any client is refused.
pub async fn remove_operator(
    state: &AppState,
    actor: &Actor,
    agency: &AgencyId,
    user: &UserId,
) -> Result<(), RemoveOperatorError> {
    let (actor, agency, user) = (actor.clone(), agency.clone(), user.clone());
    transact(state, move |c| {
        let label = User::find(c, &user)?.map(|u| u.name).unwrap_or_default();
        if Agency::remove_operator(c, &agency, &user)? == 0 {
            return Err(Abort::Refused(RemoveOperatorError::NotOperator));
        }
        let change = Change::new(
            AuditAction::OperatorRemoved,
            Target::new("operator", user.as_str(), label),
        );
        record(c, &Owner::Agency(agency), &actor, &change)?;
        Ok(())
    })
    .await
}

/// What a brand change sets besides the settings: a new logo, or its removal.
pub enum LogoChange {
    /// Keep the current logo.
    Keep,
    /// Store this logo (bytes, content type).
    Set(Vec<u8>, String),
    /// Remove the logo.
    Remove,
}

/// Saves the agency's brand and host names (and logo); a host claimed by another agency is
/// refused and nothing is written.
pub async fn save_brand(
    state: &AppState,
    actor: &Actor,
    agency: &Agency,
    settings: BrandSettings,
    logo: LogoChange,
) -> Result<(), BrandError> {
    let (actor, agency) = (actor.clone(), agency.clone());
    transact(state, move |c| {
        let id = agency.agency_id();
        match Agency::save_brand(c, &id, &settings) {
            Ok(()) => {}
            Err(HostError::Claimed(h)) => return Err(Abort::Refused(BrandError::HostClaimed(h))),
            Err(HostError::Db(e)) => return Err(e.into()),
        }
        match &logo {
            LogoChange::Keep => {}
            LogoChange::Set(bytes, kind) => Agency::set_logo(c, &id, Some((bytes, kind)))?,
            LogoChange::Remove => Agency::set_logo(c, &id, None)?,
        }
        let change = Change::new(
            AuditAction::BrandUpdated,
            Target::new("agency", agency.id.clone(), agency.name.clone()),
        )
        .with("product_name", settings.product_name.clone())
        .with("primary_color", settings.primary_color.clone())
        .with("hosts", settings.hosts.clone())
        .with(
            "logo",
            match logo {
                LogoChange::Keep => "kept",
                LogoChange::Set(..) => "replaced",
                LogoChange::Remove => "removed",
            },
        );
        record(c, &Owner::Agency(id), &actor, &change)?;
        Ok(())
    })
    .await
}

//! Member and invitation operations of a team: invite, withdraw an invitation, accept one
//! (team or agency), change a role, remove, transfer ownership, leave. A team never loses its
//! last owner.

use super::mailing;
use super::{Abort, person, record, transact};
use crate::db::DbConnection;
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target, Who};
use crate::domain::ids::{InvitationId, TeamId, UserId};
use crate::domain::inputs::Email;
use crate::domain::role::{AgencyRole, Role};
use crate::error::AppError;
use crate::models::agency::{Agency, add_operator};
use crate::models::invitation::{self, Invitation};
use crate::models::team::{Team, add_member};
use crate::models::user::User;
use crate::state::AppState;

/// Why an invitation was not sent.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// The address already belongs to a member (or operator).
    #[error("already a member")]
    AlreadyMember,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Why an invitation could not be withdrawn.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    /// No open invitation of this team has that id.
    #[error("not found")]
    NotFound,
    /// It invites to a role the actor may not assign.
    #[error("forbidden")]
    Forbidden,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Why a membership change was refused.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// It would leave the team without an owner.
    #[error("last owner")]
    LastOwner,
    /// That user is not a member of the team.
    #[error("not a member")]
    NotMember,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// Why an invitation could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// Already used, withdrawn or broken.
    #[error("closed")]
    Closed,
    /// Something below failed.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// The member as a target: their name as it is now (and stays in the event).
fn member(c: &mut DbConnection, id: &UserId) -> diesel::QueryResult<Target> {
    let label = User::find(c, id)?.map(|u| u.name).unwrap_or_default();
    Ok(Target::new("member", id.as_str(), label))
}

fn keeps_an_owner<E>(c: &mut DbConnection, team: &TeamId, old: Role) -> Result<(), Abort<E>>
where
    E: From<MembershipError>,
{
    if old == Role::Owner && Team::owner_count(c, team)? <= 1 {
        return Err(Abort::Refused(MembershipError::LastOwner.into()));
    }
    Ok(())
}

pub use super::mailing::Invited;

/// Invites `email` to `team` as `role`; the link starts with `link_base` (the origin the
/// inviter is on). An open invitation to the same address is replaced. When e-mail is
/// configured the link is mailed to the address, after the commit.
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    email: Email,
    role: Role,
    link_base: &str,
) -> Result<Invited, InviteError> {
    let (actor, team, mail_state) = (actor.clone(), team.clone(), state.clone());
    let (token, draft) = transact(state, move |c| {
        let addr = email.as_str();
        if let Some(existing) = User::find_by_email(c, addr)?
            && Team::member_role(c, &team, &existing.user_id())?.is_some()
        {
            return Err(Abort::Refused(InviteError::AlreadyMember));
        }
        let to = invitation::Target::Team(team.clone());
        let by = person(&actor)?;
        let (id, token) = Invitation::create(c, &to, addr, role.as_str(), &by, actor.at)?;
        let change = Change::new(
            AuditAction::MemberInvited,
            Target::new("invitation", id.as_str(), addr),
        )
        .with("role", role.as_str());
        record(c, &Owner::Team(team.clone()), &actor, &change)?;
        let draft = mailing::invitation_draft(
            c,
            &mail_state,
            addr,
            &by,
            mailing::Place::Team(&team, role),
            actor.at,
        )?;
        Ok((token, draft))
    })
    .await?;
    Ok(mailing::hand_over(state, &token, draft, link_base).await)
}

/// Withdraws an open invitation of `team`; `actor_role` must be allowed to assign its role.
/// Returns the address it was for.
pub async fn withdraw_invitation(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    actor_role: Role,
    id: InvitationId,
) -> Result<String, WithdrawError> {
    let (actor, team) = (actor.clone(), team.clone());
    transact(state, move |c| {
        let to = invitation::Target::Team(team.clone());
        let Some(inv) = Invitation::find_pending(c, &to, &id, actor.at)? else {
            return Err(Abort::Refused(WithdrawError::NotFound));
        };
        if !Role::parse(&inv.role).is_some_and(|r| actor_role.can_assign(r)) {
            return Err(Abort::Refused(WithdrawError::Forbidden));
        }
        Invitation::revoke(c, &inv.id, actor.at)?;
        let change = Change::new(
            AuditAction::InvitationRevoked,
            Target::new("invitation", inv.id.clone(), inv.email.clone()),
        )
        .with("role", inv.role.clone());
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok(inv.email)
    })
    .await
}

/// Accepts an open invitation for the signed-in `user` (the actor, from `ip`): they join the
/// team with the invited role, or the agency as an operator. A second tab or a replay gets
/// `Closed`.
pub async fn accept_invitation(
    state: &AppState,
    user: &UserId,
    ip: Option<String>,
    inv: Invitation,
) -> Result<(), AcceptError> {
    let (uid, at) = (user.clone(), state.clock.now());
    transact(state, move |c| {
        // Marked first, and only if still open.
        if !Invitation::mark_accepted(c, &inv.id, at)? {
            return Err(Abort::Refused(AcceptError::Closed));
        }
        let name = User::find(c, &uid)?.map(|u| u.name).unwrap_or_default();
        let target = Target::new("member", uid.as_str(), name.clone());
        let actor = Actor {
            who: Who::User {
                id: uid.clone(),
                name,
            },
            ip,
            at,
        };
        match inv.target() {
            Some(invitation::Target::Team(team)) => {
                let role = Role::parse(&inv.role).unwrap_or(Role::Viewer);
                if Team::member_role(c, &team, &uid)?.is_none() {
                    add_member(c, &team, &uid, role, at)?;
                }
                let change = Change::new(AuditAction::MemberJoined, target)
                    .with("role", role.as_str())
                    .with("invitation_id", inv.id.clone());
                record(c, &Owner::Team(team), &actor, &change)?;
            }
            Some(invitation::Target::Agency(agency)) => {
                if !Agency::is_operator(c, agency.as_str(), &uid)? {
                    add_operator(c, &agency, &uid, AgencyRole::Operator, at)?;
                }
                let change = Change::new(AuditAction::OperatorJoined, target)
                    .with("invitation_id", inv.id.clone());
                record(c, &Owner::Agency(agency), &actor, &change)?;
            }
            None => return Err(Abort::Refused(AcceptError::Closed)),
        }
        Ok(())
    })
    .await
}

/// Gives `user` (now `from`) the role `to`; it applies from their next request.
pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    user: &UserId,
    from: Role,
    to: Role,
) -> Result<(), MembershipError> {
    let (actor, team, user) = (actor.clone(), team.clone(), user.clone());
    transact(state, move |c| {
        keeps_an_owner(c, &team, from)?;
        Team::set_role(c, &team, &user, to)?;
        let change = Change::new(AuditAction::MemberRoleChanged, member(c, &user)?)
            .with("from", from.as_str())
            .with("to", to.as_str());
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok(())
    })
    .await
}

/// Removes `user` (with role `role`) from the team. Their keys stay: keys belong to the team.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    user: &UserId,
    role: Role,
) -> Result<(), MembershipError> {
    let (actor, team, user) = (actor.clone(), team.clone(), user.clone());
    transact(state, move |c| {
        keeps_an_owner(c, &team, role)?;
        let target = member(c, &user)?;
        Team::remove_member(c, &team, &user)?;
        let change = Change::new(AuditAction::MemberRemoved, target).with("role", role.as_str());
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok(())
    })
    .await
}

/// Makes member `to` the owner; the acting owner becomes an admin.
pub async fn transfer_ownership(
    state: &AppState,
    actor: &Actor,
    team: &TeamId,
    to: &UserId,
) -> Result<(), MembershipError> {
    let (actor, team, to) = (actor.clone(), team.clone(), to.clone());
    transact(state, move |c| {
        let Some(me) = actor.who.user().cloned() else {
            return Err(Abort::Refused(MembershipError::NotMember));
        };
        if Team::member_role(c, &team, &to)?.is_none() {
            return Err(Abort::Refused(MembershipError::NotMember));
        }
        Team::set_role(c, &team, &to, Role::Owner)?;
        Team::set_role(c, &team, &me, Role::Admin)?;
        let change = Change::new(AuditAction::OwnershipTransferred, member(c, &to)?);
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok(())
    })
    .await
}

/// The acting user leaves the team (the last owner must transfer first).
pub async fn leave(state: &AppState, actor: &Actor, team: &TeamId) -> Result<(), MembershipError> {
    let (actor, team) = (actor.clone(), team.clone());
    transact(state, move |c| {
        let me = match &actor.who {
            Who::User { id, .. } => id.clone(),
            // Operators are not members: nothing to leave here.
            _ => return Err(Abort::Refused(MembershipError::NotMember)),
        };
        let Some(role) = Team::member_role(c, &team, &me)? else {
            return Err(Abort::Refused(MembershipError::NotMember));
        };
        keeps_an_owner(c, &team, role)?;
        Team::remove_member(c, &team, &me)?;
        let change =
            Change::new(AuditAction::MemberLeft, member(c, &me)?).with("role", role.as_str());
        record(c, &Owner::Team(team), &actor, &change)?;
        Ok(())
    })
    .await
}

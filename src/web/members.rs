//! Team settings → Members: invite (a one-time link shown once to the inviter), change role,
//! remove, transfer ownership, leave. Access is checked on every request, so a removed or
//! demoted member's very next request sees the change.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::mail::Sent;

use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::layout::{PageCtx, set_flash};
use super::reconfirm::{FormKind, reconfirm};
use super::team_context::TeamCtx;
use super::urls;
use crate::db::with_read;
use crate::domain::ids::{InvitationId, UserId};
use crate::domain::inputs::Email;
use crate::domain::role::Role;
use crate::models::invitation::{Invitation, Target};
use crate::models::team::Team;
use crate::models::two_factor;
use crate::ops;
use crate::ops::members::{InviteError, MembershipError, WithdrawError};
use crate::render;
use crate::state::AppState;
use crate::timefmt::TimeView;
use crate::web::current_user::SignedIn;

/// One member row.
pub struct MemberRow {
    /// User id (form targets, test hooks).
    pub user_id: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Role name.
    pub role: &'static str,
    /// Joined.
    pub joined: TimeView,
    /// This is the viewer.
    pub is_self: bool,
    /// Signs in with a second factor.
    pub two_factor: bool,
    /// Roles the viewer may switch this member to (empty: no role control).
    pub role_choices: Vec<&'static str>,
    /// The viewer may remove this member.
    pub removable: bool,
    /// Role change target.
    pub role_url: String,
    /// Removal target.
    pub remove_url: String,
}

/// One pending invitation row.
pub struct InvitationRow {
    /// Id.
    pub id: String,
    /// Invited address.
    pub email: String,
    /// Role on acceptance.
    pub role: String,
    /// Expiry.
    pub expires: TimeView,
    /// Withdraw target, when the viewer may.
    pub revoke_url: Option<String>,
}

/// The invite form's values and messages.
#[derive(Default)]
pub struct InviteForm {
    /// As typed.
    pub email: String,
    /// Message.
    pub email_error: Option<&'static str>,
    /// Chosen role.
    pub role: String,
    /// Message.
    pub role_error: Option<&'static str>,
}

/// An invitation just made, as its panel shows it (`partials/invitation_panel.html`, on the
/// members and the operators page).
pub(super) struct NewInvitation {
    /// The one-time link.
    pub link: String,
    /// The invited address.
    pub email: String,
    /// Whether it was e-mailed too.
    pub mail: Sent,
}

impl NewInvitation {
    /// The panel of `invited`, sent to `email`.
    pub fn new(invited: ops::members::Invited, email: &str) -> Self {
        Self {
            link: invited.link,
            email: email.to_owned(),
            mail: invited.mail,
        }
    }
}

#[derive(Template)]
#[template(path = "members/list.html", blocks = ["content"])]
struct MembersPage {
    ctx: PageCtx,
    members: Vec<MemberRow>,
    invitations: Vec<InvitationRow>,
    can_invite: bool,
    invite_roles: Vec<(&'static str, &'static str)>,
    form: InviteForm,
    invite_url: String,
    /// The invitation just made (its link shown once).
    new_invitation: Option<NewInvitation>,
    transfer_to: Vec<(String, String)>,
    transfer_url: String,
    leave_url: String,
    /// Sole owner: may not leave before transferring.
    sole_owner: bool,
    /// The viewer is a direct member (operators are not, and have nothing to leave).
    is_member: bool,
    agency_note: Option<String>,
    roles: Vec<(&'static str, &'static str)>,
    policy: PolicyPanel,
}

/// The "Two-factor sign-in" panel under a team's members or an agency's operators.
pub struct PolicyPanel {
    /// Required of everyone who opens the owner's pages.
    pub required: bool,
    /// The viewer owns the team or agency (only owners change it).
    pub can_change: bool,
    /// Members (operators) listed, and how many of them have a second factor.
    pub total: usize,
    /// Of which with a second factor.
    pub with: usize,
    /// Where the form posts.
    pub url: String,
    /// Why the last change was refused.
    pub error: Option<&'static str>,
}

async fn page(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    form: InviteForm,
    new_invitation: Option<NewInvitation>,
) -> Result<MembersPage, PageError> {
    let now = state.clock.now();
    let team_id = team.team_id();
    let target = Target::Team(team_id.clone());
    let (members, invitations, enrolled) = with_read(&state.pool, move |c| {
        let members = Team::members(c, &team_id)?;
        let ids: Vec<String> = members.iter().map(|m| m.user_id.to_string()).collect();
        let enrolled = two_factor::with_second_factor_among(c, &ids)?;
        Ok((members, Invitation::pending(c, &target, now)?, enrolled))
    })
    .await?;
    let me = team.current.role;
    let my_id = user.user.id.clone();
    let slug = team.slug();
    let owners = members.iter().filter(|m| m.role == Role::Owner).count();
    let direct_role = members.iter().find(|m| m.user_id == my_id).map(|m| m.role);
    let assignable: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| me.can_assign(*r))
        .collect();
    let rows = members
        .iter()
        .map(|m| {
            let is_self = m.user_id == my_id;
            let manageable = !is_self && me.can_manage_member(m.role);
            // The last owner keeps the role: a team always has someone who can delete it.
            let last_owner = m.role == Role::Owner && owners <= 1;
            MemberRow {
                user_id: m.user_id.to_string(),
                name: m.name.clone(),
                email: m.email.clone(),
                role: m.role.as_str(),
                joined: TimeView::new(now, m.joined_at),
                is_self,
                two_factor: enrolled.contains(m.user_id.as_str()),
                role_choices: if manageable && !last_owner {
                    assignable.iter().map(|r| r.as_str()).collect()
                } else {
                    vec![]
                },
                removable: manageable && !last_owner,
                role_url: urls::member_action(slug, &m.user_id, "role"),
                remove_url: urls::member_action(slug, &m.user_id, "remove"),
            }
        })
        .collect();
    let invitation_rows = invitations
        .into_iter()
        .map(|i| {
            let may = Role::parse(&i.role).is_some_and(|r| me.can_assign(r));
            InvitationRow {
                revoke_url: may.then(|| urls::invitation_revoke(slug, &i.id)),
                expires: TimeView::new(now, i.expires_at),
                id: i.id.into(),
                email: i.email,
                role: i.role,
            }
        })
        .collect();
    let transfer_to = if me.is_owner() && direct_role == Some(Role::Owner) {
        members
            .iter()
            .filter(|m| m.user_id != my_id && m.role != Role::Owner)
            .map(|m| (m.user_id.to_string(), format!("{} ({})", m.name, m.email)))
            .collect()
    } else {
        vec![]
    };
    Ok(MembersPage {
        ctx: PageCtx::new("Members", user, team, "members"),
        members: rows,
        invitations: invitation_rows,
        can_invite: !assignable.is_empty(),
        invite_roles: assignable
            .iter()
            .map(|r| (r.as_str(), r.description()))
            .collect(),
        form,
        invite_url: urls::members_action(slug, "invitations"),
        new_invitation,
        transfer_to,
        transfer_url: urls::members_action(slug, "transfer"),
        leave_url: urls::members_action(slug, "leave"),
        sole_owner: direct_role == Some(Role::Owner) && owners <= 1,
        is_member: direct_role.is_some(),
        agency_note: team.current.agency.as_ref().map(|a| {
            format!(
                "Operators of {} also manage this client; they are not listed here.",
                a.name
            )
        }),
        roles: Role::ALL
            .into_iter()
            .map(|r| (r.as_str(), r.description()))
            .collect(),
        policy: PolicyPanel {
            required: team.current.team.require_two_factor,
            can_change: direct_role == Some(Role::Owner),
            total: members.len(),
            with: members
                .iter()
                .filter(|m| enrolled.contains(m.user_id.as_str()))
                .count(),
            url: urls::members_action(slug, "two-factor"),
            error: None,
        },
    })
}

fn see_other(url: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.to_owned()))
        .finish()
}

/// GET the members page.
pub async fn list(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    let p = page(&state, &user, &team, InviteForm::default(), None).await?;
    Ok(render!(htmx, StatusCode::OK, p)?)
}

/// POST an invitation → the page with the link shown once, or 422 with messages.
pub async fn invite(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    let me = team.current.role;
    if !Role::ALL.into_iter().any(|r| me.can_assign(r)) {
        return Err(PageError::Forbidden);
    }
    let mut f = InviteForm {
        email: form.get("email").trim().to_owned(),
        role: form.get("role").to_owned(),
        ..InviteForm::default()
    };
    let email = Email::parse(&f.email)
        .map_err(|m| f.email_error = Some(m))
        .ok();
    let role = match Role::parse(&f.role) {
        Some(r) if me.can_assign(r) => Some(r),
        Some(Role::Owner) => {
            f.role_error = Some("Ownership moves only by transfer. Invite as admin first.");
            None
        }
        _ => {
            f.role_error = Some("Choose a role from the list.");
            None
        }
    };
    let (Some(email), Some(role)) = (email, role) else {
        let p = page(&state, &user, &team, f, None).await?;
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, p)?);
    };
    let actor = team.actor(&state, &user, &req);
    let base = urls::public_base(&state.config.public_url, team.brand.host.as_deref());
    let invited =
        match ops::members::invite(&state, &actor, &team.team_id(), email.clone(), role, &base)
            .await
        {
            Ok(invited) => invited,
            Err(InviteError::AlreadyMember) => {
                f.email_error = Some("This person is already a member of the team.");
                let p = page(&state, &user, &team, f, None).await?;
                return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, p)?);
            }
            Err(InviteError::Failed(e)) => return Err(e.into()),
        };
    let p = page(
        &state,
        &user,
        &team,
        InviteForm::default(),
        Some(NewInvitation::new(invited, email.as_str())),
    )
    .await?;
    Ok(super::htmx::no_store(render!(htmx, StatusCode::OK, p)?))
}

/// POST revoke an open invitation.
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (slug, raw_id) = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    let id = InvitationId::parse(&raw_id).ok_or(PageError::NotFound)?;
    let actor = team.actor(&state, &user, &req);
    let me = team.current.role;
    let email =
        match ops::members::withdraw_invitation(&state, &actor, &team.team_id(), me, id).await {
            Ok(email) => email,
            Err(WithdrawError::NotFound) => return Err(PageError::NotFound),
            Err(WithdrawError::Forbidden) => return Err(PageError::Forbidden),
            Err(WithdrawError::Failed(e)) => return Err(e.into()),
        };
    set_flash(
        &user.session,
        &format!("Invitation for {email} withdrawn; its link no longer works."),
    );
    Ok(see_other(&urls::members(&slug)))
}

/// The member named in the URL, for a viewer allowed to manage them: 404 for someone not in
/// the team, 403 for a member the viewer's role may not touch (or themselves).
async fn managed_member(
    state: &AppState,
    team: &TeamCtx,
    user: &SignedIn,
    raw: &str,
) -> Result<(UserId, Role), PageError> {
    let target = UserId::parse(raw).ok_or(PageError::NotFound)?;
    let team_id = team.team_id();
    let t = target.clone();
    let role = with_read(&state.pool, move |c| {
        Ok(Team::member_role(c, &team_id, &t)?)
    })
    .await?
    .ok_or(PageError::NotFound)?;
    if target == user.id() || !team.current.role.can_manage_member(role) {
        return Err(PageError::Forbidden);
    }
    Ok((target, role))
}

/// A membership change's outcome as the page reports it: done (true), refused because it
/// would leave no owner (false); a member gone meanwhile is a 404.
fn settled(result: Result<(), MembershipError>) -> Result<bool, PageError> {
    match result {
        Ok(()) => Ok(true),
        Err(MembershipError::LastOwner) => Ok(false),
        Err(MembershipError::NotMember) => Err(PageError::NotFound),
        Err(MembershipError::Failed(e)) => Err(e.into()),
    }
}

/// POST change a member's role.
pub async fn change_role(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (slug, raw) = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    let (target, old) = managed_member(&state, &team, &user, &raw).await?;
    let Some(role) = Role::parse(form.get("role")).filter(|r| team.current.role.can_assign(*r))
    else {
        return Err(PageError::BadRequest(
            "Choose a role you may assign from the list.",
        ));
    };
    let actor = team.actor(&state, &user, &req);
    let changed = settled(
        ops::members::change_role(&state, &actor, &team.team_id(), &target, old, role).await,
    )?;
    set_flash(
        &user.session,
        &if changed {
            format!(
                "Role changed to {}. It applies from their next request.",
                role.as_str()
            )
        } else {
            "The team's last owner keeps the role. Transfer ownership first.".to_owned()
        },
    );
    Ok(see_other(&urls::members(&slug)))
}

/// POST remove a member. Their keys stay: keys belong to the team.
pub async fn remove(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (slug, raw) = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    let (target, old) = managed_member(&state, &team, &user, &raw).await?;
    let actor = team.actor(&state, &user, &req);
    let removed =
        settled(ops::members::remove(&state, &actor, &team.team_id(), &target, old).await)?;
    set_flash(
        &user.session,
        if removed {
            "Member removed. Their next request is refused; the keys they created keep working."
        } else {
            "The team's last owner cannot be removed."
        },
    );
    Ok(see_other(&urls::members(&slug)))
}

#[derive(Template)]
#[template(path = "members/remove.html", blocks = ["content"])]
struct RemovePage {
    ctx: PageCtx,
    name: String,
    email: String,
    /// Keys they created that still work (removal leaves them working).
    keys: i64,
    keys_url: String,
    action: String,
    cancel_url: String,
}

/// GET the confirmation of removing a member.
pub async fn remove_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (slug, raw) = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    let (target, _) = managed_member(&state, &team, &user, &raw).await?;
    let team_id = team.team_id();
    let t = target.clone();
    let now = state.clock.now();
    let (member, keys) = with_read(&state.pool, move |c| {
        let member = Team::members(c, &team_id)?
            .into_iter()
            .find(|m| m.user_id == t);
        let keys = crate::models::api_key_list::created_by_working(c, &team_id, &t, now)?;
        Ok((member, keys))
    })
    .await?;
    let member = member.ok_or(PageError::NotFound)?;
    let page = RemovePage {
        ctx: PageCtx::new(format!("Remove {}", member.name), &user, &team, "members"),
        name: member.name,
        email: member.email,
        keys,
        keys_url: urls::with_query(&urls::api_keys(&slug), [("creator", target.as_str())]),
        action: urls::member_action(&slug, &target, "remove"),
        cancel_url: urls::members(&slug),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

#[derive(Template)]
#[template(path = "members/transfer.html", blocks = ["content"])]
struct TransferPage {
    ctx: PageCtx,
    name: String,
    email: String,
    user_id: String,
    action: String,
    cancel_url: String,
}

/// GET the confirmation of a transfer of ownership to `?user_id=`.
pub async fn transfer_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    query: web::Query<std::collections::HashMap<String, String>>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let slug = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    if team.current.role != Role::Owner {
        return Err(PageError::Forbidden);
    }
    let me = user.id();
    let target = query
        .get("user_id")
        .and_then(|u| UserId::parse(u))
        .filter(|u| *u != me)
        .ok_or(PageError::BadRequest("Choose a member to transfer to."))?;
    let team_id = team.team_id();
    let t = target.clone();
    let member = with_read(&state.pool, move |c| {
        Ok(Team::members(c, &team_id)?
            .into_iter()
            .find(|m| m.user_id == t))
    })
    .await?
    .ok_or(PageError::BadRequest("Choose a member to transfer to."))?;
    let page = TransferPage {
        ctx: PageCtx::new("Transfer ownership", &user, &team, "members"),
        name: member.name,
        email: member.email,
        user_id: target.as_str().to_owned(),
        action: urls::members_action(&slug, "transfer"),
        cancel_url: urls::members(&slug),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST transfer ownership: the chosen member becomes owner, the current owner admin.
pub async fn transfer(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    mut form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let slug = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    let team_id = team.team_id();
    let me = user.id();
    let m = me.clone();
    let t = team_id.clone();
    let mine = with_read(&state.pool, move |c| Ok(Team::member_role(c, &t, &m)?)).await?;
    if mine != Some(Role::Owner) {
        return Err(PageError::Forbidden);
    }
    let target = UserId::parse(form.get("user_id"))
        .filter(|u| *u != me)
        .ok_or(PageError::BadRequest("Choose a member to transfer to."))?;
    if let Some(ask) = reconfirm(&state, &user, &req, htmx, &mut form, FormKind::Urlencoded).await?
    {
        return Ok(ask);
    }
    let actor = team.actor(&state, &user, &req);
    match ops::members::transfer_ownership(&state, &actor, &team_id, &target).await {
        Ok(()) => {}
        Err(MembershipError::NotMember | MembershipError::LastOwner) => {
            return Err(PageError::BadRequest("Choose a member to transfer to."));
        }
        Err(MembershipError::Failed(e)) => return Err(e.into()),
    }
    set_flash(
        &user.session,
        "Ownership transferred. You are now an admin of this team.",
    );
    Ok(see_other(&urls::members(&slug)))
}

/// POST require (`required=true`) or stop requiring a second factor of the team's members
/// (owners only; an owner without one is refused with a 422).
pub async fn two_factor_policy(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    // Operators act as admins: only the team's own owners change this.
    if !team.current.role.is_owner() {
        return Err(PageError::Forbidden);
    }
    let required = PolicyPanel::required_field(&form)?;
    let actor = team.actor(&state, &user, &req);
    let owner = crate::domain::audit::Owner::Team(team.team_id());
    let name = team.current.team.name.clone();
    match ops::two_factor::set_required(&state, &actor, &user.id(), owner, name, required).await {
        Ok(()) => {
            set_flash(
                &user.session,
                if required {
                    "Two-factor sign-in is now required: members without it are asked to set it up before anything else."
                } else {
                    "Two-factor sign-in is no longer required."
                },
            );
            Ok(see_other(&urls::members(team.slug())))
        }
        Err(ops::two_factor::PolicyError::OwnSecondFactorFirst) => {
            let mut p = page(&state, &user, &team, InviteForm::default(), None).await?;
            p.policy.error = Some(OWN_SECOND_FACTOR_FIRST);
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, p)?)
        }
        Err(ops::two_factor::PolicyError::Failed(e)) => Err(e.into()),
    }
}

impl PolicyPanel {
    /// The policy form's `required` field: `true` or `false`, anything else a 400.
    pub fn required_field(form: &FormData) -> Result<bool, PageError> {
        match form.get("required") {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(PageError::BadRequest("required must be true or false")),
        }
    }
}

/// Why an owner without a second factor cannot require one.
pub const OWN_SECOND_FACTOR_FIRST: &str =
    "Set up two-factor sign-in for your own account first (Your account → Two-factor sign-in).";

/// POST leave the team (the last owner must transfer first).
pub async fn leave(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let slug = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    let actor = team.actor(&state, &user, &req);
    let left = match ops::members::leave(&state, &actor, &team.team_id()).await {
        Ok(()) => Some(true),
        Err(MembershipError::LastOwner) => Some(false),
        Err(MembershipError::NotMember) => None,
        Err(MembershipError::Failed(e)) => return Err(e.into()),
    };
    match left {
        // Operators are not members: nothing to leave here.
        None => Err(PageError::NotFound),
        Some(false) => {
            set_flash(
                &user.session,
                "You are the last owner. Transfer ownership before leaving.",
            );
            Ok(see_other(&urls::members(&slug)))
        }
        Some(true) => {
            set_flash(
                &user.session,
                &format!("You left {}.", team.current.team.name),
            );
            Ok(see_other("/"))
        }
    }
}

//! What the operations mail, gathered from the rows of the change (inside its transaction)
//! and composed by `mail::compose`: an invitation is sent at once, while the inviter waits
//! (its link exists only in that response, so it is never stored to be sent later); a key's
//! expiry notice is queued in the transaction that records the notice and sent by the mail
//! job, with retries. Without `LATCHKEY_SMTP_URL` nothing is mailed or queued.

use crate::db::DbConnection;
use crate::domain::brand::HexColor;
use crate::domain::ids::{AgencyId, TeamId, UserId};
use crate::domain::key_notice::Notice;
use crate::domain::role::Role;
use crate::error::AppError;
use crate::mail::compose::{self, Brand};
use crate::mail::{Mail, Sent};
use crate::models::agency::Agency;
use crate::models::api_key::ApiKey;
use crate::models::invitation::{INVITATION_TTL, InvitationToken};
use crate::models::mail_queue;
use crate::models::team::Team;
use crate::models::user::User;
use crate::state::AppState;

/// An invitation made: its one-time link (for the inviter's page, the only place it is ever
/// shown) and whether it was also e-mailed.
#[derive(Debug)]
pub struct Invited {
    /// The whole link (it carries the token).
    pub link: String,
    /// What became of its e-mail.
    pub mail: crate::mail::Sent,
}

/// An agency's look in mail: its product name, its colour (when it reads on white), its
/// support address for replies, and its first host name for links.
fn agency_brand(
    c: &mut DbConnection,
    agency: &AgencyId,
) -> diesel::QueryResult<(Brand, Option<String>)> {
    let Some(a) = Agency::find(c, agency)? else {
        return Ok((Brand::latchkey("Latchkey"), None));
    };
    let colour = a
        .primary_color
        .as_deref()
        .and_then(|c| HexColor::parse(c).ok())
        .map_or_else(|| compose::DEFAULT_COLOUR.to_owned(), HexColor::css);
    let host = Agency::hosts(c, agency)?.into_iter().next();
    Ok((
        Brand {
            name: a.product().to_owned(),
            colour,
            support: a.support_email.clone(),
        },
        host,
    ))
}

/// The brand of `team` (its agency's, or Latchkey's under the configured sender's name).
fn team_brand(
    c: &mut DbConnection,
    state: &AppState,
    team: &Team,
) -> diesel::QueryResult<(Brand, Option<String>)> {
    match &team.agency_id {
        Some(a) => agency_brand(c, a),
        None => Ok((Brand::latchkey(sender_name(state)), None)),
    }
}

/// The name Latchkey goes by in mails and authenticator apps: the configured sender's display
/// name, else "Latchkey".
pub(crate) fn sender_name(state: &AppState) -> &str {
    state
        .mailer
        .as_deref()
        .map_or("Latchkey", |m| m.default_sender_name())
}

/// An invitation mail, composed inside the invitation's transaction (the link is added
/// after, from the token only the response holds).
pub(crate) struct InvitationDraft {
    to: String,
    inviter: String,
    inviter_email: String,
    place: String,
    role: String,
    expires_at: i64,
    brand: Brand,
}

/// Where an invitation leads, for its mail.
pub(crate) enum Place<'a> {
    /// A team, as `role`.
    Team(&'a TeamId, Role),
    /// An agency, as operator.
    Agency(&'a AgencyId),
}

/// Gathers what an invitation made at `at` says in its mail (`None` when e-mail is off).
pub(crate) fn invitation_draft(
    c: &mut DbConnection,
    state: &AppState,
    to: &str,
    by: &UserId,
    place: Place<'_>,
    at: i64,
) -> diesel::QueryResult<Option<InvitationDraft>> {
    if state.mailer.is_none() {
        return Ok(None);
    }
    let inviter = User::find(c, by)?;
    let (place, role, brand) = match place {
        Place::Team(team, role) => {
            let Some(t) = Team::find_by_id(c, team)? else {
                return Ok(None);
            };
            let (brand, _) = team_brand(c, state, &t)?;
            (t.name, role.as_str().to_owned(), brand)
        }
        Place::Agency(agency) => {
            let (brand, _) = agency_brand(c, agency)?;
            let name = Agency::find(c, agency)?.map(|a| a.name).unwrap_or_default();
            (name, "operator".to_owned(), brand)
        }
    };
    Ok(Some(InvitationDraft {
        to: to.to_owned(),
        inviter: inviter.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
        inviter_email: inviter.map(|u| u.email).unwrap_or_default(),
        place,
        role,
        expires_at: at + INVITATION_TTL,
        brand,
    }))
}

/// After an invitation's commit: its link (on `link_base`, the origin the inviter is on) for
/// the inviter's page, mailed now when e-mail is on.
pub(crate) async fn hand_over(
    state: &AppState,
    token: &InvitationToken,
    draft: Option<InvitationDraft>,
    link_base: &str,
) -> Invited {
    let link = format!(
        "{link_base}{}",
        crate::links::invitation_path(token.expose())
    );
    let mail = send_invitation(state, draft, &link).await;
    Invited { link, mail }
}

/// Sends an invitation's mail with its `link`, now; what happened is for the inviter's page
/// (a failure is logged without the link, and the page still hands the link over).
async fn send_invitation(state: &AppState, draft: Option<InvitationDraft>, link: &str) -> Sent {
    let (Some(mailer), Some(d)) = (state.mailer.as_deref(), draft) else {
        return Sent::Off;
    };
    let mail = compose::Invitation {
        to: d.to,
        inviter: d.inviter,
        inviter_email: d.inviter_email,
        place: d.place,
        role: d.role,
        link: link.to_owned(),
        expires_at: d.expires_at,
        brand: d.brand,
    }
    .mail();
    let outcome = match mail {
        Ok(m) => mailer.send(&m).await.map_err(|e| e.to_string()),
        Err(e) => Err(format!("the mail could not be written: {e}")),
    };
    match outcome {
        Ok(()) => Sent::Sent,
        Err(reason) => {
            tracing::warn!(reason = %reason, "invitation e-mail not sent; the inviter was shown the link");
            Sent::Failed(reason)
        }
    }
}

/// Queues the e-mail of a key's expiry `notice` to the team's owners and admins (and, for an
/// agency's client, the agency's operators), inside the notice's transaction. Nothing when
/// e-mail is off or the notice is not about expiry.
pub(crate) fn queue_expiry_notice(
    c: &mut DbConnection,
    state: &AppState,
    key: &ApiKey,
    notice: Notice,
    now: i64,
) -> Result<usize, AppError> {
    if state.mailer.is_none() {
        return Ok(0);
    }
    let days_left = match notice {
        Notice::Expiring7d | Notice::Expiring1d => notice.days(),
        Notice::Expired => None,
        Notice::GraceEnded => return Ok(0),
    };
    let (Some(expires_at), Some(team)) = (key.expires_at, Team::find_by_id(c, &key.team_id)?)
    else {
        return Ok(0);
    };
    let mut to: Vec<String> = Team::members(c, &team.team_id())?
        .into_iter()
        .filter(|m| matches!(m.role, Role::Owner | Role::Admin))
        .map(|m| m.email)
        .collect();
    if let Some(agency) = &team.agency_id {
        to.extend(Agency::operators(c, agency)?.into_iter().map(|o| o.email));
    }
    to.sort();
    to.dedup();
    if to.is_empty() {
        return Ok(0);
    }
    let (brand, host) = team_brand(c, state, &team)?;
    let link = format!(
        "{}{}",
        crate::links::public_base(&state.config.public_url, host.as_deref()),
        crate::links::api_key_path(&team.slug, key.id.as_str())
    );
    let mails: Vec<Mail> = compose::KeyExpiry {
        key_name: key.name.clone(),
        masked: key.masked(),
        mode: key.mode.as_str().to_owned(),
        team: team.name.clone(),
        expires_at,
        days_left,
        link,
        brand,
    }
    .mails(&to)
    .map_err(|e| AppError::Internal(format!("expiry mail template: {e}")))?;
    let kind = match notice {
        Notice::Expired => "api_key.expired",
        _ => "api_key.expiring",
    };
    Ok(mail_queue::enqueue(
        c,
        Some(&team.team_id()),
        kind,
        &mails,
        now,
    )?)
}

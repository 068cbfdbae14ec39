//! Which integration a page is about, and whether the person may manage it: the team's
//! integration named in the URL (another team's is exactly as missing: 404), managed by owners
//! and admins, and by the developer who created it.

use super::error::PageError;
use super::team_context::TeamCtx;
use crate::db::with_read;
use crate::domain::ids::IntegrationId;
use crate::models::integration::Integration;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// The team's integration `raw_id`, or 404 (another team's is exactly as missing).
async fn load(state: &AppState, team: &TeamCtx, raw_id: &str) -> Result<Integration, PageError> {
    let id = IntegrationId::parse(raw_id).ok_or(PageError::NotFound)?;
    let team_id = team.team_id().to_string();
    with_read(&state.pool, move |c| {
        Ok(Integration::of_team(c, &team_id, id.as_str())?)
    })
    .await?
    .ok_or(PageError::NotFound)
}

/// Owners and admins manage every integration; developers the ones they created.
pub(super) fn may_manage(team: &TeamCtx, user: &SignedIn, i: &Integration) -> bool {
    let own = i.created_by.as_deref() == Some(user.user.id.as_str());
    team.current.role.can_manage_key(own)
}

/// The team and its integration named in the URL, for a user who may manage it: 404 when it
/// is not the team's, 403 when the role may only look.
pub(super) async fn managed(
    state: &AppState,
    user: &SignedIn,
    (slug, id): (String, String),
) -> Result<(TeamCtx, Integration), PageError> {
    let team = TeamCtx::load(state, user, &slug).await?;
    let i = load(state, &team, &id).await?;
    if !may_manage(&team, user, &i) {
        return Err(PageError::Forbidden);
    }
    Ok((team, i))
}

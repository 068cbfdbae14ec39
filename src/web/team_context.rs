//! Loading the team named in the URL, for a member. Non-members get 404, exactly as for a
//! team that does not exist.

use crate::auth::current_user::SignedIn;
use crate::error::with_conn;
use crate::models::team::{MemberTeam, Team};
use crate::startup::AppState;

use super::error::PageError;

/// The current team and the user's other teams.
pub struct TeamCtx {
    /// The team in the URL, with the user's role.
    pub current: MemberTeam,
    /// All the user's teams (switcher).
    pub all: Vec<MemberTeam>,
}

impl TeamCtx {
    /// Loads `slug` for `user`, or 404.
    pub async fn load(state: &AppState, user: &SignedIn, slug: &str) -> Result<Self, PageError> {
        if slug.is_empty() || slug.len() > 64 {
            return Err(PageError::NotFound);
        }
        let user_id = user.id();
        let slug = slug.to_owned();
        let (current, all) = with_conn(&state.pool, move |c| {
            let current = Team::find_for_member(c, &slug, &user_id)?;
            let all = if current.is_some() {
                Team::list_for_user(c, &user_id)?
            } else {
                vec![]
            };
            Ok((current, all))
        })
        .await?;
        let current = current.ok_or(PageError::NotFound)?;
        Ok(Self { current, all })
    }

    /// The team's slug.
    pub fn slug(&self) -> &str {
        &self.current.team.slug
    }

    /// The team's id.
    pub fn team_id(&self) -> crate::domain::ids::TeamId {
        self.current.team.team_id()
    }

    /// Who acts, for the audit events of this request: operators are recorded with their
    /// agency ("operator X of agency Y").
    pub fn actor(
        &self,
        state: &AppState,
        user: &SignedIn,
        req: &actix_web::HttpRequest,
    ) -> crate::models::audit::Actor {
        let mut actor = state.actor(self.team_id(), Some(user.id()), req);
        if self.current.via_agency {
            actor.agency = self.current.agency.as_ref().map(|a| a.id.clone());
        }
        actor
    }

    /// 403 unless the user may manage keys.
    pub fn require_key_manager(&self) -> Result<(), PageError> {
        if self.current.role.can_manage_keys() {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }
}

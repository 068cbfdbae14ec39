//! Loading the team named in the URL, for a member or an operator of its agency. Anyone else
//! gets 404, exactly as for a team that does not exist. Every URL names its team, so no form
//! of one client's page can act on another.

use crate::models::team::{MemberTeam, Team};
use crate::state::AppState;
use crate::web::current_user::SignedIn;

use super::brand::Brand;
use super::error::PageError;
use super::memberships::{Found, Memberships, load_owner};

/// The current team and the user's other teams.
pub struct TeamCtx {
    /// The team in the URL, with the user's effective role.
    pub current: MemberTeam,
    /// The user's teams and agencies (switcher).
    pub memberships: Memberships,
    /// The brand these pages wear.
    pub brand: Brand,
}

impl TeamCtx {
    /// Loads `slug` for `user`, or 404.
    pub async fn load(state: &AppState, user: &SignedIn, slug: &str) -> Result<Self, PageError> {
        let loaded = load_owner(state, user, slug, |c, slug, user_id| {
            Ok(Team::find_for_member(c, slug, user_id)?.map(|current| {
                let agency = current.team.agency_id.clone();
                // An operator answers to the agency's policy as well as the team's.
                let agency_requires = current.via_agency
                    && current
                        .agency
                        .as_ref()
                        .is_some_and(|a| a.require_two_factor);
                Found {
                    requires_two_factor: current.team.require_two_factor || agency_requires,
                    owner: current,
                    agency,
                }
            }))
        })
        .await?;
        Ok(Self {
            current: loaded.owner,
            memberships: loaded.memberships,
            brand: loaded.brand,
        })
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
    ) -> crate::domain::audit::Actor {
        let who = match self
            .current
            .agency
            .as_ref()
            .filter(|_| self.current.via_agency)
        {
            Some(agency) => crate::domain::audit::Who::Operator {
                id: user.id(),
                name: user.user.name.clone(),
                agency: agency.id.clone(),
            },
            None => user.who(),
        };
        state.actor(who, req)
    }

    /// 403 unless the user may manage every key.
    pub fn require_key_manager(&self) -> Result<(), PageError> {
        if self.current.role.can_manage_keys() {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }

    /// 403 unless the user may create keys (developers too).
    pub fn require_key_creator(&self) -> Result<(), PageError> {
        if self.current.role.can_create_keys() {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }
}

//! Loading the team named in the URL, for a member or an operator of its agency. Anyone else
//! gets 404, exactly as for a team that does not exist. Every URL names its team, so no form
//! of one client's page can act on another.

use crate::db::with_read;
use crate::models::agency::Agency;
use crate::models::team::{AgencyRef, MemberTeam, Team};
use crate::state::AppState;
use crate::web::current_user::SignedIn;

use super::brand::Brand;
use super::error::PageError;

/// The current team and the user's other teams.
pub struct TeamCtx {
    /// The team in the URL, with the user's effective role.
    pub current: MemberTeam,
    /// All the user's teams (switcher).
    pub all: Vec<MemberTeam>,
    /// Agencies the user operates (switcher).
    pub agencies: Vec<AgencyRef>,
    /// The brand these pages wear.
    pub brand: Brand,
}

impl TeamCtx {
    /// Loads `slug` for `user`, or 404.
    pub async fn load(state: &AppState, user: &SignedIn, slug: &str) -> Result<Self, PageError> {
        if slug.is_empty() || slug.len() > 64 {
            return Err(PageError::NotFound);
        }
        let user_id = user.id();
        let slug = slug.to_owned();
        let host = user.host.clone();
        let found = with_read(&state.pool, move |c| {
            let Some(current) = Team::find_for_member(c, &slug, &user_id)? else {
                return Ok(None);
            };
            let all = Team::list_for_user(c, &user_id)?;
            let agencies = Agency::list_for_user(c, &user_id)?;
            let brand = Brand::resolve(c, host.as_deref(), current.team.agency_id.as_deref())?;
            Ok(Some(Self {
                current,
                all,
                agencies,
                brand,
            }))
        })
        .await?;
        found
            .map(|mut ctx| {
                if let Some(host) = &user.host {
                    state.host_brands.remember(host, &ctx.brand);
                }
                ctx.brand = ctx.brand.for_state(state);
                ctx
            })
            .ok_or(PageError::NotFound)
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

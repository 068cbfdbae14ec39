//! Loading the agency named in the URL, for one of its members; anyone else gets 404.

use crate::db::with_read;
use crate::domain::audit::Actor;
use crate::domain::role::AgencyRole;
use crate::models::agency::Agency;
use crate::models::team::{AgencyRef, MemberTeam, Team};
use crate::state::AppState;
use crate::web::current_user::SignedIn;

use super::brand::Brand;
use super::error::PageError;

/// The current agency and the user's other teams and agencies.
pub struct AgencyCtx {
    /// The agency in the URL.
    pub agency: Agency,
    /// The user's role in it.
    pub role: AgencyRole,
    /// The user's teams (switcher).
    pub teams: Vec<MemberTeam>,
    /// The user's agencies (switcher).
    pub agencies: Vec<AgencyRef>,
    /// The brand these pages wear.
    pub brand: Brand,
}

impl AgencyCtx {
    /// Loads `slug` for `user`, or 404.
    pub async fn load(state: &AppState, user: &SignedIn, slug: &str) -> Result<Self, PageError> {
        if slug.is_empty() || slug.len() > 64 {
            return Err(PageError::NotFound);
        }
        let user_id = user.id();
        let slug = slug.to_owned();
        let host = user.host.clone();
        let found = with_read(&state.pool, move |c| {
            let Some((agency, role)) = Agency::find_for_member(c, &slug, &user_id)? else {
                return Ok(None);
            };
            let teams = Team::list_for_user(c, &user_id)?;
            let agencies = Agency::list_for_user(c, &user_id)?;
            let brand = Brand::resolve(c, host.as_deref(), Some(&agency.id))?;
            Ok(Some(Self {
                agency,
                role,
                teams,
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

    /// The agency's slug.
    pub fn slug(&self) -> &str {
        &self.agency.slug
    }

    /// 403 unless the user owns the agency.
    pub fn require_owner(&self) -> Result<(), PageError> {
        if self.role == AgencyRole::Owner {
            Ok(())
        } else {
            Err(PageError::Forbidden)
        }
    }

    /// Who acts, for agency events: a member of the agency, as themselves.
    pub fn actor(&self, state: &AppState, user: &SignedIn, req: &actix_web::HttpRequest) -> Actor {
        state.actor(user.who(), req)
    }
}

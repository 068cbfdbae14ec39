//! Loading the agency named in the URL, for one of its members; anyone else gets 404.

use crate::domain::audit::Actor;
use crate::domain::role::AgencyRole;
use crate::models::agency::Agency;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

use super::brand::Brand;
use super::error::PageError;
use super::memberships::{Found, Memberships, load_owner};

/// The current agency and the user's other teams and agencies.
pub struct AgencyCtx {
    /// The agency in the URL.
    pub agency: Agency,
    /// The user's role in it.
    pub role: AgencyRole,
    /// The user's teams and agencies (switcher).
    pub memberships: Memberships,
    /// The brand these pages wear.
    pub brand: Brand,
}

impl AgencyCtx {
    /// Loads `slug` for `user`, or 404.
    pub async fn load(state: &AppState, user: &SignedIn, slug: &str) -> Result<Self, PageError> {
        let loaded = load_owner(state, user, slug, |c, slug, user_id| {
            Ok(
                Agency::find_for_member(c, slug, user_id)?.map(|(agency, role)| Found {
                    agency: Some(agency.id.clone()),
                    requires_two_factor: agency.require_two_factor,
                    owner: (agency, role),
                }),
            )
        })
        .await?;
        let (agency, role) = loaded.owner;
        Ok(Self {
            agency,
            role,
            memberships: loaded.memberships,
            brand: loaded.brand,
        })
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

//! Pages that serve a team and an agency alike (webhooks today): the route names `{team}` or
//! `{agency}`, and [`OwnerCtx`] loads whichever it is, for someone who may manage its
//! settings — a team's owners and admins (and its agency's operators), an agency's owners.

use actix_web::HttpRequest;

use super::agency_context::AgencyCtx;
use super::error::PageError;
use super::layout::PageCtx;
use super::team_context::TeamCtx;
use crate::domain::audit::{Actor, Owner};
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// The team or the agency named in the URL.
pub enum OwnerCtx {
    /// A team (or an agency's client).
    Team(Box<TeamCtx>),
    /// An agency.
    Agency(Box<AgencyCtx>),
}

impl OwnerCtx {
    /// The team or agency in the URL, for a user who may manage its settings: another
    /// tenant's is a 404, a member who may only look gets 403.
    pub async fn load_managing(
        state: &AppState,
        user: &SignedIn,
        req: &HttpRequest,
    ) -> Result<Self, PageError> {
        if let Some(slug) = req.match_info().get("team") {
            let team = TeamCtx::load(state, user, slug).await?;
            if !team.current.role.can_edit_settings() {
                return Err(PageError::Forbidden);
            }
            return Ok(Self::Team(Box::new(team)));
        }
        let slug = req.match_info().get("agency").ok_or(PageError::NotFound)?;
        let agency = AgencyCtx::load(state, user, slug).await?;
        agency.require_owner()?;
        Ok(Self::Agency(Box::new(agency)))
    }

    /// The team or agency in the URL, for anyone in it (a member of the team or its agency's
    /// operators; an agency's operators): another tenant's is a 404.
    pub async fn load_reading(
        state: &AppState,
        user: &SignedIn,
        req: &HttpRequest,
    ) -> Result<Self, PageError> {
        if let Some(slug) = req.match_info().get("team") {
            return Ok(Self::Team(Box::new(
                TeamCtx::load(state, user, slug).await?,
            )));
        }
        let slug = req.match_info().get("agency").ok_or(PageError::NotFound)?;
        Ok(Self::Agency(Box::new(
            AgencyCtx::load(state, user, slug).await?,
        )))
    }

    /// Whose rows these are.
    pub fn owner(&self) -> Owner {
        match self {
            Self::Team(t) => Owner::Team(t.team_id()),
            Self::Agency(a) => Owner::Agency(a.agency.id.clone()),
        }
    }

    /// The page frame, with `section` highlighted in the sidebar.
    pub fn page(
        &self,
        title: impl Into<String>,
        user: &SignedIn,
        section: &'static str,
    ) -> PageCtx {
        match self {
            Self::Team(t) => PageCtx::new(title, user, t, section),
            Self::Agency(a) => PageCtx::for_agency(title, user, a, section),
        }
    }

    /// Who acts, for the audit events of this request.
    pub fn actor(&self, state: &AppState, user: &SignedIn, req: &HttpRequest) -> Actor {
        match self {
            Self::Team(t) => t.actor(state, user, req),
            Self::Agency(a) => a.actor(state, user, req),
        }
    }
}

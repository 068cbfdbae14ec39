//! What every signed-in page loads beside the team or agency it is about: the teams and
//! agencies its reader may switch to, and the brand it wears. `TeamCtx`, `AgencyCtx` and the
//! account page load them the same way, in the read that finds their owner.

use diesel::QueryResult;

use crate::db::{DbConnection, with_read};
use crate::domain::ids::{AgencyId, UserId};
use crate::models::agency::Agency;
use crate::models::team::{AgencyRef, MemberTeam, Team};
use crate::models::two_factor;
use crate::state::AppState;
use crate::web::current_user::SignedIn;

use super::brand::Brand;
use super::error::PageError;

/// How many of an agency's clients the switcher lists (the rest are a link away).
pub const SWITCHER_CLIENTS: i64 = 30;

/// The reader's teams and agencies (the switcher).
pub struct Memberships {
    /// Teams they belong to or operate.
    pub teams: Vec<MemberTeam>,
    /// Agencies they belong to.
    pub agencies: Vec<AgencyRef>,
    /// On a page of an agency they operate (or of one of its clients): that agency's clients
    /// by name (slug, name, at most [`SWITCHER_CLIENTS`]) and how many it has.
    pub clients: Option<AgencyClients>,
}

/// An agency's clients, for the switcher of its operators.
pub struct AgencyClients {
    /// The agency.
    pub agency: AgencyRef,
    /// (slug, name) of the first clients by name.
    pub first: Vec<(String, String)>,
    /// All of them.
    pub total: i64,
}

impl Memberships {
    /// `user`'s teams and agencies.
    pub fn load(c: &mut DbConnection, user: &UserId) -> QueryResult<Self> {
        Ok(Self {
            teams: Team::list_for_user(c, user)?,
            agencies: Agency::list_for_user(c, user)?,
            clients: None,
        })
    }

    /// Like [`Memberships::load`], with the clients of `agency` when `user` operates it (a
    /// client's own members do not see its siblings).
    pub fn load_around(
        c: &mut DbConnection,
        user: &UserId,
        agency: Option<&AgencyId>,
    ) -> QueryResult<Self> {
        let mut m = Self::load(c, user)?;
        if let Some(a) = agency.and_then(|id| m.agencies.iter().find(|a| a.id == *id)) {
            let (first, total) = Agency::client_names(c, &a.id, SWITCHER_CLIENTS)?;
            m.clients = Some(AgencyClients {
                agency: a.clone(),
                first,
                total,
            });
        }
        Ok(m)
    }
}

/// What a page about one team or agency loads: the owner, the reader's memberships and the
/// brand.
pub struct Loaded<T> {
    /// The team or agency in the URL.
    pub owner: T,
    /// The switcher's entries.
    pub memberships: Memberships,
    /// The brand of the request's host, or of the agency the owner belongs to.
    pub brand: Brand,
}

/// What `load_owner`'s finder returns for the owner named in the URL: the owner, the agency
/// whose brand it wears, and whether it requires a second factor of whoever opens its pages.
pub struct Found<T> {
    /// The team or agency.
    pub owner: T,
    /// The agency whose brand it wears.
    pub agency: Option<AgencyId>,
    /// Its policy (or its agency's, for an operator) requires a second factor.
    pub requires_two_factor: bool,
}

/// Loads the owner named `slug` that `find` finds for `user`, the user's memberships and the
/// brand, in one read; the brand is remembered for the host's outage pages. A slug that is
/// not the user's is a 404, as one that does not exist; an owner that requires a second
/// factor of a user without one sends them to set it up first.
pub async fn load_owner<T, F>(
    state: &AppState,
    user: &SignedIn,
    slug: &str,
    find: F,
) -> Result<Loaded<T>, PageError>
where
    T: Send + 'static,
    F: Fn(&mut DbConnection, &str, &UserId) -> QueryResult<Option<Found<T>>> + Send + 'static,
{
    if slug.is_empty() || slug.len() > 64 {
        return Err(PageError::NotFound);
    }
    let user_id = user.id();
    let slug = slug.to_owned();
    let host = user.host.clone();
    let found = with_read(&state.pool, move |c| {
        let Some(found) = find(c, &slug, &user_id)? else {
            return Ok(None);
        };
        if found.requires_two_factor && !two_factor::has_second_factor(c, &user_id)? {
            return Ok(Some(Err(PageError::SecondFactorRequired)));
        }
        let memberships = Memberships::load_around(c, &user_id, found.agency.as_ref())?;
        let brand = Brand::resolve(c, host.as_deref(), found.agency.as_deref())?;
        Ok(Some(Ok(Loaded {
            owner: found.owner,
            memberships,
            brand,
        })))
    })
    .await?;
    let mut loaded = found.ok_or(PageError::NotFound)??;
    if let Some(host) = &user.host {
        state.host_brands.remember(host, &loaded.brand);
    }
    loaded.brand = loaded.brand.for_state(state);
    Ok(loaded)
}

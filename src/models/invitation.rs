//! One-time invitation links to a team or an agency. Only the SHA-256 of the token is stored;
//! the link is shown once, to the inviter, when it is created.

use std::fmt;

use diesel::prelude::*;

use super::sha256_hex;
use crate::db::DbConnection;
use crate::db::schema::{agencies, invitations, teams, users};
use crate::domain::base62;
use crate::domain::ids::{AgencyId, InvitationId, TeamId, UserId};

/// How long an invitation link works.
pub const INVITATION_TTL: i64 = 7 * 86_400;

/// The plaintext token of an invitation link. Exists in the create response only.
pub struct InvitationToken(String);

impl fmt::Debug for InvitationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationToken(…)")
    }
}

impl InvitationToken {
    /// A new random token (≈ 190 bits).
    pub fn generate() -> Self {
        Self(base62::random(32))
    }

    /// The token, for the one response that shows the link.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Where an invitation leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A team, with a team role.
    Team(TeamId),
    /// An agency, as operator.
    Agency(AgencyId),
}

/// An invitation row as pages show it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    /// Id.
    pub id: InvitationId,
    /// Team invited to.
    pub team_id: Option<TeamId>,
    /// Agency invited to.
    pub agency_id: Option<AgencyId>,
    /// Invited address.
    pub email: String,
    /// Role on acceptance.
    pub role: String,
    /// Inviter.
    pub invited_by: Option<UserId>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Set once accepted.
    pub accepted_at: Option<i64>,
    /// Set when withdrawn.
    pub revoked_at: Option<i64>,
}

/// An invitation found by its token, with the names its page shows.
#[derive(Debug, Clone)]
pub struct Found {
    /// The row.
    pub invitation: Invitation,
    /// Team or agency name.
    pub target_name: String,
    /// Team slug or agency slug (where to go after accepting).
    pub target_slug: String,
    /// The agency of the team invited to, or the agency invited to (its brand).
    pub brand_agency: Option<String>,
    /// Who invited.
    pub inviter_name: Option<String>,
}

impl Invitation {
    /// Where it leads.
    pub fn target(&self) -> Option<Target> {
        match (&self.team_id, &self.agency_id) {
            (Some(t), None) => Some(Target::Team(t.clone())),
            (None, Some(a)) => Some(Target::Agency(a.clone())),
            _ => None,
        }
    }

    /// Still usable at `now`.
    pub fn is_open(&self, now: i64) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }

    /// Creates an invitation; returns its id and the one-time token. One open link per
    /// address: an open invitation of the same target to the same address is withdrawn first.
    pub fn create(
        conn: &mut DbConnection,
        target: &Target,
        email: &str,
        role: &str,
        invited_by: &UserId,
        now: i64,
    ) -> QueryResult<(InvitationId, InvitationToken)> {
        for old in Self::pending(conn, target, now)? {
            if old.email == email {
                Self::revoke(conn, &old.id, now)?;
            }
        }
        let id = InvitationId::generate();
        let token = InvitationToken::generate();
        let (team, agency) = match target {
            Target::Team(t) => (Some(t.as_str()), None),
            Target::Agency(a) => (None, Some(a.as_str())),
        };
        diesel::insert_into(invitations::table)
            .values((
                invitations::id.eq(id.as_str()),
                invitations::token_digest.eq(sha256_hex(token.expose())),
                invitations::team_id.eq(team),
                invitations::agency_id.eq(agency),
                invitations::email.eq(email),
                invitations::role.eq(role),
                invitations::invited_by.eq(invited_by.as_str()),
                invitations::created_at.eq(now),
                invitations::expires_at.eq(now + INVITATION_TTL),
            ))
            .execute(conn)?;
        Ok((id, token))
    }

    /// The invitation behind a link's token (open or not: the page explains which).
    pub fn find_by_token(conn: &mut DbConnection, token: &str) -> QueryResult<Option<Found>> {
        if token.is_empty() || token.len() > 64 || !base62::is_base62(token) {
            return Ok(None);
        }
        let Some(invitation) = invitations::table
            .filter(invitations::token_digest.eq(sha256_hex(token)))
            .select(Invitation::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let (target_name, target_slug, brand_agency) = match invitation.target() {
            Some(Target::Team(t)) => {
                let (name, slug, agency): (String, String, Option<String>) = teams::table
                    .find(t.as_str())
                    .select((teams::name, teams::slug, teams::agency_id))
                    .first(conn)?;
                (name, slug, agency)
            }
            Some(Target::Agency(a)) => {
                let (name, slug): (String, String) = agencies::table
                    .find(a.as_str())
                    .select((agencies::name, agencies::slug))
                    .first(conn)?;
                (name, slug, Some(a.to_string()))
            }
            None => return Ok(None),
        };
        let inviter_name = match &invitation.invited_by {
            Some(u) => users::table
                .find(u)
                .select(users::name)
                .first(conn)
                .optional()?,
            None => None,
        };
        Ok(Some(Found {
            invitation,
            target_name,
            target_slug,
            brand_agency,
            inviter_name,
        }))
    }

    /// Open invitations of a team or agency, newest first.
    pub fn pending(
        conn: &mut DbConnection,
        target: &Target,
        now: i64,
    ) -> QueryResult<Vec<Invitation>> {
        let q = invitations::table
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .select(Invitation::as_select())
            .order(invitations::created_at.desc())
            .into_boxed();
        match target {
            Target::Team(t) => q.filter(invitations::team_id.eq(t.as_str())).load(conn),
            Target::Agency(a) => q.filter(invitations::agency_id.eq(a.as_str())).load(conn),
        }
    }

    /// One open invitation of the target, by id (another target's is `None`).
    pub fn find_pending(
        conn: &mut DbConnection,
        target: &Target,
        id: &InvitationId,
        now: i64,
    ) -> QueryResult<Option<Invitation>> {
        let open = invitations::table
            .find(id.as_str())
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .select(Invitation::as_select());
        match target {
            Target::Team(t) => open
                .filter(invitations::team_id.eq(t.as_str()))
                .first(conn)
                .optional(),
            Target::Agency(a) => open
                .filter(invitations::agency_id.eq(a.as_str()))
                .first(conn)
                .optional(),
        }
    }

    /// Withdraws an invitation.
    pub fn revoke(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<()> {
        diesel::update(invitations::table.find(id))
            .set(invitations::revoked_at.eq(now))
            .execute(conn)
            .map(|_| ())
    }

    /// Marks it used, only if still open (so two tabs cannot both accept it).
    pub fn mark_accepted(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
        let n = diesel::update(
            invitations::table
                .find(id)
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null())
                .filter(invitations::expires_at.gt(now)),
        )
        .set(invitations::accepted_at.eq(now))
        .execute(conn)?;
        Ok(n == 1)
    }
}

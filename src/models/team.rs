//! Teams and memberships.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{agencies, memberships, teams, users};
use crate::domain::ids::{AgencyId, TeamId, UserId};
use crate::domain::role::Role;
use crate::models::agency::Agency;

/// Requests per minute a key may make unless its team or the key says otherwise.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i32 = 600;

/// A team row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct Team {
    /// Id.
    pub id: TeamId,
    /// URL segment.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Default API rate limit for the team's keys, requests per minute.
    pub rate_limit_per_minute: i32,
    /// The agency this team is a client of.
    pub agency_id: Option<AgencyId>,
    /// Set while the agency has suspended this client: its keys are refused.
    pub suspended_at: Option<i64>,
    /// Days the team's audit events are kept.
    pub audit_retention_days: i32,
    /// Every member needs a second factor to open the team's pages.
    pub require_two_factor: bool,
}

/// An agency as other pages mention it (breadcrumbs, switcher, audit).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agencies)]
pub struct AgencyRef {
    /// Id.
    pub id: AgencyId,
    /// URL segment.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Its operators need a second factor to open its pages and its clients'.
    pub require_two_factor: bool,
}

/// A team as seen by one user: directly as a member, or as an operator of its agency.
#[derive(Debug, Clone)]
pub struct MemberTeam {
    /// The team.
    pub team: Team,
    /// The user's effective role in it.
    pub role: Role,
    /// The team's agency, for a client team.
    pub agency: Option<AgencyRef>,
    /// The access comes from operating the agency (audited as "operator X of agency Y").
    pub via_agency: bool,
}

/// One row of the members page.
#[derive(Debug, Clone)]
pub struct Member {
    /// User id.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Joined, Unix seconds.
    pub joined_at: i64,
}

impl Team {
    /// Typed id.
    pub fn team_id(&self) -> TeamId {
        self.id.clone()
    }

    /// Loads by id.
    pub fn find_by_id(conn: &mut DbConnection, id: &TeamId) -> QueryResult<Option<Team>> {
        teams::table
            .find(id.as_str())
            .select(Team::as_select())
            .first(conn)
            .optional()
    }

    /// Every team's id with its audit retention in days.
    pub fn audit_retention_all(conn: &mut DbConnection) -> QueryResult<Vec<(TeamId, i32)>> {
        teams::table
            .select((teams::id, teams::audit_retention_days))
            .load(conn)
    }

    /// Saves the team's name, default API rate limit and audit retention.
    pub fn update_settings(
        conn: &mut DbConnection,
        id: &TeamId,
        name: &str,
        rate_limit_per_minute: i32,
        audit_retention_days: i32,
    ) -> QueryResult<()> {
        diesel::update(teams::table.find(id.as_str()))
            .set((
                teams::name.eq(name),
                teams::rate_limit_per_minute.eq(rate_limit_per_minute),
                teams::audit_retention_days.eq(audit_retention_days),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Turns the team's two-factor requirement on or off.
    pub fn set_require_two_factor(
        conn: &mut DbConnection,
        id: &TeamId,
        required: bool,
    ) -> QueryResult<()> {
        diesel::update(teams::table.find(id.as_str()))
            .set(teams::require_two_factor.eq(required))
            .execute(conn)
            .map(|_| ())
    }

    /// The team with this slug as `user` may see it: as a member, or as an operator of the
    /// agency the team is a client of (acting as admin; a direct role that is higher wins).
    /// Anyone else gets `None`, exactly as for a team that does not exist.
    pub fn find_for_member(
        conn: &mut DbConnection,
        slug: &str,
        user: &UserId,
    ) -> QueryResult<Option<MemberTeam>> {
        let Some(team) = teams::table
            .filter(teams::slug.eq(slug))
            .select(Team::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(None);
        };
        let direct: Option<Role> = memberships::table
            .find((&team.id, user.as_str()))
            .select(memberships::role)
            .first::<String>(conn)
            .optional()?
            .and_then(|r| Role::parse(&r));
        let (agency, operator) = match &team.agency_id {
            Some(agency_id) => {
                let agency = agencies::table
                    .find(agency_id)
                    .select(AgencyRef::as_select())
                    .first(conn)
                    .optional()?;
                let operator = Agency::is_operator(conn, agency_id, user)?;
                (agency, operator)
            }
            None => (None, false),
        };
        Ok(match (direct, operator) {
            (Some(role @ Role::Owner), _) | (Some(role @ Role::Admin), _) => Some(MemberTeam {
                team,
                role,
                agency,
                via_agency: false,
            }),
            (_, true) => Some(MemberTeam {
                team,
                role: Role::Admin,
                agency,
                via_agency: true,
            }),
            (Some(role), false) => Some(MemberTeam {
                team,
                role,
                agency,
                via_agency: false,
            }),
            (None, false) => None,
        })
    }

    /// Teams the user belongs to directly, by name (the switcher; operators reach their
    /// agency's clients from the agency dashboard).
    pub fn list_for_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<MemberTeam>> {
        let rows: Vec<(Team, String)> = teams::table
            .inner_join(memberships::table)
            .filter(memberships::user_id.eq(user.as_str()))
            .select((Team::as_select(), memberships::role))
            .order(teams::name.asc())
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(team, role)| {
                Role::parse(&role).map(|role| MemberTeam {
                    team,
                    role,
                    agency: None,
                    via_agency: false,
                })
            })
            .collect())
    }

    /// The team's members, owners first, then by name.
    pub fn members(conn: &mut DbConnection, team: &TeamId) -> QueryResult<Vec<Member>> {
        let rows: Vec<(UserId, String, String, String, i64)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::team_id.eq(team.as_str()))
            .select((
                users::id,
                users::name,
                users::email,
                memberships::role,
                memberships::created_at,
            ))
            .order(users::name.asc())
            .load(conn)?;
        let mut members: Vec<Member> = rows
            .into_iter()
            .filter_map(|(user_id, name, email, role, joined_at)| {
                Some(Member {
                    user_id,
                    name,
                    email,
                    role: Role::parse(&role)?,
                    joined_at,
                })
            })
            .collect();
        members.sort_by_key(|m| Role::ALL.iter().position(|r| *r == m.role));
        Ok(members)
    }

    /// One member's role, if `user` is a direct member.
    pub fn member_role(
        conn: &mut DbConnection,
        team: &TeamId,
        user: &UserId,
    ) -> QueryResult<Option<Role>> {
        Ok(memberships::table
            .find((team.as_str(), user.as_str()))
            .select(memberships::role)
            .first::<String>(conn)
            .optional()?
            .and_then(|r| Role::parse(&r)))
    }

    /// Sets a member's role.
    pub fn set_role(
        conn: &mut DbConnection,
        team: &TeamId,
        user: &UserId,
        role: Role,
    ) -> QueryResult<()> {
        diesel::update(memberships::table.find((team.as_str(), user.as_str())))
            .set(memberships::role.eq(role.as_str()))
            .execute(conn)
            .map(|_| ())
    }

    /// Removes a member. Their sessions stay (they may belong to other teams); access is
    /// checked on every request, so the next one is refused.
    pub fn remove_member(conn: &mut DbConnection, team: &TeamId, user: &UserId) -> QueryResult<()> {
        diesel::delete(memberships::table.find((team.as_str(), user.as_str())))
            .execute(conn)
            .map(|_| ())
    }

    /// How many owners the team has.
    pub fn owner_count(conn: &mut DbConnection, team: &TeamId) -> QueryResult<i64> {
        memberships::table
            .filter(memberships::team_id.eq(team.as_str()))
            .filter(memberships::role.eq(Role::Owner.as_str()))
            .count()
            .get_result(conn)
    }

    /// Deletes the team and everything it owns (keys, data, members, events).
    pub fn delete(conn: &mut DbConnection, team: &TeamId) -> QueryResult<()> {
        diesel::delete(teams::table.find(team.as_str()))
            .execute(conn)
            .map(|_| ())
    }

    /// Creates a team with a slug derived from its name (suffixed if taken) and its owner.
    pub fn create_with_owner(
        conn: &mut DbConnection,
        name: &str,
        owner: &UserId,
        now: i64,
    ) -> QueryResult<Team> {
        let team = Self::create(conn, name, None, now)?;
        add_member(conn, &team.team_id(), owner, Role::Owner, now)?;
        Ok(team)
    }

    /// Creates a team (a client of `agency` when given) with a slug derived from its name,
    /// suffixed if taken.
    pub fn create(
        conn: &mut DbConnection,
        name: &str,
        agency: Option<&AgencyId>,
        now: i64,
    ) -> QueryResult<Team> {
        let slug = unique_slug(name, "new-team", |s| {
            diesel::select(diesel::dsl::exists(teams::table.filter(teams::slug.eq(s))))
                .get_result(conn)
        })?;
        let team = Team {
            id: TeamId::generate(),
            slug,
            name: name.to_owned(),
            created_at: now,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
            agency_id: agency.cloned(),
            suspended_at: None,
            audit_retention_days: crate::domain::audit::DEFAULT_RETENTION_DAYS,
            require_two_factor: false,
        };
        diesel::insert_into(teams::table)
            .values((
                teams::id.eq(&team.id),
                teams::slug.eq(&team.slug),
                teams::name.eq(&team.name),
                teams::created_at.eq(now),
                teams::agency_id.eq(&team.agency_id),
            ))
            .execute(conn)?;
        Ok(team)
    }

    /// Suspends (`Some(now)`) or resumes (`None`) a client team.
    pub fn set_suspended(
        conn: &mut DbConnection,
        team: &TeamId,
        at: Option<i64>,
    ) -> QueryResult<()> {
        diesel::update(teams::table.find(team.as_str()))
            .set(teams::suspended_at.eq(at))
            .execute(conn)
            .map(|_| ())
    }
}

/// Adds a member with a role.
pub fn add_member(
    conn: &mut DbConnection,
    team: &TeamId,
    user: &UserId,
    role: Role,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::team_id.eq(team.as_str()),
            memberships::user_id.eq(user.as_str()),
            memberships::role.eq(role.as_str()),
            memberships::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A URL segment for `name` that `taken` says is free: the slug, or the slug suffixed `-2`,
/// `-3`… "new" (the create pages' own path segment) becomes `instead_of_new`.
pub fn unique_slug(
    name: &str,
    instead_of_new: &str,
    mut taken: impl FnMut(&str) -> QueryResult<bool>,
) -> QueryResult<String> {
    let base = match slugify(name) {
        s if s == "new" => instead_of_new.to_owned(),
        s => s,
    };
    let mut slug = base.clone();
    let mut n = 2;
    while taken(&slug)? {
        slug = format!("{base}-{n}");
        n += 1;
    }
    Ok(slug)
}

/// Lower-case ASCII letters and digits separated by single dashes, at most 40 characters;
/// "team" when nothing usable remains.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() {
        "team".to_owned()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slugify("Acme Robotics, Inc."), "acme-robotics-inc");
        assert_eq!(slugify("<script>"), "script");
        assert_eq!(slugify("日本"), "team");
    }
}

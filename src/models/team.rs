//! Teams and memberships.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{memberships, teams};
use crate::domain::ids::{TeamId, UserId};
use crate::domain::role::Role;

/// Requests per minute a key may make unless its team or the key says otherwise.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i32 = 600;

/// A team row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct Team {
    /// Id.
    pub id: String,
    /// URL segment.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Default API rate limit for the team's keys, requests per minute.
    pub rate_limit_per_minute: i32,
}

/// A team as seen by one member.
#[derive(Debug, Clone)]
pub struct MemberTeam {
    /// The team.
    pub team: Team,
    /// The member's role in it.
    pub role: Role,
}

impl Team {
    /// Typed id.
    pub fn team_id(&self) -> TeamId {
        TeamId::from_db(self.id.clone())
    }

    /// Loads by id.
    pub fn find_by_id(conn: &mut DbConnection, id: &TeamId) -> QueryResult<Option<Team>> {
        teams::table
            .find(id.as_str())
            .select(Team::as_select())
            .first(conn)
            .optional()
    }

    /// Saves the team's name and default API rate limit.
    pub fn update_settings(
        conn: &mut DbConnection,
        id: &TeamId,
        name: &str,
        rate_limit_per_minute: i32,
    ) -> QueryResult<()> {
        diesel::update(teams::table.find(id.as_str()))
            .set((
                teams::name.eq(name),
                teams::rate_limit_per_minute.eq(rate_limit_per_minute),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// The team with this slug, if `user` is a member of it. Non-members get `None`, exactly
    /// as for a team that does not exist.
    pub fn find_for_member(
        conn: &mut DbConnection,
        slug: &str,
        user: &UserId,
    ) -> QueryResult<Option<MemberTeam>> {
        let row: Option<(Team, String)> = teams::table
            .inner_join(memberships::table)
            .filter(teams::slug.eq(slug))
            .filter(memberships::user_id.eq(user.as_str()))
            .select((Team::as_select(), memberships::role))
            .first(conn)
            .optional()?;
        Ok(row.and_then(|(team, role)| Role::parse(&role).map(|role| MemberTeam { team, role })))
    }

    /// Teams the user belongs to, by name.
    pub fn list_for_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<MemberTeam>> {
        let rows: Vec<(Team, String)> = teams::table
            .inner_join(memberships::table)
            .filter(memberships::user_id.eq(user.as_str()))
            .select((Team::as_select(), memberships::role))
            .order(teams::name.asc())
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(team, role)| Role::parse(&role).map(|role| MemberTeam { team, role }))
            .collect())
    }

    /// Creates a team with a slug derived from its name (suffixed if taken) and its owner.
    pub fn create_with_owner(
        conn: &mut DbConnection,
        name: &str,
        owner: &UserId,
        now: i64,
    ) -> QueryResult<Team> {
        let base = match slugify(name) {
            // "new" is the create-team page's path segment.
            s if s == "new" => "new-team".to_owned(),
            s => s,
        };
        let mut slug = base.clone();
        let mut n = 2;
        while teams::table
            .filter(teams::slug.eq(&slug))
            .count()
            .get_result::<i64>(conn)?
            > 0
        {
            slug = format!("{base}-{n}");
            n += 1;
        }
        let team = Team {
            id: TeamId::generate().to_string(),
            slug,
            name: name.to_owned(),
            created_at: now,
            rate_limit_per_minute: DEFAULT_RATE_LIMIT_PER_MINUTE,
        };
        diesel::insert_into(teams::table)
            .values((
                teams::id.eq(&team.id),
                teams::slug.eq(&team.slug),
                teams::name.eq(&team.name),
                teams::created_at.eq(now),
            ))
            .execute(conn)?;
        add_member(conn, &team.team_id(), owner, Role::Owner, now)?;
        Ok(team)
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

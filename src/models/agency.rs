//! Agencies: their operators, client teams, brand and host names, and agency-level events.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{agencies, agency_hosts, agency_members, api_keys, teams, users};
use crate::domain::ids::{AgencyId, UserId};
use crate::domain::key_hygiene::{EXPIRING_SOON, Facts, Hint, hints};
use crate::domain::role::AgencyRole;
use crate::domain::scope::Scope;

use super::team::{AgencyRef, Team, unique_slug};

/// An agency row without its logo bytes (served separately).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agencies)]
pub struct Agency {
    /// Id.
    pub id: AgencyId,
    /// URL segment.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Product name shown instead of "Latchkey"; `None` = the agency's name.
    pub product_name: Option<String>,
    /// `#rrggbb`.
    pub primary_color: Option<String>,
    /// Shown to clients as the place to ask for help.
    pub support_email: Option<String>,
    /// Show "Powered by Latchkey" under the brand.
    pub powered_by: bool,
    /// MIME type of the stored logo, if any.
    pub logo_type: Option<String>,
    /// Bumped on every brand change (cache busting of brand assets).
    pub brand_version: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Its operators need a second factor to open its pages and its clients'.
    pub require_two_factor: bool,
}

/// An operator of an agency.
#[derive(Debug, Clone)]
pub struct Operator {
    /// User id.
    pub user_id: UserId,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Role in the agency.
    pub role: AgencyRole,
}

/// Brand settings as saved from the brand form (already validated).
pub struct BrandSettings {
    /// Product name (`None` = agency name).
    pub product_name: Option<String>,
    /// `#rrggbb`.
    pub primary_color: Option<String>,
    /// Support address.
    pub support_email: Option<String>,
    /// "Powered by Latchkey" opt-in.
    pub powered_by: bool,
    /// Host names, lower case.
    pub hosts: Vec<String>,
}

/// Key hygiene of one client, for the agency dashboard: the same rules, and so the same
/// counts, as the client's filtered key list (`domain/key_hygiene.rs`).
#[derive(Debug, Clone, Default)]
pub struct Hygiene {
    /// Keys that work now (not revoked, not past their grace period, not expired).
    pub active: i64,
    /// Keys expiring within 7 days (the list's "Expiring soon" status; not retiring ones).
    pub expiring_soon: i64,
    /// Keys without a request for 30 days (counted from creation when never used).
    pub unused: i64,
    /// Keys created more than 90 days ago.
    pub old: i64,
    /// Keys with the `admin` scope.
    pub admin: i64,
}

/// Why host names could not be saved.
#[derive(Debug)]
pub enum HostError {
    /// Another agency already uses this host.
    Claimed(String),
    /// Database failure.
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for HostError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e)
    }
}

impl Agency {
    /// Turns the two-factor requirement for the agency's operators on or off.
    pub fn set_require_two_factor(
        conn: &mut DbConnection,
        id: &AgencyId,
        required: bool,
    ) -> QueryResult<()> {
        diesel::update(agencies::table.find(id.as_str()))
            .set(agencies::require_two_factor.eq(required))
            .execute(conn)
            .map(|_| ())
    }

    /// Typed id.
    pub fn agency_id(&self) -> AgencyId {
        self.id.clone()
    }

    /// The name shown instead of "Latchkey".
    pub fn product(&self) -> &str {
        self.product_name.as_deref().unwrap_or(&self.name)
    }

    /// Creates an agency and makes `owner` its owner.
    pub fn create_with_owner(
        conn: &mut DbConnection,
        name: &str,
        owner: &UserId,
        now: i64,
    ) -> QueryResult<Agency> {
        let slug = unique_slug(name, "new-agency", |s| {
            diesel::select(diesel::dsl::exists(
                agencies::table.filter(agencies::slug.eq(s)),
            ))
            .get_result(conn)
        })?;
        let id = AgencyId::generate();
        diesel::insert_into(agencies::table)
            .values((
                agencies::id.eq(id.as_str()),
                agencies::slug.eq(&slug),
                agencies::name.eq(name),
                agencies::created_at.eq(now),
            ))
            .execute(conn)?;
        add_operator(conn, &id, owner, AgencyRole::Owner, now)?;
        agencies::table
            .find(id.as_str())
            .select(Agency::as_select())
            .first(conn)
    }

    /// The agency with this slug, if `user` is one of its members; otherwise `None`, exactly
    /// as for an agency that does not exist.
    pub fn find_for_member(
        conn: &mut DbConnection,
        slug: &str,
        user: &UserId,
    ) -> QueryResult<Option<(Agency, AgencyRole)>> {
        let row: Option<(Agency, String)> = agencies::table
            .inner_join(agency_members::table)
            .filter(agencies::slug.eq(slug))
            .filter(agency_members::user_id.eq(user.as_str()))
            .select((Agency::as_select(), agency_members::role))
            .first(conn)
            .optional()?;
        Ok(row.and_then(|(a, r)| AgencyRole::parse(&r).map(|r| (a, r))))
    }

    /// Loads by id.
    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Agency>> {
        agencies::table
            .find(id)
            .select(Agency::as_select())
            .first(conn)
            .optional()
    }

    /// The agency that claimed `host` (lower case, no port).
    pub fn find_by_host(conn: &mut DbConnection, host: &str) -> QueryResult<Option<Agency>> {
        agencies::table
            .inner_join(agency_hosts::table)
            .filter(agency_hosts::host.eq(host))
            .select(Agency::as_select())
            .first(conn)
            .optional()
    }

    /// Every claimed host name with its agency (at most `limit`), to know each host's brand
    /// before its first request.
    pub fn all_hosts(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<(String, Agency)>> {
        agencies::table
            .inner_join(agency_hosts::table)
            .select((agency_hosts::host, Agency::as_select()))
            .order(agency_hosts::host.asc())
            .limit(limit)
            .load(conn)
    }

    /// Agencies the user operates, by name.
    pub fn list_for_user(conn: &mut DbConnection, user: &UserId) -> QueryResult<Vec<AgencyRef>> {
        agencies::table
            .inner_join(agency_members::table)
            .filter(agency_members::user_id.eq(user.as_str()))
            .select(AgencyRef::as_select())
            .order(agencies::name.asc())
            .load(conn)
    }

    /// The agency's client teams, by name.
    pub fn clients(conn: &mut DbConnection, agency: &AgencyId) -> QueryResult<Vec<Team>> {
        teams::table
            .filter(teams::agency_id.eq(agency.as_str()))
            .select(Team::as_select())
            .order(teams::name.asc())
            .load(conn)
    }

    /// The first `limit` of the agency's clients by name (slug, name), and how many it has:
    /// the switcher's list.
    pub fn client_names(
        conn: &mut DbConnection,
        agency: &AgencyId,
        limit: i64,
    ) -> QueryResult<(Vec<(String, String)>, i64)> {
        let names = teams::table
            .filter(teams::agency_id.eq(agency.as_str()))
            .select((teams::slug, teams::name))
            .order((teams::name.asc(), teams::id.asc()))
            .limit(limit)
            .load(conn)?;
        let total = teams::table
            .filter(teams::agency_id.eq(agency.as_str()))
            .count()
            .get_result(conn)?;
        Ok((names, total))
    }

    /// One client of the agency by slug; another agency's client is `None`.
    pub fn find_client(
        conn: &mut DbConnection,
        agency: &AgencyId,
        slug: &str,
    ) -> QueryResult<Option<Team>> {
        teams::table
            .filter(teams::agency_id.eq(agency.as_str()))
            .filter(teams::slug.eq(slug))
            .select(Team::as_select())
            .first(conn)
            .optional()
    }

    /// Key hygiene per client team id, computed from the current keys of `teams` (the agency's
    /// clients). By team id, not by a join on the agency: PostgreSQL misjudged the join and read
    /// every key of every team (150 ms at a million keys; 10 ms this way).
    pub fn hygiene(
        conn: &mut DbConnection,
        teams: &[&str],
        now: i64,
    ) -> QueryResult<std::collections::HashMap<String, Hygiene>> {
        type Row = (String, i64, Option<i64>, Option<i64>, String, Option<i64>);
        let rows: Vec<Row> = api_keys::table
            .filter(api_keys::team_id.eq_any(teams))
            .filter(api_keys::revoked_at.is_null())
            .filter(
                api_keys::retiring_until
                    .is_null()
                    .or(api_keys::retiring_until.gt(now)),
            )
            .select((
                api_keys::team_id,
                api_keys::created_at,
                api_keys::expires_at,
                api_keys::last_used_at,
                api_keys::scopes,
                api_keys::retiring_until,
            ))
            .load(conn)?;
        let mut out: std::collections::HashMap<String, Hygiene> = Default::default();
        for (team, created, expires, last_used, scopes, retiring) in rows {
            if expires.is_some_and(|e| e <= now) {
                continue;
            }
            let h = out.entry(team).or_default();
            h.active += 1;
            // Hygiene judges the keys in service; a retiring key is on its way out.
            if retiring.is_some() {
                continue;
            }
            if expires.is_some_and(|e| e - now <= EXPIRING_SOON) {
                h.expiring_soon += 1;
            }
            let admin = scopes.split(' ').any(|s| s == Scope::Admin.as_str());
            let facts = Facts {
                created_at: created,
                last_used_at: last_used,
                expires_at: expires,
                admin,
                retiring: false,
            };
            for hint in hints(&facts, now) {
                match hint {
                    Hint::Old => h.old += 1,
                    Hint::Unused => h.unused += 1,
                    _ => {}
                }
            }
            if admin {
                h.admin += 1;
            }
        }
        Ok(out)
    }

    /// The agency's members, owners first.
    pub fn operators(conn: &mut DbConnection, agency: &AgencyId) -> QueryResult<Vec<Operator>> {
        let rows: Vec<(UserId, String, String, String)> = agency_members::table
            .inner_join(users::table)
            .filter(agency_members::agency_id.eq(agency.as_str()))
            .select((users::id, users::name, users::email, agency_members::role))
            .order((agency_members::role.desc(), users::name.asc()))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(user_id, name, email, role)| {
                Some(Operator {
                    user_id,
                    name,
                    email,
                    role: AgencyRole::parse(&role)?,
                })
            })
            .collect())
    }

    /// True when `user` is a member (owner or operator) of the agency.
    pub fn is_operator(conn: &mut DbConnection, agency: &str, user: &UserId) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            agency_members::table.find((agency, user.as_str())),
        ))
        .get_result(conn)
    }

    /// Removes an operator.
    pub fn remove_operator(
        conn: &mut DbConnection,
        agency: &AgencyId,
        user: &UserId,
    ) -> QueryResult<usize> {
        diesel::delete(agency_members::table.find((agency.as_str(), user.as_str()))).execute(conn)
    }

    /// Host names claimed by the agency, sorted.
    pub fn hosts(conn: &mut DbConnection, agency: &AgencyId) -> QueryResult<Vec<String>> {
        agency_hosts::table
            .filter(agency_hosts::agency_id.eq(agency.as_str()))
            .select(agency_hosts::host)
            .order(agency_hosts::host.asc())
            .load(conn)
    }

    /// Saves the brand and host names; a host claimed by another agency is refused and
    /// nothing is written (the caller's transaction rolls back).
    pub fn save_brand(
        conn: &mut DbConnection,
        agency: &AgencyId,
        brand: &BrandSettings,
    ) -> Result<(), HostError> {
        for host in &brand.hosts {
            let owner: Option<String> = agency_hosts::table
                .find(host)
                .select(agency_hosts::agency_id)
                .first(conn)
                .optional()?;
            if owner.is_some_and(|o| o != agency.as_str()) {
                return Err(HostError::Claimed(host.clone()));
            }
        }
        diesel::delete(agency_hosts::table.filter(agency_hosts::agency_id.eq(agency.as_str())))
            .execute(conn)?;
        for host in &brand.hosts {
            diesel::insert_into(agency_hosts::table)
                .values((
                    agency_hosts::host.eq(host),
                    agency_hosts::agency_id.eq(agency.as_str()),
                ))
                .execute(conn)?;
        }
        diesel::update(agencies::table.find(agency.as_str()))
            .set((
                agencies::product_name.eq(&brand.product_name),
                agencies::primary_color.eq(&brand.primary_color),
                agencies::support_email.eq(&brand.support_email),
                agencies::powered_by.eq(brand.powered_by),
                agencies::brand_version.eq(agencies::brand_version + 1),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// Stores (or with `None` removes) the logo.
    pub fn set_logo(
        conn: &mut DbConnection,
        agency: &AgencyId,
        logo: Option<(&[u8], &str)>,
    ) -> QueryResult<()> {
        diesel::update(agencies::table.find(agency.as_str()))
            .set((
                agencies::logo.eq(logo.map(|l| l.0)),
                agencies::logo_type.eq(logo.map(|l| l.1)),
                agencies::brand_version.eq(agencies::brand_version + 1),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// The logo bytes and type.
    pub fn logo(conn: &mut DbConnection, agency: &str) -> QueryResult<Option<(Vec<u8>, String)>> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> = agencies::table
            .find(agency)
            .select((agencies::logo, agencies::logo_type))
            .first(conn)
            .optional()?;
        Ok(row.and_then(|(bytes, kind)| Some((bytes?, kind?))))
    }
}

/// Makes `user` a member of the agency.
pub fn add_operator(
    conn: &mut DbConnection,
    agency: &AgencyId,
    user: &UserId,
    role: AgencyRole,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(agency_members::table)
        .values((
            agency_members::agency_id.eq(agency.as_str()),
            agency_members::user_id.eq(user.as_str()),
            agency_members::role.eq(role.as_str()),
            agency_members::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

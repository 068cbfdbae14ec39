//! Integrations: a team's connections to third-party APIs. The credential column holds only
//! the vault's sealed form (src/vault/); the plaintext never reaches the database.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{integration_usage, integrations, oauth_connections, users};
use crate::domain::ids::{IntegrationId, TeamId, UserId};
use crate::domain::integration::oauth::Status;
use crate::domain::integration::{Placement, Provider};

/// An integration row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = integrations)]
pub struct Integration {
    /// Id.
    pub id: IntegrationId,
    /// Team.
    pub team_id: TeamId,
    /// `live` / `test`.
    pub mode: String,
    /// Provider slug, e.g. `shopify` (older free-form names read as custom).
    pub provider: String,
    /// Name.
    pub name: String,
    /// Base URL of the provider's API (no trailing slash).
    pub base_url: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// `bearer`, `basic`, `header`, `query`.
    pub auth_type: String,
    /// Header or query parameter name.
    pub auth_name: Option<String>,
    /// Text before the token in a header.
    pub auth_prefix: String,
    /// Path (and query) of the check request, under the base URL.
    pub check_path: String,
    /// The sealed credential (vault format), or none yet.
    pub credential: Option<String>,
    /// Bumped on each replacement; part of the seal's binding.
    pub credential_version: i64,
    /// Short HMAC fingerprint of the credential.
    pub credential_fingerprint: Option<String>,
    /// When the credential was last set.
    pub credential_updated_at: Option<i64>,
    /// Who set it, as events name them ("Ada Lovelace", "key Deploy").
    pub credential_updated_by: Option<String>,
    /// The user who created it (developers may edit their own).
    pub created_by: Option<UserId>,
    /// Last call through it (flushed in batches).
    pub last_used_at: Option<i64>,
    /// Last connection test.
    pub test_at: Option<i64>,
    /// Whether it passed (a 2xx answer).
    pub test_ok: Option<bool>,
    /// The status code it got, if any.
    pub test_status: Option<i32>,
    /// Its latency.
    pub test_latency_ms: Option<i64>,
    /// A short, scrubbed excerpt of the answer, or why it failed.
    pub test_summary: Option<String>,
}

crate::tenant_row!(Integration, integrations);

/// The outcome of a connection test, as stored.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// When.
    pub at: i64,
    /// 2xx?
    pub ok: bool,
    /// Status code, if an answer came.
    pub status: Option<i32>,
    /// Latency in milliseconds.
    pub latency_ms: i64,
    /// Scrubbed excerpt or the reason.
    pub summary: String,
}

/// A team's integrations at a glance (the agency dashboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamIntegrations {
    /// The team.
    pub team: String,
    /// How many it has.
    pub total: i64,
    /// Of which the last connection test failed.
    pub failing: i64,
    /// Of which the OAuth connection needs reconnecting.
    pub needs_reconnecting: i64,
}

impl Integration {
    /// The parsed provider.
    pub fn provider(&self) -> Provider {
        Provider::from_storage(&self.provider)
    }

    /// Where the credential goes.
    pub fn placement(&self) -> Placement {
        Placement::from_storage(
            &self.auth_type,
            self.auth_name.as_deref(),
            &self.auth_prefix,
        )
    }

    /// Inserts an integration.
    pub fn insert(conn: &mut DbConnection, i: &Integration) -> QueryResult<()> {
        diesel::insert_into(integrations::table)
            .values(i)
            .execute(conn)
            .map(|_| ())
    }

    /// Saves what a change may touch: metadata, placement and credential.
    pub fn update(conn: &mut DbConnection, i: &Integration) -> QueryResult<()> {
        diesel::update(integrations::table.find(&i.id))
            .set((
                integrations::provider.eq(&i.provider),
                integrations::name.eq(&i.name),
                integrations::base_url.eq(&i.base_url),
                integrations::updated_at.eq(i.updated_at),
                integrations::auth_type.eq(&i.auth_type),
                integrations::auth_name.eq(&i.auth_name),
                integrations::auth_prefix.eq(&i.auth_prefix),
                integrations::check_path.eq(&i.check_path),
                integrations::credential.eq(&i.credential),
                integrations::credential_version.eq(i.credential_version),
                integrations::credential_fingerprint.eq(&i.credential_fingerprint),
                integrations::credential_updated_at.eq(i.credential_updated_at),
                integrations::credential_updated_by.eq(&i.credential_updated_by),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// An integration by id, whatever its team (for work that already holds the id, such as a
    /// token renewal).
    pub fn by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Self>> {
        integrations::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    /// Deletes an integration (its usage rows go with it).
    pub fn delete_row(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
        diesel::delete(integrations::table.find(id))
            .execute(conn)
            .map(|n| n == 1)
    }

    /// Stores a connection test's outcome.
    pub fn save_test(conn: &mut DbConnection, id: &str, t: &TestOutcome) -> QueryResult<()> {
        diesel::update(integrations::table.find(id))
            .set((
                integrations::test_at.eq(t.at),
                integrations::test_ok.eq(t.ok),
                integrations::test_status.eq(t.status),
                integrations::test_latency_ms.eq(t.latency_ms),
                integrations::test_summary.eq(&t.summary),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// A team's integrations in both modes, newest first, with their creators' names (the
    /// dashboard list; a team has few integrations, so no paging).
    pub fn for_team(
        conn: &mut DbConnection,
        team: &str,
    ) -> QueryResult<Vec<(Integration, Option<String>)>> {
        integrations::table
            .left_join(users::table.on(users::id.nullable().eq(integrations::created_by)))
            .filter(integrations::team_id.eq(team))
            .order((integrations::created_at.desc(), integrations::id.desc()))
            .select((Integration::as_select(), users::name.nullable()))
            .load(conn)
    }

    /// One of a team's integrations, in either mode.
    pub fn of_team(conn: &mut DbConnection, team: &str, id: &str) -> QueryResult<Option<Self>> {
        integrations::table
            .filter(integrations::team_id.eq(team))
            .filter(integrations::id.eq(id))
            .select(Integration::as_select())
            .first(conn)
            .optional()
    }

    /// Per team of `teams` (those with any): how many integrations it has, how many failed
    /// their last connection test, and how many OAuth connections need reconnecting.
    pub fn counts_by_team(
        conn: &mut DbConnection,
        teams: &[String],
    ) -> QueryResult<Vec<TeamIntegrations>> {
        let rows: Vec<(String, Option<bool>, Option<String>)> = integrations::table
            .left_join(oauth_connections::table)
            .filter(integrations::team_id.eq_any(teams))
            .select((
                integrations::team_id,
                integrations::test_ok,
                oauth_connections::status.nullable(),
            ))
            .load(conn)?;
        let mut out: Vec<TeamIntegrations> = Vec::new();
        for (team, ok, status) in rows {
            let failing = i64::from(ok == Some(false));
            let broken = i64::from(
                status.is_some_and(|s| Status::from_storage(&s) == Status::NeedsReconnecting),
            );
            match out.iter_mut().find(|t| t.team == team) {
                Some(entry) => {
                    entry.total += 1;
                    entry.failing += failing;
                    entry.needs_reconnecting += broken;
                }
                None => out.push(TeamIntegrations {
                    team,
                    total: 1,
                    failing,
                    needs_reconnecting: broken,
                }),
            }
        }
        Ok(out)
    }

    /// Every sealed credential: (id, team, version, sealed) — what `vault rewrap` walks.
    pub fn sealed(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, i64, String)>> {
        integrations::table
            .filter(integrations::credential.is_not_null())
            .select((
                integrations::id,
                integrations::team_id,
                integrations::credential_version,
                integrations::credential.assume_not_null(),
            ))
            .order(integrations::id.asc())
            .load(conn)
    }

    /// Replaces a sealed credential with its re-wrapped form, only if it is still `old`
    /// (a concurrent replacement wins). Returns whether it was replaced.
    pub fn rewrap(conn: &mut DbConnection, id: &str, old: &str, new: &str) -> QueryResult<bool> {
        diesel::update(
            integrations::table
                .find(id)
                .filter(integrations::credential.eq(old)),
        )
        .set(integrations::credential.eq(new))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Clears a credential that can no longer be opened (its master key is lost): the
    /// integration stays, without a credential, at the next version.
    pub fn discard_credential(conn: &mut DbConnection, id: &str, at: i64) -> QueryResult<()> {
        diesel::update(integrations::table.find(id))
            .set((
                integrations::credential.eq(None::<String>),
                integrations::credential_fingerprint.eq(None::<String>),
                integrations::credential_version.eq(integrations::credential_version + 1),
                integrations::credential_updated_at.eq(at),
                integrations::credential_updated_by.eq("Latchkey (master key lost)"),
                integrations::updated_at.eq(at),
            ))
            .execute(conn)
            .map(|_| ())
    }

    /// Calls per integration of `team` in the hours starting at `since` or later.
    pub fn calls_since(
        conn: &mut DbConnection,
        team: &str,
        since: i64,
    ) -> QueryResult<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = integration_usage::table
            .inner_join(integrations::table)
            .filter(integrations::team_id.eq(team))
            .filter(integration_usage::hour.ge(since))
            .select((
                integration_usage::integration_id,
                integration_usage::requests,
            ))
            .load(conn)?;
        let mut out: Vec<(String, i64)> = Vec::new();
        for (id, n) in rows {
            match out.iter_mut().find(|(i, _)| *i == id) {
                Some(entry) => entry.1 += n,
                None => out.push((id, n)),
            }
        }
        Ok(out)
    }

    /// Stores hourly call counts `(hour, calls)` of an integration as given, inside the
    /// caller's transaction (sample data: the demo).
    pub fn insert_hours(
        conn: &mut DbConnection,
        id: &str,
        counts: &[(i64, i64)],
    ) -> QueryResult<()> {
        for (hour, calls) in counts {
            diesel::insert_into(integration_usage::table)
                .values((
                    integration_usage::integration_id.eq(id),
                    integration_usage::hour.eq(hour),
                    integration_usage::requests.eq(calls),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// How many integrations `team` has (both modes).
    pub fn count_for_team(conn: &mut DbConnection, team: &str) -> QueryResult<i64> {
        integrations::table
            .filter(integrations::team_id.eq(team))
            .count()
            .get_result(conn)
    }
}

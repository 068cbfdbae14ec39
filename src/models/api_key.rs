//! API key records. Only the SHA-256 digest of a secret is stored, plus display parts.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{api_keys, teams, users};
use crate::domain::api_key_secret::{ApiKeySecret, EnvLabel, KeyDigest, KeyMode};
use crate::domain::ids::{ApiKeyId, TeamId, UserId};
use crate::domain::key_hygiene::EXPIRING_SOON;
use crate::domain::scope::ScopeSet;

/// Keys revoked by a leak report stay listed this long, so the team sees what happened.
pub const LEAKED_VISIBLE_FOR: i64 = 30 * 86_400;

/// An API key row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// Id.
    pub id: ApiKeyId,
    /// Owning team.
    pub team_id: TeamId,
    /// Name, unique among the team's current keys.
    pub name: String,
    /// `live` / `test`.
    pub mode: KeyMode,
    /// Optional environment label.
    pub environment: Option<String>,
    /// SHA-256 of the secret (stored as hex).
    pub secret_digest: KeyDigest,
    /// Display prefix, e.g. `sk_live_prod_`.
    pub prefix: String,
    /// First 4 body characters.
    pub head: String,
    /// Last 4 body characters.
    pub tail: String,
    /// Granted scopes.
    pub scopes: ScopeSet,
    /// Creator.
    pub created_by: Option<UserId>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds, or never.
    pub expires_at: Option<i64>,
    /// Last authenticated use.
    pub last_used_at: Option<i64>,
    /// Address of the last use.
    pub last_used_ip: Option<String>,
    /// Superseded by a rotation; works until then.
    pub retiring_until: Option<i64>,
    /// The successor's id.
    pub replaced_by: Option<ApiKeyId>,
    /// Deleted (revoked) at.
    pub revoked_at: Option<i64>,
    /// Per-key override of the team's rate limit, requests per minute.
    pub rate_limit_per_minute: Option<i32>,
    /// Where the key may be used from.
    pub ip_allowlist: crate::domain::net::IpAllowlist,
    /// When someone reported the key as leaked through `POST /v1/revoke`.
    pub reported_leaked_at: Option<i64>,
}

/// The insert shape of a key: what a new record sets (use, rotation and revocation columns
/// start empty).
#[derive(Insertable)]
#[diesel(table_name = api_keys)]
struct NewApiKey<'a> {
    id: &'a str,
    team_id: &'a str,
    name: &'a str,
    mode: &'a str,
    environment: Option<&'a str>,
    secret_digest: String,
    prefix: &'a str,
    head: &'a str,
    tail: &'a str,
    scopes: String,
    created_by: Option<&'a str>,
    created_at: i64,
    expires_at: Option<i64>,
    rate_limit_per_minute: Option<i32>,
    ip_allowlist: Option<String>,
}

impl<'a> NewApiKey<'a> {
    fn of(key: &'a ApiKey) -> Self {
        Self {
            id: key.id.as_str(),
            team_id: key.team_id.as_str(),
            name: &key.name,
            mode: key.mode.as_str(),
            environment: key.environment.as_deref(),
            secret_digest: key.secret_digest.to_hex(),
            prefix: &key.prefix,
            head: &key.head,
            tail: &key.tail,
            scopes: key.scopes.to_storage(),
            created_by: key.created_by.as_ref().map(|u| u.as_str()),
            created_at: key.created_at,
            expires_at: key.expires_at,
            rate_limit_per_minute: key.rate_limit_per_minute,
            ip_allowlist: key.ip_allowlist.to_storage(),
        }
    }
}

/// Where a key stands at a given moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Works.
    Active,
    /// Works; expires within 7 days.
    ExpiringSoon,
    /// Past its expiry.
    Expired,
    /// Replaced by a rotation, works until the grace period ends.
    Retiring,
    /// Deleted, or its grace period is over.
    Revoked,
    /// Revoked because someone reported it leaked (`POST /v1/revoke`).
    Leaked,
}

/// The times that decide a key's [`KeyStatus`] (the key cache keeps a copy where every request
/// reads it).
#[derive(Clone, Copy, Debug)]
pub struct StatusTimes {
    /// Reported leaked at.
    pub reported_leaked_at: Option<i64>,
    /// Deleted at.
    pub revoked_at: Option<i64>,
    /// Works until then (rotated out).
    pub retiring_until: Option<i64>,
    /// Expires at.
    pub expires_at: Option<i64>,
}

impl StatusTimes {
    /// Where the key stands at `now`.
    pub fn status(&self, now: i64) -> KeyStatus {
        if self.reported_leaked_at.is_some() {
            return KeyStatus::Leaked;
        }
        if self.revoked_at.is_some() {
            return KeyStatus::Revoked;
        }
        if let Some(until) = self.retiring_until {
            return if until > now {
                KeyStatus::Retiring
            } else {
                KeyStatus::Revoked
            };
        }
        match self.expires_at {
            Some(at) if at <= now => KeyStatus::Expired,
            Some(at) if at - now <= EXPIRING_SOON => KeyStatus::ExpiringSoon,
            _ => KeyStatus::Active,
        }
    }
}

impl KeyStatus {
    /// Badge text.
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::ExpiringSoon => "Expiring soon",
            Self::Expired => "Expired",
            Self::Retiring => "Retiring",
            Self::Revoked => "Revoked",
            Self::Leaked => "Reported leaked",
        }
    }

    /// CSS modifier / test hook.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::ExpiringSoon => "expiring",
            Self::Expired => "expired",
            Self::Retiring => "retiring",
            Self::Revoked => "revoked",
            Self::Leaked => "leaked",
        }
    }
}

/// Settings of a new key, validated.
pub struct KeySettings {
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: ScopeSet,
    /// Mode.
    pub mode: KeyMode,
    /// Environment label.
    pub environment: Option<EnvLabel>,
    /// Expiry instant.
    pub expires_at: Option<i64>,
    /// Override of the team's rate limit, requests per minute.
    pub rate_limit_per_minute: Option<i32>,
    /// Space-separated CIDRs the key may be used from.
    pub ip_allowlist: Option<String>,
}

/// Why a key could not be written.
#[derive(Debug, thiserror::Error)]
pub enum KeyWriteError {
    /// Another current key has this name.
    #[error("name taken")]
    NameTaken,
    /// The key is already retiring (rotate refused).
    #[error("already retiring")]
    AlreadyRetiring,
    /// Gone (deleted, or not this team's).
    #[error("not found")]
    NotFound,
    /// A database failure.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// A key as the API's authentication needs it: the record and its team's essentials.
#[derive(Debug, Clone)]
pub struct KeyLookup {
    /// The key.
    pub key: ApiKey,
    /// The team's default rate limit, requests per minute.
    pub team_rate_limit: i32,
    /// The team's slug.
    pub team_slug: String,
    /// The team's name.
    pub team_name: String,
    /// The team is a suspended agency client: its keys are refused.
    pub team_suspended: bool,
}

/// A key with its creator's name, for lists.
pub struct KeyWithCreator {
    /// The key.
    pub key: ApiKey,
    /// Creator's display name, if the user still exists.
    pub creator_name: Option<String>,
}

impl ApiKey {
    /// A record with only its ids set (live, scope `admin`) — for tests and benchmarks of the
    /// code that consumes records.
    pub fn blank(id: &str, team_id: &str) -> ApiKey {
        ApiKey {
            id: ApiKeyId::from_db(id.to_owned()),
            team_id: TeamId::from_db(team_id.to_owned()),
            name: "blank".into(),
            mode: KeyMode::Live,
            environment: None,
            secret_digest: KeyDigest::NONE,
            prefix: "sk_live_".into(),
            head: String::new(),
            tail: String::new(),
            scopes: ScopeSet::from_storage("admin"),
            created_by: None,
            created_at: 0,
            expires_at: None,
            last_used_at: None,
            last_used_ip: None,
            retiring_until: None,
            replaced_by: None,
            revoked_at: None,
            rate_limit_per_minute: None,
            ip_allowlist: Default::default(),
            reported_leaked_at: None,
        }
    }

    /// Typed id.
    pub fn key_id(&self) -> ApiKeyId {
        self.id.clone()
    }

    /// The granted scopes.
    pub fn scope_set(&self) -> ScopeSet {
        self.scopes
    }

    /// `sk_live_prod_AbCd…wxYz`.
    pub fn masked(&self) -> String {
        crate::domain::api_key_secret::mask(&self.prefix, &self.head, &self.tail)
    }

    /// Status at `now`.
    pub fn status(&self, now: i64) -> KeyStatus {
        self.status_times().status(now)
    }

    /// The times its status is decided by.
    pub fn status_times(&self) -> StatusTimes {
        StatusTimes {
            reported_leaked_at: self.reported_leaked_at,
            revoked_at: self.revoked_at,
            retiring_until: self.retiring_until,
            expires_at: self.expires_at,
        }
    }

    /// The team's keys that are not gone (deleted, or retired after a grace period), and those
    /// revoked by a leak report in the last 30 days, newest first.
    pub fn list_for_team(
        conn: &mut DbConnection,
        team: &TeamId,
        now: i64,
    ) -> QueryResult<Vec<KeyWithCreator>> {
        let rows: Vec<(ApiKey, Option<String>)> = api_keys::table
            .left_join(users::table)
            .filter(api_keys::team_id.eq(team.as_str()))
            .filter(
                api_keys::revoked_at
                    .is_null()
                    .and(
                        api_keys::retiring_until
                            .is_null()
                            .or(api_keys::retiring_until.gt(now)),
                    )
                    .or(api_keys::reported_leaked_at.gt(now - LEAKED_VISIBLE_FOR)),
            )
            .order((api_keys::created_at.desc(), api_keys::id.desc()))
            .select((ApiKey::as_select(), users::name.nullable()))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(key, creator_name)| KeyWithCreator { key, creator_name })
            .collect())
    }

    /// How many keys each of `teams` has that were neither deleted nor reported leaked (teams
    /// without any are left out).
    pub fn kept_per_team(
        conn: &mut DbConnection,
        teams: &[&str],
    ) -> QueryResult<Vec<(String, i64)>> {
        api_keys::table
            .filter(api_keys::team_id.eq_any(teams))
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::reported_leaked_at.is_null())
            .group_by(api_keys::team_id)
            .select((api_keys::team_id, diesel::dsl::count_star()))
            .load(conn)
    }

    /// The key with this secret digest and what the API needs of its team: the one lookup of
    /// the authentication hot path (unique index on `secret_digest`). It runs on the concrete
    /// connection so diesel's prepared-statement cache applies (measured in docs/benchmarks.md).
    pub fn find_by_digest(
        conn: &mut DbConnection,
        digest: &KeyDigest,
    ) -> QueryResult<Option<KeyLookup>> {
        let digest = digest.to_hex();
        macro_rules! lookup {
            ($c:expr) => {
                api_keys::table
                    .inner_join(teams::table)
                    .filter(api_keys::secret_digest.eq(&digest))
                    .select((
                        ApiKey::as_select(),
                        teams::rate_limit_per_minute,
                        teams::slug,
                        teams::name,
                        teams::suspended_at,
                    ))
                    // No `.first()`: its bound `LIMIT ?` makes SQLite (with STAT4, as bundled)
                    // re-prepare the statement on every call. The digest is unique anyway.
                    .get_result::<(ApiKey, i32, String, String, Option<i64>)>($c)
                    .optional()
            };
        }
        let row = match conn {
            DbConnection::Sqlite(c) => lookup!(c)?,
            DbConnection::Postgres(c) => lookup!(c)?,
        };
        Ok(row.map(
            |(key, team_rate_limit, team_slug, team_name, suspended)| KeyLookup {
                key,
                team_rate_limit,
                team_slug,
                team_name,
                team_suspended: suspended.is_some(),
            },
        ))
    }

    /// The key with this id, whatever its state.
    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ApiKey>> {
        api_keys::table
            .find(id)
            .select(ApiKey::as_select())
            .first(conn)
            .optional()
    }

    /// The team's key with this id, whatever its state (a deleted key's page still says what
    /// it was). Another team's key is `None`.
    pub fn find_any_for_team(
        conn: &mut DbConnection,
        team: &TeamId,
        id: &ApiKeyId,
    ) -> QueryResult<Option<KeyWithCreator>> {
        let row: Option<(ApiKey, Option<String>)> = api_keys::table
            .left_join(users::table)
            .filter(api_keys::id.eq(id.as_str()))
            .filter(api_keys::team_id.eq(team.as_str()))
            .select((ApiKey::as_select(), users::name.nullable()))
            .first(conn)
            .optional()?;
        Ok(row.map(|(key, creator_name)| KeyWithCreator { key, creator_name }))
    }

    /// The key this one replaced in a rotation, if any.
    pub fn predecessor_of(conn: &mut DbConnection, id: &ApiKeyId) -> QueryResult<Option<ApiKey>> {
        api_keys::table
            .filter(api_keys::replaced_by.eq(id.as_str()))
            .select(ApiKey::as_select())
            .first(conn)
            .optional()
    }

    /// One live (not deleted, not retired) key of the team. Another team's key is `None`.
    pub fn find_for_team(
        conn: &mut DbConnection,
        team: &TeamId,
        id: &ApiKeyId,
        now: i64,
    ) -> QueryResult<Option<ApiKey>> {
        api_keys::table
            .filter(api_keys::id.eq(id.as_str()))
            .filter(api_keys::team_id.eq(team.as_str()))
            .filter(api_keys::revoked_at.is_null())
            .filter(
                api_keys::retiring_until
                    .is_null()
                    .or(api_keys::retiring_until.gt(now)),
            )
            .select(ApiKey::as_select())
            .first(conn)
            .optional()
    }

    /// True when a current key of the team (other than `except`) has this name.
    pub fn name_taken(
        conn: &mut DbConnection,
        team: &TeamId,
        name: &str,
        except: Option<&ApiKeyId>,
    ) -> QueryResult<bool> {
        let mut query = api_keys::table
            .filter(api_keys::team_id.eq(team.as_str()))
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null())
            .filter(api_keys::retiring_until.is_null())
            .into_boxed();
        if let Some(except) = except {
            query = query.filter(api_keys::id.ne(except.as_str()));
        }
        query.count().get_result::<i64>(conn).map(|n| n > 0)
    }

    /// Inserts a new key `id` for `settings` and returns its record and the one-time secret.
    pub fn insert(
        conn: &mut DbConnection,
        id: &ApiKeyId,
        team: &TeamId,
        settings: &KeySettings,
        created_by: Option<&UserId>,
        now: i64,
    ) -> Result<(ApiKey, ApiKeySecret), KeyWriteError> {
        if Self::name_taken(conn, team, &settings.name, None)? {
            return Err(KeyWriteError::NameTaken);
        }
        let secret = ApiKeySecret::generate(settings.mode, settings.environment.as_ref());
        let display = secret.display();
        let key = ApiKey {
            id: id.clone(),
            team_id: team.clone(),
            name: settings.name.clone(),
            mode: settings.mode,
            environment: settings.environment.as_ref().map(|e| e.as_str().to_owned()),
            secret_digest: KeyDigest::of_secret(&secret),
            prefix: display.prefix,
            head: display.head,
            tail: display.tail,
            scopes: settings.scopes,
            created_by: created_by.cloned(),
            created_at: now,
            expires_at: settings.expires_at,
            last_used_at: None,
            last_used_ip: None,
            retiring_until: None,
            replaced_by: None,
            revoked_at: None,
            rate_limit_per_minute: settings.rate_limit_per_minute,
            ip_allowlist: crate::domain::net::IpAllowlist::from_storage(
                settings.ip_allowlist.as_deref(),
            ),
            reported_leaked_at: None,
        };
        diesel::insert_into(api_keys::table)
            .values(NewApiKey::of(&key))
            .execute(conn)?;
        Ok((key, secret))
    }

    /// Renames a key and replaces its scopes.
    pub fn update_settings(
        conn: &mut DbConnection,
        team: &TeamId,
        id: &ApiKeyId,
        name: &str,
        scopes: ScopeSet,
    ) -> Result<(), KeyWriteError> {
        if Self::name_taken(conn, team, name, Some(id))? {
            return Err(KeyWriteError::NameTaken);
        }
        let n = diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id.as_str()))
                .filter(api_keys::team_id.eq(team.as_str()))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set((
            api_keys::name.eq(name),
            api_keys::scopes.eq(scopes.to_storage()),
        ))
        .execute(conn)?;
        if n == 1 {
            Ok(())
        } else {
            Err(KeyWriteError::NotFound)
        }
    }

    /// Sets the per-key rate limit and IP allowlist.
    pub fn update_limits(
        conn: &mut DbConnection,
        team: &TeamId,
        id: &ApiKeyId,
        rate_limit_per_minute: Option<i32>,
        ip_allowlist: Option<&str>,
    ) -> Result<(), KeyWriteError> {
        let n = diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id.as_str()))
                .filter(api_keys::team_id.eq(team.as_str()))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set((
            api_keys::rate_limit_per_minute.eq(rate_limit_per_minute),
            api_keys::ip_allowlist.eq(ip_allowlist),
        ))
        .execute(conn)?;
        if n == 1 {
            Ok(())
        } else {
            Err(KeyWriteError::NotFound)
        }
    }

    /// Revokes a key reported as leaked (by anyone holding it); false if it was not live.
    pub fn report_leaked(conn: &mut DbConnection, id: &str, now: i64) -> QueryResult<bool> {
        diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set((
            api_keys::revoked_at.eq(now),
            api_keys::reported_leaked_at.eq(now),
        ))
        .execute(conn)
        .map(|n| n == 1)
    }

    /// Revokes a key now: the next request with it fails.
    pub fn revoke(
        conn: &mut DbConnection,
        team: &TeamId,
        id: &ApiKeyId,
        now: i64,
    ) -> Result<(), KeyWriteError> {
        let n = diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(id.as_str()))
                .filter(api_keys::team_id.eq(team.as_str()))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(now))
        .execute(conn)?;
        if n == 1 {
            Ok(())
        } else {
            Err(KeyWriteError::NotFound)
        }
    }

    /// Replaces `old` with a successor of the same name, scopes, mode, environment and expiry
    /// length. The old key keeps working for `grace` seconds (0 = revoked now).
    pub fn rotate(
        conn: &mut DbConnection,
        old: &ApiKey,
        grace: i64,
        actor: Option<&UserId>,
        now: i64,
    ) -> Result<(ApiKey, ApiKeySecret), KeyWriteError> {
        if old.retiring_until.is_some() {
            return Err(KeyWriteError::AlreadyRetiring);
        }
        let successor_id = ApiKeyId::generate();
        // Retire the old key first: the unique-name index covers current keys only.
        let n = diesel::update(
            api_keys::table
                .filter(api_keys::id.eq(old.id.as_str()))
                .filter(api_keys::revoked_at.is_null())
                .filter(api_keys::retiring_until.is_null()),
        )
        .set((
            api_keys::retiring_until.eq(now + grace),
            api_keys::replaced_by.eq(successor_id.as_str()),
            api_keys::revoked_at.eq(if grace == 0 { Some(now) } else { None }),
        ))
        .execute(conn)?;
        if n != 1 {
            return Err(KeyWriteError::AlreadyRetiring);
        }
        let mode = old.mode;
        let settings = KeySettings {
            name: old.name.clone(),
            scopes: old.scope_set(),
            mode,
            environment: old.environment.as_deref().and_then(EnvLabel::parse),
            expires_at: old.expires_at.map(|at| now + (at - old.created_at).max(0)),
            rate_limit_per_minute: old.rate_limit_per_minute,
            ip_allowlist: old.ip_allowlist.to_storage(),
        };
        let team = old.team_id.clone();
        Self::insert(conn, &successor_id, &team, &settings, actor, now)
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Text;
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    use super::*;

    fn read<T>(literal: &str) -> QueryResult<T>
    where
        T: diesel::deserialize::FromSqlRow<Text, diesel::sqlite::Sqlite> + 'static,
    {
        let mut c = SqliteConnection::establish(":memory:")
            .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))?;
        diesel::select(diesel::dsl::sql::<Text>(literal)).get_result::<T>(&mut c)
    }

    #[test]
    fn a_stored_digest_must_be_64_hex_digits() {
        let secret = ApiKeySecret::generate(KeyMode::Live, None);
        let hex = secret.digest();
        assert_eq!(
            read::<KeyDigest>(&format!("'{hex}'")).ok(),
            Some(KeyDigest::of_secret(&secret))
        );
        assert_eq!(KeyDigest::of_secret(&secret).to_hex(), hex);
        assert!(read::<KeyDigest>("'abc'").is_err());
        assert!(read::<KeyDigest>(&format!("'{}'", "g".repeat(64))).is_err());
    }

    #[test]
    fn a_stored_mode_that_is_neither_live_nor_test_is_an_error_not_live() {
        assert!(read::<KeyMode>("'prod'").is_err());
        assert_eq!(read::<KeyMode>("'test'").ok(), Some(KeyMode::Test));
        let scopes = read::<ScopeSet>("'bots:read nonsense'").ok();
        assert_eq!(
            scopes,
            Some(ScopeSet::from_storage("bots:read")),
            "unknown names grant nothing"
        );
    }
}

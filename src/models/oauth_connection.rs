//! An integration's OAuth 2.0 connection: how it gets access tokens and where it stands
//! (nothing secret — the secrets are sealed in the integration's credential).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{integrations, oauth_connections};
use crate::domain::integration::ClientAuth;
use crate::domain::integration::oauth::{GrantType, Settings, Status};

/// A connection row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_connections)]
pub struct OAuthConnection {
    /// The integration.
    pub integration_id: String,
    /// `authorization_code` / `client_credentials`.
    pub grant_type: String,
    /// Token endpoint.
    pub token_url: String,
    /// Authorization endpoint.
    pub authorize_url: Option<String>,
    /// Revocation endpoint.
    pub revoke_url: Option<String>,
    /// Client id.
    pub client_id: String,
    /// Scopes asked for, space-separated.
    pub scopes: String,
    /// Audience asked for.
    pub audience: Option<String>,
    /// `pending`, `connected`, `needs_reconnecting`.
    pub status: String,
    /// Why it needs reconnecting (the provider's error, scrubbed).
    pub status_reason: Option<String>,
    /// Who consented ("Connected as …"), when the provider says.
    pub account: Option<String>,
    /// Scopes the provider granted, space-separated.
    pub granted_scopes: Option<String>,
    /// When the sealed access token expires.
    pub access_expires_at: Option<i64>,
    /// When it was connected.
    pub connected_at: Option<i64>,
    /// When a token was last obtained.
    pub refreshed_at: Option<i64>,
    /// Tokens obtained so far.
    pub refreshes: i64,
    /// How the token endpoint takes the client id and secret: `basic` / `post`.
    pub client_auth: String,
}

/// What a token request brought, as stored beside the sealed tokens.
#[derive(Debug, Clone)]
pub struct Renewed {
    /// When the new access token expires.
    pub access_expires_at: Option<i64>,
    /// Scopes granted, if the provider said.
    pub granted_scopes: Option<String>,
    /// When.
    pub at: i64,
}

impl OAuthConnection {
    /// A new connection of integration `id` with `settings`.
    pub fn new(id: &str, settings: &Settings, status: Status) -> Self {
        Self {
            integration_id: id.to_owned(),
            grant_type: settings.grant.slug().to_owned(),
            token_url: settings.token_url.to_string(),
            authorize_url: settings.authorize_url.as_ref().map(ToString::to_string),
            revoke_url: settings.revoke_url.as_ref().map(ToString::to_string),
            client_id: settings.client_id.clone(),
            scopes: settings.scopes.join(" "),
            audience: settings.audience.clone(),
            status: status.slug().to_owned(),
            status_reason: None,
            account: None,
            granted_scopes: None,
            access_expires_at: None,
            connected_at: None,
            refreshed_at: None,
            refreshes: 0,
            client_auth: settings.client_auth.slug().to_owned(),
        }
    }

    /// The grant.
    pub fn grant(&self) -> GrantType {
        GrantType::parse(&self.grant_type).unwrap_or(GrantType::ClientCredentials)
    }

    /// How the token endpoint takes the client's credentials.
    pub fn client_auth(&self) -> ClientAuth {
        ClientAuth::from_storage(&self.client_auth)
    }

    /// Where it stands.
    pub fn status(&self) -> Status {
        Status::from_storage(&self.status)
    }

    /// Whether it holds a grant a person gave (connected, or refused since): what Disconnect
    /// ends.
    pub fn disconnectable(&self) -> bool {
        self.grant() == GrantType::AuthorizationCode && self.status() != Status::Pending
    }

    /// Inserts it.
    pub fn insert(conn: &mut DbConnection, c: &OAuthConnection) -> QueryResult<()> {
        diesel::insert_into(oauth_connections::table)
            .values(c)
            .execute(conn)
            .map(|_| ())
    }

    /// The connection of integration `id`, if it has one.
    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Self>> {
        oauth_connections::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    /// The connections of the integrations `ids` (those that have one).
    pub fn of_integrations(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<Vec<Self>> {
        oauth_connections::table
            .filter(oauth_connections::integration_id.eq_any(ids))
            .select(Self::as_select())
            .load(conn)
    }

    /// Connected authorization-code connections whose tokens were last renewed before `before`
    /// (the oldest first, at most `limit`): (integration id, credential version).
    pub fn idle(
        conn: &mut DbConnection,
        before: i64,
        limit: i64,
    ) -> QueryResult<Vec<(String, i64)>> {
        oauth_connections::table
            .inner_join(integrations::table)
            .filter(oauth_connections::grant_type.eq(GrantType::AuthorizationCode.slug()))
            .filter(oauth_connections::status.eq(Status::Connected.slug()))
            .filter(
                oauth_connections::refreshed_at
                    .lt(before)
                    .or(oauth_connections::refreshed_at.is_null()),
            )
            .order(oauth_connections::refreshed_at.asc())
            .limit(limit)
            .select((
                oauth_connections::integration_id,
                integrations::credential_version,
            ))
            .load(conn)
    }

    /// Locks the integration's row until the transaction ends (PostgreSQL; SQLite has one
    /// writer at a time already), so one node at a time renews its tokens; the others wait and
    /// then read the winner's. Returns the credential version the lock found.
    pub fn lock(conn: &mut DbConnection, id: &str) -> QueryResult<Option<i64>> {
        let version = integrations::table
            .find(id)
            .select(integrations::credential_version);
        match conn {
            DbConnection::Postgres(c) => version.for_update().first(c).optional(),
            DbConnection::Sqlite(c) => version.first(c).optional(),
        }
    }

    /// Records renewed tokens: the new sealed credential at `version` (only over
    /// `seen_version`, so a concurrent renewal is never overwritten) and the connection's
    /// fields. Returns whether it was written.
    pub fn renewed(
        conn: &mut DbConnection,
        id: &str,
        seen_version: i64,
        sealed: &str,
        r: &Renewed,
    ) -> QueryResult<bool> {
        Self::store(conn, id, seen_version, sealed, r, None)
    }

    /// Records a consent: the tokens it brought, as [`Self::renewed`], the account that
    /// consented (when the provider named it), and the connection connected from now (whatever
    /// it was: pending, or needing reconnecting).
    pub fn consented(
        conn: &mut DbConnection,
        id: &str,
        seen_version: i64,
        sealed: &str,
        r: &Renewed,
        account: Option<&str>,
    ) -> QueryResult<bool> {
        Self::store(conn, id, seen_version, sealed, r, Some(account))
    }

    fn store(
        conn: &mut DbConnection,
        id: &str,
        seen_version: i64,
        sealed: &str,
        r: &Renewed,
        consent: Option<Option<&str>>,
    ) -> QueryResult<bool> {
        if !swap_credential(conn, id, seen_version, sealed)? {
            return Ok(false);
        }
        let row = oauth_connections::table.find(id);
        diesel::update(row)
            .set((
                oauth_connections::status.eq(Status::Connected.slug()),
                oauth_connections::status_reason.eq(None::<String>),
                oauth_connections::access_expires_at.eq(r.access_expires_at),
                oauth_connections::granted_scopes.eq(&r.granted_scopes),
                oauth_connections::refreshed_at.eq(r.at),
                oauth_connections::refreshes.eq(oauth_connections::refreshes + 1),
            ))
            .execute(conn)?;
        // Connected since the consent; a renewal keeps the date (a client-credentials
        // connection's first token sets it).
        if let Some(account) = consent {
            diesel::update(row)
                .set((
                    oauth_connections::connected_at.eq(r.at),
                    oauth_connections::account.eq(account),
                ))
                .execute(conn)?;
        } else {
            diesel::update(row.filter(oauth_connections::connected_at.is_null()))
                .set(oauth_connections::connected_at.eq(r.at))
                .execute(conn)?;
        }
        Ok(true)
    }

    /// Forgets the connection's tokens (a person disconnected it): the sealed credential at
    /// `seen_version + 1` keeps only the client secret, and the connection waits for a Connect.
    pub fn forgotten(
        conn: &mut DbConnection,
        id: &str,
        seen_version: i64,
        sealed: &str,
    ) -> QueryResult<bool> {
        if !swap_credential(conn, id, seen_version, sealed)? {
            return Ok(false);
        }
        diesel::update(oauth_connections::table.find(id))
            .set((
                oauth_connections::status.eq(Status::Pending.slug()),
                oauth_connections::status_reason.eq(None::<String>),
                oauth_connections::account.eq(None::<String>),
                oauth_connections::granted_scopes.eq(None::<String>),
                oauth_connections::access_expires_at.eq(None::<i64>),
                oauth_connections::connected_at.eq(None::<i64>),
            ))
            .execute(conn)?;
        Ok(true)
    }

    /// Marks the connection as needing a person to connect it again (`reason`: the
    /// provider's refusal, scrubbed). Returns whether it changed (false: it was already so).
    pub fn broke(conn: &mut DbConnection, id: &str, reason: &str) -> QueryResult<bool> {
        diesel::update(
            oauth_connections::table
                .find(id)
                .filter(oauth_connections::status.ne(Status::NeedsReconnecting.slug())),
        )
        .set((
            oauth_connections::status.eq(Status::NeedsReconnecting.slug()),
            oauth_connections::status_reason.eq(reason),
        ))
        .execute(conn)
        .map(|n| n == 1)
    }
}

/// Replaces integration `id`'s sealed credential with `sealed` at the next version — only over
/// `seen_version`, so a concurrent change is never overwritten. Returns whether it was written.
fn swap_credential(
    conn: &mut DbConnection,
    id: &str,
    seen_version: i64,
    sealed: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        integrations::table
            .find(id)
            .filter(integrations::credential_version.eq(seen_version)),
    )
    .set((
        integrations::credential.eq(sealed),
        integrations::credential_version.eq(seen_version + 1),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

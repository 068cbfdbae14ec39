//! Database access: one connection type over SQLite and PostgreSQL, chosen at run time by the
//! URL scheme, a pool, per-connection pragmas, embedded migrations and write transactions.

pub mod outage;
mod pool;
mod run;
pub mod schema;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use outage::Outage;
pub use pool::{DbManager, DbPool, PoolConn, PoolSettings};
pub use run::{run_with_conn, with_conn, with_read, with_write};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

mod connection {
    // The derive generates a backend type and helpers of its own, undocumented.
    #![allow(missing_docs)]
    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;

    /// A connection to whichever backend `DATABASE_URL` names.
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// Embedded, zero set-up default.
        Sqlite(SqliteConnection),
        /// For several nodes sharing one database.
        Postgres(PgConnection),
    }
}

pub use connection::DbConnection;
/// The backend type of [`DbConnection`], for boxed queries built in models.
pub use connection::MultiBackend as DbBackend;

/// Seconds libpq may take to open a connection (unless the URL says otherwise).
const PG_CONNECT_TIMEOUT_SECS: u32 = 5;

/// Which backend a database URL selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    /// A file path (the `sqlite://` prefix removed).
    Sqlite(String),
    /// A libpq connection URL, with a `connect_timeout` added when it has none.
    Postgres(String),
}

impl DbTarget {
    /// Parses `sqlite://path`, `sqlite:path` or `postgres://…` / `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Without a connect timeout, a server that drops packets holds a connection
            // attempt (and the request waiting for it) for minutes.
            let url = if url.contains("connect_timeout=") {
                url.to_owned()
            } else {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
            };
            return Ok(Self::Postgres(url));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                "DATABASE_URL must start with sqlite:// or postgres:// (got another scheme)"
                    .to_owned()
            })?;
        if path.is_empty() || path.contains(":memory:") {
            return Err(
                "DATABASE_URL must name a SQLite file (an in-memory database would \
                        differ per pooled connection)"
                    .to_owned(),
            );
        }
        Ok(Self::Sqlite(path.to_owned()))
    }

    /// True for the embedded backend.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

/// Errors while opening the database at start-up.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    /// The URL could not be used.
    #[error("{0}")]
    Config(String),
    /// The data directory could not be created.
    #[error("cannot create the database directory: {0}")]
    Io(#[from] std::io::Error),
    /// No connection could be made.
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] r2d2::Error),
    /// A connection-level error from diesel.
    #[error("database error: {0}")]
    Diesel(#[from] diesel::result::Error),
    /// A migration failed.
    #[error("cannot apply migrations: {0}")]
    Migrate(String),
}

/// Opens the pool, turns on WAL for SQLite (once; it is persistent) and applies migrations.
pub fn connect(url: &str, settings: PoolSettings) -> Result<DbPool, DbSetupError> {
    let target = DbTarget::parse(url).map_err(DbSetupError::Config)?;
    if let DbTarget::Sqlite(path) = &target
        && !path.starts_with("file:")
    {
        // The database holds key digests, sessions and sealed secrets: owner-only, like the
        // key files beside it.
        let path = std::path::Path::new(path);
        if let Some(dir) = path.parent() {
            crate::files::create_private_dir(dir)?;
        }
        crate::files::private_file(path)?;
    }
    let pool = DbPool::build(target, settings)?;
    let mut conn = pool.get()?;
    if let DbConnection::Sqlite(c) = &mut **conn {
        c.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    run_migrations(&mut conn)?;
    Ok(pool)
}

/// The advisory lock nodes take to migrate one at a time ("latchkey" in ASCII).
const MIGRATION_LOCK: i64 = 0x6c61_7463_686b_6579;

/// Applies the backend's embedded migrations. On PostgreSQL under an advisory lock: nodes
/// that start together migrate one after the other, and the later ones find nothing to do.
pub fn run_migrations(conn: &mut DbConnection) -> Result<(), DbSetupError> {
    let result = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            // Also released when the connection closes, should this fail.
            let unlocked = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            result.and_then(|()| unlocked.map_err(Into::into))
        }
    };
    result.map_err(|e| DbSetupError::Migrate(e.to_string()))
}

/// SQLite: writes a consistent copy of the database into `file` (new or empty), while other
/// connections go on reading and writing (`VACUUM INTO`). Not for PostgreSQL (pg_dump is).
pub fn backup_into(conn: &mut DbConnection, file: &str) -> diesel::QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => {
            use diesel::RunQueryDsl;
            diesel::sql_query("VACUUM INTO ?")
                .bind::<diesel::sql_types::Text, _>(file)
                .execute(c)
                .map(|_| ())
        }
        DbConnection::Postgres(_) => Err(diesel::result::Error::QueryBuilderError(
            "VACUUM INTO is SQLite's; back PostgreSQL up with pg_dump".into(),
        )),
    }
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (so a second writer waits on
/// `busy_timeout` instead of failing on lock upgrade), a plain transaction on PostgreSQL.
pub fn write_tx<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConnection as TransactionManager<DbConnection>>::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // The original error matters more than a failed rollback.
            let _ = <DbConnection as TransactionManager<DbConnection>>::rollback_transaction(conn);
            Err(err)
        }
    }
}

/// Id newtypes read straight from `Text` columns, so rows carry `ApiKeyId`, `TeamId`… and not
/// bare strings (a `TeamId` can never be passed where a `UserId` belongs). The ids derive
/// `FromSqlRow`; this is the column conversion, written once for every backend.
mod typed_ids {
    use diesel::backend::Backend;
    use diesel::deserialize::FromSql;
    use diesel::serialize::ToSql;
    use diesel::sql_types::Text;

    macro_rules! text_ids {
        ($($id:ty),*) => {$(
            impl<DB> FromSql<Text, DB> for $id
            where
                DB: Backend,
                String: FromSql<Text, DB>,
            {
                fn from_sql(raw: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                    <String as FromSql<Text, DB>>::from_sql(raw).map(<$id>::from_db)
                }
            }

            impl<DB> ToSql<Text, DB> for $id
            where
                DB: Backend,
                str: ToSql<Text, DB>,
            {
                fn to_sql<'b>(
                    &'b self,
                    out: &mut diesel::serialize::Output<'b, '_, DB>,
                ) -> diesel::serialize::Result {
                    <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
                }
            }
        )*};
    }

    use crate::domain::ids::*;
    text_ids!(
        UserId,
        TeamId,
        ApiKeyId,
        AuditEventId,
        BotId,
        ChannelId,
        IntegrationId,
        ConversationId,
        MessageId,
        AgentLoopId,
        AgentLoopRunId,
        AgencyId,
        InvitationId,
        OutboxEventId,
        WebhookEndpointId,
        DeliveryId,
        AttemptId,
        SecurityEventId,
        MailId,
        PasskeyId
    );

    /// A stored mode that is neither `live` nor `test` is an error, never silently "live".
    impl<DB> FromSql<Text, DB> for crate::domain::api_key_secret::KeyMode
    where
        DB: Backend,
        String: FromSql<Text, DB>,
    {
        fn from_sql(raw: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
            let s = <String as FromSql<Text, DB>>::from_sql(raw)?;
            Self::parse(&s).ok_or_else(|| format!("stored key mode {s:?}").into())
        }
    }

    /// A key's digest is stored as hex; anything else is bad data, and an error.
    impl<DB> FromSql<Text, DB> for crate::domain::api_key_secret::KeyDigest
    where
        DB: Backend,
        String: FromSql<Text, DB>,
    {
        fn from_sql(raw: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
            let s = <String as FromSql<Text, DB>>::from_sql(raw)?;
            Self::from_hex(&s).ok_or_else(|| "stored key digest is not 64 hex digits".into())
        }
    }

    /// An allowlist column: NULL (or empty) is "anywhere".
    impl<DB> FromSql<diesel::sql_types::Nullable<Text>, DB> for crate::domain::net::IpAllowlist
    where
        DB: Backend,
        String: FromSql<Text, DB>,
    {
        fn from_sql(raw: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
            <String as FromSql<Text, DB>>::from_sql(raw).map(|s| Self::from_storage(Some(&s)))
        }

        fn from_nullable_sql(raw: Option<DB::RawValue<'_>>) -> diesel::deserialize::Result<Self> {
            match raw {
                Some(raw) => Self::from_sql(raw),
                None => Ok(Self::default()),
            }
        }
    }

    /// Scopes are stored space-separated; a name this version does not know grants nothing.
    impl<DB> FromSql<Text, DB> for crate::domain::scope::ScopeSet
    where
        DB: Backend,
        String: FromSql<Text, DB>,
    {
        fn from_sql(raw: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
            <String as FromSql<Text, DB>>::from_sql(raw).map(|s| Self::from_storage(&s))
        }
    }
}

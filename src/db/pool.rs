//! The connection pool: an r2d2 pool over [`DbConnection`] that notices dead connections
//! without adding a query to a healthy checkout, and a gate that keeps SQLite writers waiting
//! for the write lock from occupying every database thread.
//!
//! Dead connections: when a query finds its connection broken (PostgreSQL restarted, its
//! backend terminated, a failover), that connection is discarded and the pool's *epoch* is
//! bumped. Every pooled connection remembers the epoch it was last known good in; one from an
//! older epoch is checked with `SELECT 1` once before it is handed out, and replaced if dead.
//! A healthy pool in a steady epoch hands connections out with one atomic load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::outage::Outage;
use super::{DbConnection, DbTarget};

/// How the pool is sized and how long it waits.
#[derive(Clone, Copy, Debug)]
pub struct PoolSettings {
    /// Most connections open at once.
    pub max_size: u32,
    /// How long a checkout waits for a connection before the request gets a 503.
    pub connection_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock (`busy_timeout`) before a 503.
    pub busy_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_size: 16,
            connection_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Connections a pool keeps open while idle.
const MIN_IDLE: u32 = 2;

/// How long a checkout waits while the database is known to be unreachable: one request per
/// database thread would otherwise wait out the whole timeout, and the requests queued behind
/// it would wait many timeouts (the pool keeps reconnecting in the background meanwhile).
const UNREACHABLE_WAIT: Duration = Duration::from_millis(100);

/// The pool's knowledge of connection failures, shared by the manager and every checkout.
#[derive(Debug, Default)]
struct Health {
    /// Bumped whenever a connection is found dead or a new one cannot be made.
    epoch: AtomicU64,
    /// The last checkout timed out and none has succeeded since.
    unreachable: AtomicBool,
}

impl Health {
    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

/// A pooled connection and what the pool knows about it. Dereferences to [`DbConnection`].
pub struct PoolConn {
    conn: DbConnection,
    /// Found dead: the pool discards it when it is returned.
    broken: bool,
    /// The pool epoch in which this connection was last known to work.
    known_good_in: u64,
    health: Arc<Health>,
}

impl PoolConn {
    /// Marks the connection dead after a query found it so (`Outage::ConnectionLost`): the pool
    /// drops it on return, and every connection older than now is checked before its next use.
    pub fn mark_lost(&mut self) {
        if !self.broken {
            self.broken = true;
            self.health.bump();
        }
    }
}

impl std::ops::Deref for PoolConn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// An r2d2 manager that picks the backend by URL and reports connect errors as they are
/// (diesel's derived manager for a MultiConnection hides them and retries for 30 s).
#[derive(Debug, Clone)]
pub struct DbManager {
    target: DbTarget,
    busy_timeout_ms: u128,
    health: Arc<Health>,
}

impl DbManager {
    fn open(&self) -> Result<DbConnection, ConnectionError> {
        match &self.target {
            DbTarget::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)?;
                // busy_timeout first, so the pragmas below wait for other writers.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = FULL;",
                    self.busy_timeout_ms
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DbTarget::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
        }
    }
}

impl r2d2::ManageConnection for DbManager {
    type Connection = PoolConn;
    type Error = ConnectionError;

    fn connect(&self) -> Result<PoolConn, ConnectionError> {
        let epoch = self.health.epoch();
        match self.open() {
            Ok(conn) => Ok(PoolConn {
                conn,
                broken: false,
                known_good_in: epoch,
                health: self.health.clone(),
            }),
            Err(e) => {
                // The server is not taking connections: the open ones may be dead too.
                self.health.bump();
                Err(e)
            }
        }
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnectionError> {
        conn.conn
            .batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        // Also a connection returned inside a transaction or with a failed rollback.
        conn.broken || conn.conn.is_broken()
    }
}

/// The connection pool every handler borrows from (inside `web::block`).
#[derive(Clone)]
pub struct DbPool {
    inner: r2d2::Pool<DbManager>,
    health: Arc<Health>,
    /// SQLite has one writer at a time; writers queue here (asynchronously) rather than on the
    /// database lock, so at most one database thread waits for it. None on PostgreSQL.
    writers: Option<Arc<Semaphore>>,
    busy_timeout: Duration,
    connection_timeout: Duration,
    postgres_url: Option<Arc<str>>,
    /// How long checkouts waited for a connection (exported by `/metrics`).
    waits: prometheus::Histogram,
}

impl DbPool {
    /// Builds the pool (connections are opened lazily by r2d2, the first one now).
    pub(super) fn build(target: DbTarget, settings: PoolSettings) -> Result<Self, r2d2::Error> {
        let health = Arc::new(Health::default());
        let writers = target.is_sqlite().then(|| Arc::new(Semaphore::new(1)));
        let postgres_url = match &target {
            DbTarget::Postgres(url) => Some(Arc::from(url.as_str())),
            DbTarget::Sqlite(_) => None,
        };
        let inner = r2d2::Pool::builder()
            .max_size(settings.max_size)
            // Opened as load needs them, not all at start: N nodes share PostgreSQL's
            // max_connections, and an idle node should not hold its whole share.
            .min_idle(Some(settings.max_size.min(MIN_IDLE)))
            .connection_timeout(settings.connection_timeout)
            // A query per checkout is what the epoch check avoids (see the module docs).
            .test_on_check_out(false)
            .build(DbManager {
                target,
                busy_timeout_ms: settings.busy_timeout.as_millis(),
                health: health.clone(),
            })?;
        Ok(Self {
            inner,
            health,
            writers,
            busy_timeout: settings.busy_timeout,
            connection_timeout: settings.connection_timeout,
            postgres_url,
            waits: crate::instrument::histogram(
                "latchkey_db_pool_wait_seconds",
                "How long a request waited for a database connection",
                crate::instrument::LATENCY_BUCKETS,
            ),
        })
    }

    /// A connection known to work in the current epoch. Waits up to the pool timeout (a tenth
    /// of a second while the database is known to be unreachable).
    pub fn get(&self) -> Result<r2d2::PooledConnection<DbManager>, r2d2::Error> {
        let started = std::time::Instant::now();
        let conn = self.get_checked();
        self.waits.observe(started.elapsed().as_secs_f64());
        conn
    }

    /// The wait histogram of [`get`](Self::get), to register with the others.
    pub fn wait_histogram(&self) -> prometheus::Histogram {
        self.waits.clone()
    }

    /// Connections open now and idle among them.
    pub fn connections(&self) -> (u32, u32) {
        let state = self.inner.state();
        (state.connections, state.idle_connections)
    }

    fn get_checked(&self) -> Result<r2d2::PooledConnection<DbManager>, r2d2::Error> {
        let attempts = self.inner.max_size() + 1;
        for _ in 0..attempts {
            let mut conn = self.checkout()?;
            let epoch = self.health.epoch();
            if conn.known_good_in >= epoch {
                return Ok(conn);
            }
            // Opened before the last failure: check it once.
            if conn.conn.batch_execute("SELECT 1").is_ok() {
                conn.known_good_in = epoch;
                return Ok(conn);
            }
            conn.broken = true;
        }
        self.checkout()
    }

    fn checkout(&self) -> Result<r2d2::PooledConnection<DbManager>, r2d2::Error> {
        let unreachable = self.health.unreachable.load(Ordering::Relaxed);
        let wait = if unreachable {
            UNREACHABLE_WAIT.min(self.connection_timeout)
        } else {
            self.connection_timeout
        };
        match self.inner.get_timeout(wait) {
            Ok(conn) => {
                if unreachable {
                    self.health.unreachable.store(false, Ordering::Relaxed);
                }
                Ok(conn)
            }
            Err(e) => {
                self.health.unreachable.store(true, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// The URL PostgreSQL connections are opened with (with its connect timeout); `None` on
    /// SQLite.
    pub fn postgres_url(&self) -> Option<&str> {
        self.postgres_url.as_deref()
    }

    /// True for the embedded backend.
    pub fn is_sqlite(&self) -> bool {
        self.writers.is_some()
    }

    /// On SQLite, waits (asynchronously, up to the busy timeout) for this process's turn to
    /// write; `Err(Outage::Busy)` when it does not come. On PostgreSQL, no wait.
    pub async fn write_turn(&self) -> Result<Option<OwnedSemaphorePermit>, Outage> {
        let Some(writers) = &self.writers else {
            return Ok(None);
        };
        match tokio::time::timeout(self.busy_timeout, writers.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            Ok(Err(_)) | Err(_) => Err(Outage::Busy),
        }
    }
}

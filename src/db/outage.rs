//! Which database errors mean "the database cannot serve this now" rather than "this request
//! or our code is wrong". The first kind is answered with 503 and a retry hint, never a 500:
//! a restarted or failed-over PostgreSQL, a full disk, a lock held past the busy timeout, a
//! read-only file.

use diesel::result::{DatabaseErrorKind, Error};

/// Why the database could not serve a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// The connection broke under the query: the server restarted, the backend was
    /// terminated, a failover happened. The connection is discarded; the next one is new.
    ConnectionLost,
    /// No connection within the pool timeout: the server is down or unreachable.
    Unreachable,
    /// Another writer held the database lock past the busy timeout.
    Busy,
    /// The disk (or the file system holding the database) is full.
    StorageFull,
    /// The database accepts no writes (read-only file or mount, a standby server).
    ReadOnly,
    /// The storage under the database failed an I/O operation.
    Io,
}

impl Outage {
    /// Short, log-friendly name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectionLost => "connection lost",
            Self::Unreachable => "database unreachable",
            Self::Busy => "database busy",
            Self::StorageFull => "storage full",
            Self::ReadOnly => "database read-only",
            Self::Io => "storage I/O error",
        }
    }
}

impl Outage {
    const ALL: [Self; 6] = [
        Self::ConnectionLost,
        Self::Unreachable,
        Self::Busy,
        Self::StorageFull,
        Self::ReadOnly,
        Self::Io,
    ];

    /// Reads the outage back out of the text of an error that crossed a library boundary as
    /// an opaque wrapper around ours (`"{outage}: {cause}"`, as a session store's errors do).
    pub fn from_error_text(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|o| text.contains(&format!("{}: ", o.as_str())))
    }
}

impl std::fmt::Display for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outage a query error stands for, if it stands for one.
pub fn classify(e: &Error) -> Option<Outage> {
    match e {
        Error::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                Some(Outage::ConnectionLost)
            }
            DatabaseErrorKind::ReadOnlyTransaction => Some(Outage::ReadOnly),
            _ => classify_message(info.message()),
        },
        Error::RollbackErrorOnCommit { commit_error, .. } => classify(commit_error),
        // A transaction manager left broken by a failed rollback: the connection died mid-way.
        Error::BrokenTransactionManager => Some(Outage::ConnectionLost),
        _ => None,
    }
}

/// SQLite reports these conditions only as result codes whose messages (`sqlite3_errstr`) are
/// fixed; PostgreSQL's wording is stable across versions. Matched on lower-cased text.
fn classify_message(message: &str) -> Option<Outage> {
    let m = message.to_ascii_lowercase();
    let has = |needle: &str| m.contains(needle);
    if has("database is locked")
        || has("database table is locked")
        || has("database schema is locked")
        || has("lock timeout")
        || has("statement timeout")
    {
        Some(Outage::Busy)
    } else if has("database or disk is full")
        || has("no space left on device")
        || has("could not extend file")
        || has("could not write to file")
    {
        Some(Outage::StorageFull)
    } else if has("readonly database") || has("read-only transaction") {
        Some(Outage::ReadOnly)
    } else if has("disk i/o error") || has("unable to open database file") {
        Some(Outage::Io)
    } else if has("terminating connection")
        || has("server closed the connection")
        || has("no connection to the server")
        || has("connection to server")
        || has("the database system is")
    {
        Some(Outage::ConnectionLost)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn sqlite_fault_messages_are_outages() {
        let unknown = |m| classify(&db_error(DatabaseErrorKind::Unknown, m));
        assert_eq!(unknown("database is locked"), Some(Outage::Busy));
        assert_eq!(
            unknown("database or disk is full"),
            Some(Outage::StorageFull)
        );
        assert_eq!(
            unknown("attempt to write a readonly database"),
            Some(Outage::ReadOnly)
        );
        assert_eq!(unknown("disk I/O error"), Some(Outage::Io));
    }

    #[test]
    fn postgres_connection_failures_are_outages() {
        assert_eq!(
            classify(&db_error(DatabaseErrorKind::ClosedConnection, "x")),
            Some(Outage::ConnectionLost)
        );
        assert_eq!(
            classify(&db_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command"
            )),
            Some(Outage::ConnectionLost)
        );
        assert_eq!(
            classify(&db_error(
                DatabaseErrorKind::ReadOnlyTransaction,
                "cannot execute INSERT in a read-only transaction"
            )),
            Some(Outage::ReadOnly)
        );
    }

    #[test]
    fn bugs_and_bad_data_are_not_outages() {
        assert_eq!(classify(&Error::NotFound), None);
        assert_eq!(
            classify(&db_error(
                DatabaseErrorKind::UniqueViolation,
                "UNIQUE constraint failed: api_keys.name"
            )),
            None
        );
        assert_eq!(
            classify(&db_error(DatabaseErrorKind::Unknown, "no such table: x")),
            None
        );
    }
}

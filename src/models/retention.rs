//! Batched deletes of rows past their retention, for the tables that grow with use: at most
//! `batch` rows per statement, each batch its own short transaction, so writers are never
//! held up for long. On PostgreSQL every batch first takes a transaction-level advisory lock,
//! so one node at a time prunes; a node that finds it taken leaves the work to the other.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use crate::db::DbConnection;

/// What a rule deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Outbox events created before the cutoff, with their deliveries and attempts (cascade).
    WebhookEvents,
    /// Outbox events fanned out before the cutoff that no endpoint wanted (no delivery).
    UndeliveredEvents,
    /// Hourly key usage of hours before the cutoff.
    KeyUsage,
    /// Hourly integration usage of hours before the cutoff.
    IntegrationUsage,
    /// Teams' hourly totals of hours before the cutoff.
    TeamUsage,
    /// Addresses keys were last used from before the cutoff.
    KeyAddresses,
    /// Dashboard sessions that expired before the cutoff.
    Sessions,
    /// Sign-in failure counters last bumped before the cutoff.
    SignInThrottles,
    /// "Signed in from here before" marks older than the cutoff.
    KnownAddresses,
    /// Mails queued before the cutoff that were sent or given up.
    Mails,
    /// Password reset links that expired before the cutoff.
    PasswordResets,
    /// E-mail change links that expired before the cutoff.
    EmailChanges,
}

impl Rule {
    /// Every rule, in the order a pass runs them (events before what they cascade to).
    pub const ALL: [Rule; 12] = [
        Rule::WebhookEvents,
        Rule::UndeliveredEvents,
        Rule::KeyUsage,
        Rule::IntegrationUsage,
        Rule::TeamUsage,
        Rule::KeyAddresses,
        Rule::Sessions,
        Rule::SignInThrottles,
        Rule::KnownAddresses,
        Rule::Mails,
        Rule::PasswordResets,
        Rule::EmailChanges,
    ];

    /// The rows of one batch, as a subquery of row ids (`$1` the cutoff, `$2` the batch size);
    /// `ROW` stands for the backend's row address.
    fn rows(self) -> (&'static str, &'static str) {
        match self {
            Self::WebhookEvents => (
                "outbox_events",
                "SELECT id FROM outbox_events WHERE created_at < $1 ORDER BY created_at LIMIT $2",
            ),
            Self::UndeliveredEvents => (
                "outbox_events",
                "SELECT e.id FROM outbox_events e WHERE e.fanned_out_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM webhook_deliveries d WHERE d.outbox_event_id = e.id) LIMIT $2",
            ),
            Self::KeyUsage => (
                "api_key_usage",
                "SELECT ROW FROM api_key_usage WHERE hour < $1 LIMIT $2",
            ),
            Self::IntegrationUsage => (
                "integration_usage",
                "SELECT ROW FROM integration_usage WHERE hour < $1 LIMIT $2",
            ),
            Self::TeamUsage => (
                "team_usage",
                "SELECT ROW FROM team_usage WHERE hour < $1 LIMIT $2",
            ),
            Self::KeyAddresses => (
                "api_key_addresses",
                "SELECT ROW FROM api_key_addresses WHERE last_seen < $1 LIMIT $2",
            ),
            Self::Sessions => (
                "sessions",
                "SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2",
            ),
            Self::SignInThrottles => (
                "login_throttles",
                "SELECT email_digest FROM login_throttles WHERE last_failure_at < $1 LIMIT $2",
            ),
            Self::KnownAddresses => (
                "login_known_addresses",
                "SELECT digest FROM login_known_addresses WHERE last_success_at < $1 LIMIT $2",
            ),
            Self::PasswordResets => (
                "password_resets",
                "SELECT token_digest FROM password_resets WHERE expires_at < $1 LIMIT $2",
            ),
            Self::EmailChanges => (
                "email_changes",
                "SELECT token_digest FROM email_changes WHERE expires_at < $1 LIMIT $2",
            ),
            Self::Mails => (
                "mail_queue",
                "SELECT id FROM mail_queue WHERE created_at < $1 AND next_attempt_at IS NULL \
                 LIMIT $2",
            ),
        }
    }

    /// The column the subquery selects, to match it against.
    fn key(self) -> &'static str {
        match self {
            Self::WebhookEvents | Self::UndeliveredEvents | Self::Sessions | Self::Mails => "id",
            Self::KeyUsage | Self::IntegrationUsage | Self::TeamUsage | Self::KeyAddresses => "ROW",
            Self::SignInThrottles => "email_digest",
            Self::PasswordResets | Self::EmailChanges => "token_digest",
            Self::KnownAddresses => "digest",
        }
    }

    /// The DELETE statement for `backend_row` (`ctid` or `rowid`) and its placeholders.
    fn statement(self, backend_row: &str, placeholders: [&str; 2]) -> String {
        let (table, rows) = self.rows();
        format!(
            "DELETE FROM {table} WHERE {key} IN ({rows})",
            key = self.key()
        )
        .replace("ROW", backend_row)
        .replace("$1", placeholders[0])
        .replace("$2", placeholders[1])
    }
}

/// The advisory lock the pruning node holds for each batch ("prune" in ASCII).
pub const RETENTION_LOCK: i64 = 0x0070_7275_6e65;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Call inside the batch's transaction: true when this node may prune now (always on SQLite);
/// false while another node is pruning.
pub fn take_turn(conn: &mut DbConnection) -> QueryResult<bool> {
    match conn {
        DbConnection::Postgres(c) => Ok(diesel::sql_query(format!(
            "SELECT pg_try_advisory_xact_lock({RETENTION_LOCK}) AS locked"
        ))
        .get_result::<Locked>(c)?
        .locked),
        DbConnection::Sqlite(_) => Ok(true),
    }
}

/// Deletes up to `batch` rows that `rule` says are past `cutoff`; returns how many.
pub fn delete_batch(
    conn: &mut DbConnection,
    rule: Rule,
    cutoff: i64,
    batch: i64,
) -> QueryResult<usize> {
    match conn {
        DbConnection::Postgres(c) => diesel::sql_query(rule.statement("ctid", ["$1", "$2"]))
            .bind::<BigInt, _>(cutoff)
            .bind::<BigInt, _>(batch)
            .execute(c),
        DbConnection::Sqlite(c) => diesel::sql_query(rule.statement("rowid", ["?1", "?2"]))
            .bind::<BigInt, _>(cutoff)
            .bind::<BigInt, _>(batch)
            .execute(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_deletes_by_its_own_rows_on_each_backend() {
        assert_eq!(
            Rule::KeyUsage.statement("ctid", ["$1", "$2"]),
            "DELETE FROM api_key_usage WHERE ctid IN \
             (SELECT ctid FROM api_key_usage WHERE hour < $1 LIMIT $2)"
        );
        assert_eq!(
            Rule::Sessions.statement("rowid", ["?1", "?2"]),
            "DELETE FROM sessions WHERE id IN \
             (SELECT id FROM sessions WHERE expires_at < ?1 LIMIT ?2)"
        );
    }
}

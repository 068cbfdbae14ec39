//! Mails waiting for the SMTP server, and what became of them. Rows are queued inside the
//! transaction of the change they tell about; the mail job claims due rows (a lease, and
//! `SKIP LOCKED` on PostgreSQL, so several nodes share the work), sends them, and records the
//! outcome.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::mail_queue;
use crate::domain::ids::{MailId, TeamId};
use crate::mail::Mail;

/// Seconds between a failed attempt and the next, by attempts made so far; after the last
/// the mail is given up (about a day in all).
pub const RETRY_DELAYS: [i64; 7] = [30, 120, 600, 1800, 3600, 4 * 3600, 16 * 3600];

/// How long a claimed mail is held before another worker may take it (a worker killed in the
/// middle of sending delays it by no more than this; the SMTP exchange times out sooner).
pub const LEASE: i64 = 120;

/// A queued mail.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mail_queue)]
pub struct QueuedMail {
    /// Id.
    pub id: MailId,
    /// The team it is about, if any.
    pub team_id: Option<TeamId>,
    /// What it is (`api_key.expiring`…).
    pub kind: String,
    /// To.
    pub recipient: String,
    /// From (display name).
    pub sender_name: String,
    /// Reply-To.
    pub reply_to: Option<String>,
    /// Subject.
    pub subject: String,
    /// Plain text.
    pub text_body: String,
    /// HTML.
    pub html_body: String,
    /// Queued at (Unix seconds).
    pub created_at: i64,
    /// Attempts made.
    pub attempts: i32,
    /// When it is (next) due; `None` once sent or given up.
    pub next_attempt_at: Option<i64>,
    /// When the server accepted it.
    pub sent_at: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

impl QueuedMail {
    /// The message to send.
    pub fn mail(&self) -> Mail {
        Mail {
            to: self.recipient.clone(),
            sender_name: self.sender_name.clone(),
            reply_to: self.reply_to.clone(),
            subject: self.subject.clone(),
            text: self.text_body.clone(),
            html: self.html_body.clone(),
        }
    }
}

/// Queues `mails` (about `team`, of `kind`), due at once.
pub fn enqueue(
    conn: &mut DbConnection,
    team: Option<&TeamId>,
    kind: &str,
    mails: &[Mail],
    now: i64,
) -> QueryResult<usize> {
    let mut n = 0;
    for m in mails {
        n += diesel::insert_into(mail_queue::table)
            .values((
                mail_queue::id.eq(MailId::generate_ordered()),
                mail_queue::team_id.eq(team),
                mail_queue::kind.eq(kind),
                mail_queue::recipient.eq(&m.to),
                mail_queue::sender_name.eq(&m.sender_name),
                mail_queue::reply_to.eq(&m.reply_to),
                mail_queue::subject.eq(&m.subject),
                mail_queue::text_body.eq(&m.text),
                mail_queue::html_body.eq(&m.html),
                mail_queue::created_at.eq(now),
                mail_queue::next_attempt_at.eq(Some(now)),
            ))
            .execute(conn)?;
    }
    Ok(n)
}

/// Whether any mail is due at `now` (a cheap check before a claiming transaction).
pub fn has_due(conn: &mut DbConnection, now: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        mail_queue::table.filter(mail_queue::next_attempt_at.le(now)),
    ))
    .get_result(conn)
}

/// Claims up to `limit` due mails for this worker: each is leased for [`LEASE`] seconds and
/// counted as an attempt. Call inside a write transaction.
pub fn claim_due(conn: &mut DbConnection, now: i64, limit: i64) -> QueryResult<Vec<QueuedMail>> {
    // The query twice, once per backend: `as_select` fixes the backend where it is used.
    macro_rules! due {
        () => {
            mail_queue::table
                .filter(mail_queue::next_attempt_at.le(now))
                .order((mail_queue::next_attempt_at.asc(), mail_queue::id.asc()))
                .limit(limit)
                .select(QueuedMail::as_select())
        };
    }
    let rows: Vec<QueuedMail> = match conn {
        DbConnection::Postgres(c) => due!().for_update().skip_locked().load(c)?,
        DbConnection::Sqlite(c) => due!().load(c)?,
    };
    let ids: Vec<&MailId> = rows.iter().map(|r| &r.id).collect();
    diesel::update(mail_queue::table.filter(mail_queue::id.eq_any(ids)))
        .set((
            mail_queue::next_attempt_at.eq(now + LEASE),
            mail_queue::attempts.eq(mail_queue::attempts + 1),
        ))
        .execute(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| QueuedMail {
            attempts: r.attempts + 1,
            ..r
        })
        .collect())
}

/// Records that the server accepted `id`.
pub fn mark_sent(conn: &mut DbConnection, id: &MailId, now: i64) -> QueryResult<()> {
    diesel::update(mail_queue::table.find(id))
        .set((
            mail_queue::sent_at.eq(Some(now)),
            mail_queue::next_attempt_at.eq(None::<i64>),
            mail_queue::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(drop)
}

/// Records a failed attempt (the `attempts`-th) of `id`: due again after the next delay, or
/// given up after the last.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &MailId,
    attempts: i32,
    error: &str,
    now: i64,
) -> QueryResult<()> {
    let next = usize::try_from(attempts - 1)
        .ok()
        .and_then(|i| RETRY_DELAYS.get(i))
        .map(|d| now + d);
    diesel::update(mail_queue::table.find(id))
        .set((
            mail_queue::next_attempt_at.eq(next),
            mail_queue::last_error.eq(Some(error)),
        ))
        .execute(conn)
        .map(drop)
}

/// The mails about `team`, newest first (at most `limit`).
pub fn of_team(conn: &mut DbConnection, team: &TeamId, limit: i64) -> QueryResult<Vec<QueuedMail>> {
    mail_queue::table
        .filter(mail_queue::team_id.eq(team))
        .order((mail_queue::created_at.desc(), mail_queue::id.desc()))
        .limit(limit)
        .select(QueuedMail::as_select())
        .load(conn)
}

//! actix-session store backed by our database, so sessions are shared by every node and
//! signing out (or removing a member) really ends them. Rows are keyed by the SHA-256 of the
//! session key; the key itself exists only in the (encrypted) cookie.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;

use crate::clock::Clock;
use crate::db::DbPool;
use crate::db::{with_read, with_write};
use crate::domain::base62;
use crate::models::{session, sha256_hex};

/// The session cookie when cookies are `Secure`: the `__Host-` prefix makes browsers refuse it
/// unless it is Secure, host-only and for `/`, so a sibling subdomain cannot plant one.
pub const COOKIE_NAME_SECURE: &str = "__Host-latchkey_session";
/// The session cookie over plain http (local use; browsers refuse `__Host-` there).
pub const COOKIE_NAME_PLAIN: &str = "latchkey_session";

/// Session state key holding the signed-in user's id.
pub const USER_ID: &str = "user_id";

/// An active session's expiry is pushed out at most this often (seconds): one write a minute
/// instead of one per request, which would also queue every page behind a held SQLite lock.
const TOUCH_EVERY: i64 = 60;
/// Most sessions remembered as recently touched (beyond it the memory starts over).
const MAX_REMEMBERED: usize = 50_000;

/// The store.
#[derive(Clone)]
pub struct DbSessionStore {
    pool: DbPool,
    clock: Clock,
    /// Session row id → when its expiry was last written.
    touched: Arc<Mutex<HashMap<String, i64>>>,
}

impl DbSessionStore {
    /// A store over `pool`, dated by `clock`.
    pub fn new(pool: DbPool, clock: Clock) -> Self {
        Self {
            pool,
            clock,
            touched: Arc::default(),
        }
    }

    /// Notes that `id`'s expiry was written at `now`; false if it was written within
    /// [`TOUCH_EVERY`] already.
    fn note_touch(&self, id: &str, now: i64) -> bool {
        let Ok(mut touched) = self.touched.lock() else {
            return true;
        };
        if touched.get(id).is_some_and(|t| now - t < TOUCH_EVERY) {
            return false;
        }
        if touched.len() >= MAX_REMEMBERED {
            touched.retain(|_, t| now - *t < TOUCH_EVERY);
            if touched.len() >= MAX_REMEMBERED {
                touched.clear();
            }
        }
        touched.insert(id.to_owned(), now);
        true
    }

    fn forget_touch(&self, id: &str) {
        if let Ok(mut touched) = self.touched.lock() {
            touched.remove(id);
        }
    }
}

type State = HashMap<String, String>;

/// actix-session stores each value JSON-encoded; the user id is kept in its own column too.
/// The session's public handle (random, set at sign-in): what "Your account → Sessions" names
/// a session by, and how a session knows itself in that list.
pub const HANDLE: &str = "handle";
/// The address the session signed in from.
pub const SIGNED_IN_IP: &str = "signed_in_ip";
/// The browser's user agent at sign-in.
pub const SIGNED_IN_AGENT: &str = "signed_in_agent";
/// When it signed in (Unix seconds; the absolute lifetime counts from it).
pub const SIGNED_IN_AT: &str = "signed_in_at";

fn text_of(state: &State, key: &str) -> Option<String> {
    state
        .get(key)
        .and_then(|v| serde_json::from_str::<String>(v).ok())
}

/// The columns kept beside the state, read from it.
fn facts_of(state: &State) -> session::Facts {
    session::Facts {
        user_id: text_of(state, USER_ID),
        handle: text_of(state, HANDLE),
        ip: text_of(state, SIGNED_IN_IP),
        user_agent: text_of(state, SIGNED_IN_AGENT),
        signed_in_at: state
            .get(SIGNED_IN_AT)
            .and_then(|v| serde_json::from_str::<i64>(v).ok()),
    }
}

fn ttl_secs(ttl: &Duration) -> i64 {
    ttl.whole_seconds().max(1)
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let id = sha256_hex(key.as_ref());
        let now = self.clock.now();
        let row = with_read(&self.pool, move |c| Ok(session::load(c, &id, now)?))
            .await
            .map_err(|e| LoadError::Other(anyhow::anyhow!(e)))?;
        match row {
            None => Ok(None),
            Some(row) => serde_json::from_str(&row.state)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(anyhow::anyhow!(e))),
        }
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let body = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let key = base62::random(64);
        let id = sha256_hex(&key);
        let facts = facts_of(&state);
        let now = self.clock.now();
        let expires = now + ttl_secs(ttl);
        let row = id.clone();
        with_write(&self.pool, move |c| {
            Ok(session::insert(c, &row, &facts, &body, now, expires)?)
        })
        .await
        .map_err(|e| SaveError::Other(anyhow::anyhow!(e)))?;
        // Its expiry was just written.
        self.note_touch(&id, now);
        SessionKey::try_from(key).map_err(|e| SaveError::Other(anyhow::anyhow!(e)))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let body =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let id = sha256_hex(key.as_ref());
        let facts = facts_of(&state);
        let now = self.clock.now();
        let expires = now + ttl_secs(ttl);
        let updated = with_write(&self.pool, move |c| {
            Ok(session::update(c, &id, &facts, &body, now, expires)?)
        })
        .await;
        let updated = match updated {
            Ok(updated) => updated,
            // A changed flash message or CSRF token that cannot be written while the database
            // is full, locked or away must not fail the page that changed it; signing in and
            // out (save, delete) stay strict.
            Err(e) if e.outage().is_some() => {
                tracing::warn!(error = %e, "session change not saved");
                return Ok(key);
            }
            Err(e) => return Err(UpdateError::Other(anyhow::anyhow!(e))),
        };
        if updated {
            Ok(key)
        } else {
            // The row was deleted or expired meanwhile: start a fresh session.
            self.save(state, ttl)
                .await
                .map_err(|e| UpdateError::Other(anyhow::anyhow!(e)))
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> Result<(), anyhow::Error> {
        let id = sha256_hex(key.as_ref());
        let now = self.clock.now();
        if !self.note_touch(&id, now) {
            return Ok(());
        }
        let expires = now + ttl_secs(ttl);
        let row = id.clone();
        // Best effort: a page read must not fail because its session's expiry could not be
        // pushed out (database locked, disk full); the next request tries again.
        if let Err(e) = with_write(&self.pool, move |c| {
            Ok(session::touch(c, &row, now, expires)?)
        })
        .await
        {
            self.forget_touch(&id);
            tracing::warn!(error = %e, "session expiry not extended; will retry");
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let id = sha256_hex(key.as_ref());
        self.forget_touch(&id);
        with_write(&self.pool, move |c| Ok(session::delete(c, &id)?))
            .await
            .map_err(|e| anyhow::anyhow!(e))
    }
}

//! actix-session store backed by our database, so sessions are shared by every node and
//! signing out (or removing a member) really ends them. Rows are keyed by the SHA-256 of the
//! session key; the key itself exists only in the (encrypted) cookie.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;

use crate::clock::Clock;
use crate::db::DbPool;
use crate::domain::base62;
use crate::error::with_conn;
use crate::models::{session, sha256_hex};

/// Session state key holding the signed-in user's id.
pub const USER_ID: &str = "user_id";

/// The store.
#[derive(Clone)]
pub struct DbSessionStore {
    pool: DbPool,
    clock: Clock,
}

impl DbSessionStore {
    /// A store over `pool`, dated by `clock`.
    pub fn new(pool: DbPool, clock: Clock) -> Self {
        Self { pool, clock }
    }
}

type State = HashMap<String, String>;

/// actix-session stores each value JSON-encoded; the user id is kept in its own column too.
fn user_id_of(state: &State) -> Option<String> {
    state
        .get(USER_ID)
        .and_then(|v| serde_json::from_str::<String>(v).ok())
}

fn ttl_secs(ttl: &Duration) -> i64 {
    ttl.whole_seconds().max(1)
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let id = sha256_hex(key.as_ref());
        let now = self.clock.now();
        let row = with_conn(&self.pool, move |c| Ok(session::load(c, &id, now)?))
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
        let user = user_id_of(&state);
        let now = self.clock.now();
        let expires = now + ttl_secs(ttl);
        with_conn(&self.pool, move |c| {
            Ok(session::insert(
                c,
                &id,
                user.as_deref(),
                &body,
                now,
                expires,
            )?)
        })
        .await
        .map_err(|e| SaveError::Other(anyhow::anyhow!(e)))?;
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
        let user = user_id_of(&state);
        let now = self.clock.now();
        let expires = now + ttl_secs(ttl);
        let updated = with_conn(&self.pool, move |c| {
            Ok(session::update(
                c,
                &id,
                user.as_deref(),
                &body,
                now,
                expires,
            )?)
        })
        .await
        .map_err(|e| UpdateError::Other(anyhow::anyhow!(e)))?;
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
        let expires = self.clock.now() + ttl_secs(ttl);
        with_conn(&self.pool, move |c| Ok(session::touch(c, &id, expires)?))
            .await
            .map_err(|e| anyhow::anyhow!(e))
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let id = sha256_hex(key.as_ref());
        with_conn(&self.pool, move |c| Ok(session::delete(c, &id)?))
            .await
            .map_err(|e| anyhow::anyhow!(e))
    }
}

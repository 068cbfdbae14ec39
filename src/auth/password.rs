//! argon2id password hashing on the blocking pool, with a bound on concurrent hashes (each
//! takes ~19 MiB and tens of milliseconds: unbounded, a burst of sign-ins would exhaust both).

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::config::PasswordParams;
use crate::domain::inputs::Password;
use crate::error::AppError;

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct Passwords {
    params: PasswordParams,
    permits: Arc<Semaphore>,
    /// Verified against when the e-mail is unknown, so both cases cost the same.
    dummy_hash: Arc<String>,
}

fn argon2(params: PasswordParams) -> Result<Argon2<'static>, AppError> {
    let p = Params::new(params.m_cost, params.t_cost, params.p_cost, None)
        .map_err(|e| AppError::Password(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, p))
}

fn hash_blocking(params: PasswordParams, password: &str) -> Result<String, AppError> {
    argon2(params)?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Password(e.to_string()))
}

impl Passwords {
    /// Builds the hasher; computes the dummy hash once.
    pub fn new(params: PasswordParams, max_concurrent: usize) -> Result<Self, AppError> {
        let dummy = hash_blocking(params, "latchkey-dummy-password-for-timing")?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
            dummy_hash: Arc::new(dummy),
        })
    }

    /// A PHC string for a new password.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let params = self.params;
        actix_web::web::block(move || hash_blocking(params, password.expose())).await?
    }

    /// Whether `password` matches `stored`; with `None` a dummy hash is checked (and `false`
    /// returned) so unknown accounts take as long as known ones.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = actix_web::web::block(move || {
            // Parameters come from the stored string, so old hashes keep verifying.
            Argon2::default()
                .verify_password(password.expose().as_bytes(), hash.as_str())
                .is_ok()
        })
        .await?;
        Ok(known && ok)
    }
}

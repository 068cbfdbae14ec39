//! argon2id password hashing on threads of its own. Each hash takes ~19 MiB and tens of
//! milliseconds of CPU: on the shared blocking pool a burst of sign-ins delayed every database
//! call behind it (the API's p99 rose tenfold). So hashing gets its own few threads, at a lower
//! CPU priority than the HTTP workers, and a bounded queue: beyond it a sign-in is told to
//! retry (503) instead of waiting without end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::{Semaphore, oneshot};

use crate::config::PasswordParams;
use crate::domain::inputs::Password;
use crate::error::AppError;

/// Sign-ins that may wait for a hashing thread at once; more are answered "busy".
pub const MAX_WAITING: usize = 256;
/// Longest a sign-in waits for a hashing thread.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// The hashing threads' nice value: the HTTP workers win the CPU when both want it.
const NICE: i32 = 10;

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct Passwords {
    params: PasswordParams,
    jobs: mpsc::Sender<Job>,
    /// One permit per hashing thread: a job is queued only when a thread is free for it.
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
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

/// Lowers the calling thread's CPU priority (Linux: `setpriority` on a thread id is per
/// thread). Best effort: an unprivileged process may always lower its own priority.
#[allow(unsafe_code)]
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id; no memory is shared.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICE);
    }
}

impl Passwords {
    /// Starts `threads` hashing threads; computes the dummy hash once.
    pub fn new(params: PasswordParams, threads: usize) -> Result<Self, AppError> {
        Self::with_queue(params, threads, MAX_WAITING)
    }

    /// Like [`Passwords::new`], with at most `max_waiting` callers waiting for a thread.
    pub fn with_queue(
        params: PasswordParams,
        threads: usize,
        max_waiting: usize,
    ) -> Result<Self, AppError> {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("latchkey-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender is gone: the server is shutting down.
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| AppError::Internal(format!("cannot start hashing thread: {e}")))?;
        }
        let dummy = hash_blocking(params, "latchkey-dummy-password-for-timing")?;
        Ok(Self {
            params,
            jobs,
            permits: Arc::new(Semaphore::new(threads)),
            waiting: Arc::default(),
            max_waiting,
            dummy_hash: Arc::new(dummy),
        })
    }

    /// Runs `work` on a hashing thread when one is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::HashingBusy);
        }
        let permit = tokio::time::timeout(MAX_WAIT, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = match permit {
            Ok(Ok(p)) => p,
            Ok(Err(_)) | Err(_) => return Err(AppError::HashingBusy),
        };
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| AppError::Internal("hashing threads stopped".into()))?;
        result
            .await
            .map_err(|_| AppError::Internal("hashing job lost".into()))
    }

    /// A PHC string for a new password.
    pub async fn hash(&self, password: Password) -> Result<String, AppError> {
        let params = self.params;
        self.run(move || hash_blocking(params, password.expose()))
            .await?
    }

    /// Whether `password` matches `stored`; with `None` a dummy hash is checked (and `false`
    /// returned) so unknown accounts take as long as known ones.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = self
            .run(move || {
                // Parameters come from the stored string, so old hashes keep verifying.
                Argon2::default()
                    .verify_password(password.expose().as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: PasswordParams = PasswordParams {
        m_cost: 256,
        t_cost: 1,
        p_cost: 1,
    };

    #[actix_web::test]
    async fn hashing_runs_on_its_own_threads_not_the_blocking_pool() {
        let passwords = Passwords::new(CHEAP, 1).expect("pool");
        let name = passwords
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .expect("ran");
        assert_eq!(name.as_deref(), Some("latchkey-hash-0"));
        let hash = passwords
            .hash(Password::parse_new("correct horse battery".into()).expect("pw"))
            .await
            .expect("hash");
        assert!(
            passwords
                .verify(
                    Password::parse_existing("correct horse battery".into()).expect("pw"),
                    Some(hash)
                )
                .await
                .expect("verify")
        );
    }

    #[actix_web::test]
    async fn a_full_queue_answers_busy_at_once_instead_of_waiting() {
        let passwords = Passwords::with_queue(CHEAP, 1, 1).expect("pool");
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let busy = passwords.clone();
        // One job occupies the only thread; a second waits for it.
        let first =
            actix_web::rt::spawn(async move { busy.run(move || blocked.recv().is_ok()).await });
        let waiting = passwords.clone();
        let second = actix_web::rt::spawn(async move { waiting.run(|| true).await });
        while passwords.waiting.load(Ordering::Acquire) == 0 {
            actix_web::rt::task::yield_now().await;
        }
        // A third finds the queue full.
        assert!(matches!(
            passwords.run(|| true).await,
            Err(AppError::HashingBusy)
        ));
        release.send(()).expect("release");
        assert!(first.await.expect("first").expect("ran"));
        assert!(second.await.expect("second").expect("ran"));
    }
}

//! One at a time per key within this process: a keyed async lock. OAuth renewals take it per
//! integration, so fifty calls that find the same expired token make one token request; the
//! others wait and read the token it stored. (Across nodes a row lock does the same:
//! `models::oauth_connection::OAuthConnection::lock`.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The locks, by key; an entry lives while someone holds or waits for it.
#[derive(Default)]
pub struct SingleFlight {
    locks: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

impl SingleFlight {
    /// Waits for `key`'s turn; the turn ends when the guard is dropped.
    pub async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.retain(|_, l| l.strong_count() > 0);
            match locks.get(key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(AsyncMutex::new(()));
                    locks.insert(key.to_owned(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn one_holder_per_key_at_a_time_and_other_keys_do_not_wait() {
        let flights = Arc::new(SingleFlight::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (f, inside, most) = (flights.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = f.lock("a").await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        let held = flights.lock("a").await;
        // Another key is not held up by "a".
        drop(flights.lock("b").await);
        drop(held);
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }
}

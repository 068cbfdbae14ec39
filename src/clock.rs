//! The one source of "now". Tests and the demo mode set it; everything else reads it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Current time in Unix seconds.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// A clock that stays at `unix` until [`Clock::advance`] moves it.
    pub fn fixed(unix: i64) -> Self {
        Self {
            fixed: Some(Arc::new(AtomicI64::new(unix))),
        }
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        match &self.fixed {
            Some(t) => t.load(Ordering::Relaxed),
            None => time::OffsetDateTime::now_utc().unix_timestamp(),
        }
    }

    /// Moves a fixed clock forward; no effect on the system clock.
    pub fn advance(&self, seconds: i64) {
        if let Some(t) = &self.fixed {
            t.fetch_add(seconds, Ordering::Relaxed);
        }
    }
}

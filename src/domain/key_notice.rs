//! Which lifecycle event a key is due to announce: `api_key.expiring` seven days and one day
//! before it expires, `api_key.expired` when it does, `api_key.grace_ended` when an old key's
//! grace period after a rotation runs out. Each is announced once per key (the
//! `api_key_notices` table); a threshold already passed when the key was made is skipped, and
//! nothing older than a week is announced late (a server that was down for a month does not
//! flood its endpoints with stale news).

use super::key_hygiene::{EXPIRING_SOON, EXPIRING_TOMORROW};

/// How far back a missed notice is still sent.
pub const LATE_AT_MOST: i64 = 7 * 86_400;

/// One announcement about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Expires within seven days.
    Expiring7d,
    /// Expires within a day.
    Expiring1d,
    /// Expired.
    Expired,
    /// The grace period after a rotation ended.
    GraceEnded,
}

impl Notice {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expiring7d => "expiring_7d",
            Self::Expiring1d => "expiring_1d",
            Self::Expired => "expired",
            Self::GraceEnded => "grace_ended",
        }
    }

    /// Days left, for the expiring notices.
    pub fn days(self) -> Option<i64> {
        match self {
            Self::Expiring7d => Some(7),
            Self::Expiring1d => Some(1),
            _ => None,
        }
    }
}

/// The expiry notice due at `now` for a key that expires at `expires_at`, if any (the most
/// urgent one: a key one day from expiry gets the one-day notice, not the seven-day one).
pub fn expiry_notice(expires_at: i64, now: i64) -> Option<Notice> {
    let left = expires_at - now;
    match left {
        l if l <= 0 && -l <= LATE_AT_MOST => Some(Notice::Expired),
        l if l <= 0 => None,
        l if l <= EXPIRING_TOMORROW => Some(Notice::Expiring1d),
        l if l <= EXPIRING_SOON => Some(Notice::Expiring7d),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_urgent_threshold_is_announced() {
        let day = 86_400;
        assert_eq!(expiry_notice(8 * day, 0), None);
        assert_eq!(expiry_notice(7 * day, 0), Some(Notice::Expiring7d));
        assert_eq!(expiry_notice(2 * day, 0), Some(Notice::Expiring7d));
        assert_eq!(expiry_notice(day, 0), Some(Notice::Expiring1d));
        assert_eq!(expiry_notice(1, 0), Some(Notice::Expiring1d));
        assert_eq!(expiry_notice(0, 0), Some(Notice::Expired));
        assert_eq!(expiry_notice(-7 * day, 0), Some(Notice::Expired));
        assert_eq!(expiry_notice(-7 * day - 1, 0), None, "too late to announce");
    }
}

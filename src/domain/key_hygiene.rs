//! Key hygiene: the one set of thresholds and rules behind the hints on key rows and key
//! pages, the "need attention" banner and filter, and the agency dashboard's counts. The SQL
//! filters in `models/api_key.rs` follow these rules (a test holds them to the same answers).

/// A key whose expiry is this close is "expiring soon" (badge, banner, agency count).
pub const EXPIRING_SOON: i64 = 7 * 86_400;
/// A key whose expiry is this close expires "within a day" (banner, notice).
pub const EXPIRING_TOMORROW: i64 = 86_400;
/// A key created longer ago than this should be rotated.
pub const OLDER_THAN: i64 = 90 * 86_400;
/// A key without a request for this long (counted from its creation when it never had one)
/// is probably not needed.
pub const UNUSED_FOR: i64 = 30 * 86_400;
/// A retiring key used more recently than this is "still in use".
pub const STILL_IN_USE: i64 = 3_600;

/// A retiring key last used at `last_used_at` is still in use at `now`.
pub fn still_in_use(last_used_at: Option<i64>, now: i64) -> bool {
    last_used_at.is_some_and(|t| now - t < STILL_IN_USE)
}

/// What the rules read of a key.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// Created, Unix seconds.
    pub created_at: i64,
    /// Last request, if any.
    pub last_used_at: Option<i64>,
    /// Expiry, if any.
    pub expires_at: Option<i64>,
    /// Has the `admin` scope.
    pub admin: bool,
    /// Retiring (replaced by a rotation, still in its grace period).
    pub retiring: bool,
}

/// One hygiene finding, with the action that fixes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Created more than 90 days ago: rotate it.
    Old,
    /// No request for 30 days, or never used in 30 days: delete it.
    Unused,
    /// Full access (`admin`) and no expiry: narrow its scopes.
    AdminForever,
    /// Never expires (a softer note).
    NoExpiry,
    /// Full access (a softer note).
    Admin,
    /// Replaced by a rotation and still receiving requests: move the caller to the new key.
    RetiringInUse,
}

impl Hint {
    /// Every hint, in the order they are shown.
    pub const ALL: [Hint; 6] = [
        Hint::RetiringInUse,
        Hint::Old,
        Hint::Unused,
        Hint::AdminForever,
        Hint::Admin,
        Hint::NoExpiry,
    ];

    /// Counts toward "needs attention" (the others are notes).
    pub fn needs_attention(self) -> bool {
        !matches!(self, Hint::NoExpiry | Hint::Admin)
    }
}

/// The hints of a working key (active, expiring soon or retiring) at `now`, in display order.
/// `AdminForever` replaces the two notes it combines.
pub fn hints(f: &Facts, now: i64) -> Vec<Hint> {
    let mut out = Vec::new();
    if f.retiring {
        if still_in_use(f.last_used_at, now) {
            out.push(Hint::RetiringInUse);
        }
        return out;
    }
    if now - f.created_at > OLDER_THAN {
        out.push(Hint::Old);
    }
    if now - f.last_used_at.unwrap_or(f.created_at) >= UNUSED_FOR {
        out.push(Hint::Unused);
    }
    match (f.admin, f.expires_at.is_none()) {
        (true, true) => out.push(Hint::AdminForever),
        (true, false) => out.push(Hint::Admin),
        (false, true) => out.push(Hint::NoExpiry),
        (false, false) => {}
    }
    out
}

/// Whether a working key needs attention at `now`.
pub fn needs_attention(f: &Facts, now: i64) -> bool {
    hints(f, now).into_iter().any(Hint::needs_attention)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn fresh() -> Facts {
        Facts {
            created_at: NOW - DAY,
            last_used_at: Some(NOW - 60),
            expires_at: Some(NOW + 30 * DAY),
            admin: false,
            retiring: false,
        }
    }

    #[test]
    fn a_fresh_used_expiring_narrow_key_has_no_hints() {
        assert!(hints(&fresh(), NOW).is_empty());
    }

    #[test]
    fn old_starts_after_exactly_ninety_days() {
        let at = |age| {
            hints(
                &Facts {
                    created_at: NOW - age,
                    ..fresh()
                },
                NOW,
            )
        };
        assert!(!at(90 * DAY).contains(&Hint::Old));
        assert!(at(90 * DAY + 1).contains(&Hint::Old));
    }

    #[test]
    fn unused_starts_at_thirty_days_since_last_use_or_creation() {
        let used = |ago| Facts {
            created_at: NOW - 60 * DAY,
            last_used_at: Some(NOW - ago),
            ..fresh()
        };
        assert!(!hints(&used(30 * DAY - 1), NOW).contains(&Hint::Unused));
        assert!(hints(&used(30 * DAY), NOW).contains(&Hint::Unused));
        let never = |age| Facts {
            created_at: NOW - age,
            last_used_at: None,
            ..fresh()
        };
        assert!(!hints(&never(29 * DAY), NOW).contains(&Hint::Unused));
        assert!(hints(&never(30 * DAY), NOW).contains(&Hint::Unused));
    }

    #[test]
    fn admin_without_expiry_needs_attention_but_either_alone_is_a_note() {
        let admin_forever = Facts {
            admin: true,
            expires_at: None,
            ..fresh()
        };
        assert_eq!(hints(&admin_forever, NOW), vec![Hint::AdminForever]);
        assert!(needs_attention(&admin_forever, NOW));
        let admin = Facts {
            admin: true,
            ..fresh()
        };
        assert_eq!(hints(&admin, NOW), vec![Hint::Admin]);
        assert!(!needs_attention(&admin, NOW));
        let forever = Facts {
            expires_at: None,
            ..fresh()
        };
        assert_eq!(hints(&forever, NOW), vec![Hint::NoExpiry]);
        assert!(!needs_attention(&forever, NOW));
    }

    #[test]
    fn a_retiring_key_only_warns_while_it_is_still_used() {
        let retiring = |ago| Facts {
            retiring: true,
            created_at: NOW - 400 * DAY,
            last_used_at: Some(NOW - ago),
            expires_at: None,
            admin: true,
        };
        assert_eq!(
            hints(&retiring(STILL_IN_USE - 1), NOW),
            vec![Hint::RetiringInUse]
        );
        assert!(hints(&retiring(STILL_IN_USE), NOW).is_empty());
    }
}

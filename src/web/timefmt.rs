//! Times for people: relative in text ("3 minutes ago"), absolute UTC on hover and in exports.

use time::OffsetDateTime;
use time::macros::format_description;

fn dt(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-01-15T10:00:00Z`.
pub fn iso(unix: i64) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    dt(unix).format(f).unwrap_or_default()
}

/// `14 Jan 2026, 10:00 UTC`.
pub fn human(unix: i64) -> String {
    let f =
        format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC");
    dt(unix).format(f).unwrap_or_default()
}

/// `14 Jan, 10:00 UTC` — for near dates in sentences.
pub fn short(unix: i64) -> String {
    let f = format_description!("[day padding:none] [month repr:short], [hour]:[minute] UTC");
    dt(unix).format(f).unwrap_or_default()
}

/// "just now", "3 minutes ago", "in 6 days", "2 months ago"…
pub fn relative(now: i64, at: i64) -> String {
    let delta = at - now;
    let secs = delta.abs();
    if secs < 45 {
        return "just now".to_owned();
    }
    let (n, unit) = if secs < 3600 {
        ((secs + 30) / 60, "minute")
    } else if secs < 86_400 {
        ((secs + 1800) / 3600, "hour")
    } else if secs < 30 * 86_400 {
        ((secs + 43_200) / 86_400, "day")
    } else if secs < 365 * 86_400 {
        ((secs + 15 * 86_400) / (30 * 86_400), "month")
    } else {
        ((secs + 182 * 86_400) / (365 * 86_400), "year")
    };
    let unit = if n == 1 {
        unit.to_owned()
    } else {
        format!("{unit}s")
    };
    if delta < 0 {
        format!("{n} {unit} ago")
    } else {
        format!("in {n} {unit}")
    }
}

/// A time rendered in a `<time>` element: relative text, ISO `datetime`, human `title`.
pub struct TimeView {
    /// Relative text.
    pub text: String,
    /// Machine-readable.
    pub iso: String,
    /// Hover text.
    pub title: String,
}

impl TimeView {
    /// Builds the three forms.
    pub fn new(now: i64, at: i64) -> Self {
        Self {
            text: relative(now, at),
            iso: iso(at),
            title: human(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_768_471_200; // 2026-01-15T10:00:00Z
        assert_eq!(relative(now, now - 10), "just now");
        assert_eq!(relative(now, now - 180), "3 minutes ago");
        assert_eq!(relative(now, now + 6 * 86_400), "in 6 days");
        assert_eq!(relative(now, now - 3600), "1 hour ago");
        assert_eq!(iso(now), "2026-01-15T10:00:00Z");
        assert_eq!(human(now), "15 Jan 2026, 10:00 UTC");
    }
}

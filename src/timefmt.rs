//! Times for people: relative in text ("3 minutes ago"), absolute UTC on hover and in exports.

use time::OffsetDateTime;
use time::macros::format_description;

fn dt(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-01-15T10:00:00Z`. Written digit by digit: API responses carry several of these, and
/// the general formatter cost more than the rest of `/v1/me`'s body (measured, callgrind).
pub fn iso(unix: i64) -> String {
    match iso_bytes(unix) {
        Some(out) => String::from_utf8_lossy(&out).into_owned(),
        None => {
            let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
            dt(unix).format(f).unwrap_or_default()
        }
    }
}

/// [`iso`]'s 20 ASCII bytes, without allocating, for the years 0–9999 (`None` outside them).
pub fn iso_bytes(unix: i64) -> Option<[u8; 20]> {
    let t = dt(unix);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    let mut out = [0u8; 20];
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year.unsigned_abs(), 4);
    put(5, u32::from(u8::from(t.month())), 2);
    put(8, u32::from(t.day()), 2);
    put(11, u32::from(t.hour()), 2);
    put(14, u32::from(t.minute()), 2);
    put(17, u32::from(t.second()), 2);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'Z'),
    ] {
        out[at] = sep;
    }
    Some(out)
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

/// `14 Jan, 10:00` — an hour in a chart.
pub fn day_hour(unix: i64) -> String {
    let f = format_description!("[day padding:none] [month repr:short], [hour]:[minute]");
    dt(unix).format(f).unwrap_or_default()
}

/// `14 Jan` — a day in a chart.
pub fn day(unix: i64) -> String {
    let f = format_description!("[day padding:none] [month repr:short]");
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
    } else if secs < 45 * 86_400 {
        // Days up to six weeks: a key made to expire "in 30 days" says so, not "in 1 month".
        ((secs + 43_200) / 86_400, "day")
    } else if secs < 365 * 86_400 {
        (secs / (30 * 86_400), "month")
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
        assert_eq!(relative(now, now + 30 * 86_400), "in 30 days");
        assert_eq!(relative(now, now - 44 * 86_400), "44 days ago");
        assert_eq!(relative(now, now - 45 * 86_400), "1 month ago");
        assert_eq!(relative(now, now - 120 * 86_400), "4 months ago");
        assert_eq!(iso(now), "2026-01-15T10:00:00Z");
        assert_eq!(human(now), "15 Jan 2026, 10:00 UTC");
    }

    #[test]
    fn iso_matches_the_general_formatter_across_the_calendar() {
        let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        // Every ~11.6 days for 300 years, plus the edges: leap days, year ends, the epoch.
        let edges = [
            0,
            951_782_400,
            1_709_164_799,
            1_767_225_599,
            253_402_300_799,
        ];
        for t in (-2_208_988_800_i64..7_258_118_400)
            .step_by(1_000_003)
            .chain(edges)
        {
            assert_eq!(iso(t), dt(t).format(f).unwrap_or_default(), "at {t}");
        }
    }
}

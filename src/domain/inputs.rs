//! Values typed by people into forms, parsed once. Each parser returns the message shown next
//! to the field when the input is not acceptable.

use std::fmt;

use time::{Date, OffsetDateTime, macros::format_description};

/// A message for one form field.
pub type FieldMessage = &'static str;

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control) && !has_invisible_formatting(s)
}

/// Direction overrides and isolates, zero-width spaces and joiners, the BOM: characters that
/// render as nothing but can reorder or disguise the text around them (a key named to look
/// like another next to its masked secret, "Trojan Source"-style). Names may not hold them.
pub fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

/// True if `s` holds any [`is_invisible_formatting`] character.
pub fn has_invisible_formatting(s: &str) -> bool {
    s.chars().any(is_invisible_formatting)
}

/// An e-mail address, trimmed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an address of a plausible shape (`local@domain.tld`, ≤ 254 chars).
    pub fn parse(raw: &str) -> Result<Self, FieldMessage> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter your e-mail address.");
        }
        let valid = s.len() <= 254
            && printable(&s)
            && !s.contains(char::is_whitespace)
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        if valid {
            Ok(Self(s))
        } else {
            Err("Enter an e-mail address like name@example.com.")
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed. `Debug` is redacted.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Shortest accepted new password, in characters.
    pub const MIN: usize = 12;
    /// Longest accepted password, in characters (bounds hashing work).
    pub const MAX: usize = 128;

    /// A new password: 12–128 characters.
    pub fn parse_new(raw: String) -> Result<Self, FieldMessage> {
        let n = raw.chars().count();
        if n < Self::MIN {
            Err("Use at least 12 characters.")
        } else if n > Self::MAX {
            Err("Use at most 128 characters.")
        } else {
            Ok(Self(raw))
        }
    }

    /// A password typed at sign-in: only the upper bound applies (old rules may differ).
    pub fn parse_existing(raw: String) -> Result<Self, FieldMessage> {
        if raw.is_empty() {
            Err("Enter your password.")
        } else if raw.chars().count() > Self::MAX {
            Err("Use at most 128 characters.")
        } else {
            Ok(Self(raw))
        }
    }

    /// The bytes to hash.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A display name: 1–64 printable characters, trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Longest accepted name, in characters.
    pub const MAX: usize = super::limits::NAME_MAX;

    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, FieldMessage> {
        let s = raw.trim();
        if s.is_empty() {
            Err("Enter a name.")
        } else if s.chars().count() > Self::MAX {
            Err("Use at most 64 characters.")
        } else if has_invisible_formatting(s) {
            Err("Remove the invisible characters (direction marks or zero-width spaces).")
        } else if !printable(s) {
            Err("Use letters, digits, spaces and punctuation only.")
        } else {
            Ok(Self(s.to_owned()))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// When a new key expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryChoice {
    /// Never.
    Never,
    /// After this many days.
    Days(i64),
    /// At 00:00 UTC on this date.
    On(Date),
}

impl ExpiryChoice {
    /// The preset day counts offered in the form.
    pub const PRESETS: [i64; 4] = [7, 30, 60, 90];

    /// Parses the `expiry` select (`never`, `7`…`90`, `date`) and the `expiry_date` field.
    /// `today` is the current UTC date: a date must be after it and within five years.
    pub fn parse(choice: &str, date: &str, today: Date) -> Result<Self, FieldMessage> {
        match choice {
            "" | "never" => Ok(Self::Never),
            "date" => {
                let format = format_description!("[year]-[month]-[day]");
                let date =
                    Date::parse(date.trim(), format).map_err(|_| "Choose a date (YYYY-MM-DD).")?;
                if date <= today {
                    Err("Choose a date after today.")
                } else if date.year() > today.year() + 5 {
                    Err("Choose a date within five years.")
                } else {
                    Ok(Self::On(date))
                }
            }
            other => match other.parse::<i64>() {
                Ok(days) if Self::PRESETS.contains(&days) => Ok(Self::Days(days)),
                _ => Err("Choose one of the offered expiry options."),
            },
        }
    }

    /// The expiry instant (Unix seconds) for a key created at `now`.
    pub fn expires_at(self, now: i64) -> Option<i64> {
        match self {
            Self::Never => None,
            Self::Days(days) => Some(now + days * 86_400),
            Self::On(date) => Some(date.midnight().assume_utc().unix_timestamp()),
        }
    }
}

/// Most entries an IP allowlist may hold.
pub const MAX_ALLOWLIST: usize = super::limits::ALLOWLIST_MAX;

/// Parses an IP allowlist typed as CIDRs or addresses separated by spaces, commas or new
/// lines, into its stored form (canonical CIDRs, space-separated); empty means "anywhere".
pub fn parse_allowlist(raw: &str) -> Result<Option<String>, FieldMessage> {
    let entries: Vec<&str> = raw
        .split([' ', ',', '\n', '\r', '\t'])
        .filter(|s| !s.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(None);
    }
    if entries.len() > MAX_ALLOWLIST {
        return Err("Use at most 50 entries.");
    }
    let mut nets = Vec::with_capacity(entries.len());
    for e in entries {
        let net = e
            .parse::<ipnet::IpNet>()
            .or_else(|_| e.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| "Each entry must be an IP address or CIDR, like 203.0.113.0/24.")?;
        nets.push(net.trunc().to_string());
    }
    nets.dedup();
    Ok(Some(nets.join(" ")))
}

/// Parses an optional per-key rate limit (requests per minute); empty means "team default".
pub fn parse_rate_limit(raw: &str) -> Result<Option<i32>, FieldMessage> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i32>() {
        Ok(n) if (1..=super::limits::RATE_LIMIT_MAX).contains(&i64::from(n)) => Ok(Some(n)),
        _ => {
            Err("Enter a whole number of requests per minute from 1 to 100000, or leave it empty.")
        }
    }
}

/// Today's UTC date for a Unix time.
pub fn utc_date(unix: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.0),
            Ok("ada@example.com".into())
        );
        assert!(Email::parse("ada").is_err());
        assert!(Email::parse("ada@localhost").is_err());
        assert!(Email::parse("a b@example.com").is_err());
        assert!(Email::parse("").is_err());
    }

    #[test]
    fn names_are_bounded_and_printable() {
        assert!(Name::parse(&"x".repeat(64)).is_ok());
        assert_eq!(
            Name::parse(&"x".repeat(65)),
            Err("Use at most 64 characters.")
        );
        assert_eq!(Name::parse("   "), Err("Enter a name."));
        assert!(Name::parse("bad\u{0007}name").is_err());
        for spoof in [
            "Prod\u{202e}revres",
            "Prod\u{200b}",
            "\u{2066}x\u{2069}",
            "\u{feff}x",
        ] {
            assert_eq!(
                Name::parse(spoof),
                Err("Remove the invisible characters (direction marks or zero-width spaces)."),
                "{spoof:?}"
            );
        }
        assert!(Name::parse("Café ☕ 日本").is_ok());
        assert_eq!(
            Name::parse("  Production server ").map(|n| n.0),
            Ok("Production server".into())
        );
    }

    #[test]
    fn passwords_are_12_to_128_characters() {
        assert!(Password::parse_new("x".repeat(11)).is_err());
        assert!(Password::parse_new("x".repeat(12)).is_ok());
        assert!(Password::parse_new("é".repeat(128)).is_ok());
        assert!(Password::parse_new("x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse_new("x".repeat(20))),
            "Ok(Password(<redacted>))"
        );
    }

    #[test]
    fn allowlists_are_normalised() {
        assert_eq!(parse_allowlist(""), Ok(None));
        assert_eq!(
            parse_allowlist("203.0.113.7\n198.51.100.9/24, 2001:db8::1/32"),
            Ok(Some(
                "203.0.113.7/32 198.51.100.0/24 2001:db8::/32".to_owned()
            ))
        );
        assert!(parse_allowlist("10.0.0.0/33").is_err());
        assert!(parse_allowlist("example.com").is_err());
        assert_eq!(parse_rate_limit(" 120 "), Ok(Some(120)));
        assert_eq!(parse_rate_limit(""), Ok(None));
        assert!(parse_rate_limit("0").is_err());
        assert!(parse_rate_limit("lots").is_err());
    }

    #[test]
    fn expiry_choices() {
        let today = date!(2026 - 01 - 15);
        assert_eq!(
            ExpiryChoice::parse("never", "", today),
            Ok(ExpiryChoice::Never)
        );
        assert_eq!(
            ExpiryChoice::parse("30", "", today),
            Ok(ExpiryChoice::Days(30))
        );
        assert!(ExpiryChoice::parse("31", "", today).is_err());
        assert!(ExpiryChoice::parse("date", "2026-01-15", today).is_err());
        assert!(ExpiryChoice::parse("date", "2025-12-31", today).is_err());
        assert!(ExpiryChoice::parse("date", "not a date", today).is_err());
        assert_eq!(
            ExpiryChoice::parse("date", "2026-02-01", today),
            Ok(ExpiryChoice::On(date!(2026 - 02 - 01)))
        );
    }
}

//! Redirect targets taken from input (`next=` after sign-in, invitations): only a path on
//! this site may survive. Browsers strip tabs and newlines from URLs and read `\` as `/`, so
//! `/\t/evil.example` or `/\evil.example` would leave the site; anything doubtful falls back
//! to the caller's default instead.

/// Longest redirect target kept.
pub const MAX_LEN: usize = 2048;

/// A same-origin absolute path (with optional query): starts with one `/`, holds only visible
/// ASCII, no backslash and no `//`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPath(String);

impl LocalPath {
    /// Parses a redirect target; `None` for anything that is not plainly a path on this site.
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes = raw.as_bytes();
        let plain = !raw.is_empty()
            && raw.len() <= MAX_LEN
            && bytes[0] == b'/'
            && bytes
                .iter()
                .all(|b| (0x21..=0x7e).contains(b) && *b != b'\\')
            && !raw.contains("//");
        plain.then(|| Self(raw.to_owned()))
    }

    /// `raw` if it is a local path, else `default`.
    pub fn or(raw: Option<&str>, default: &str) -> String {
        raw.and_then(Self::parse)
            .map_or_else(|| default.to_owned(), |p| p.0)
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::LocalPath;

    #[test]
    fn only_plain_local_paths_survive() {
        for ok in [
            "/",
            "/teams/acme/settings/api-keys",
            "/invitations?token=abc&x=1",
            "/%09/x",
        ] {
            assert_eq!(
                LocalPath::parse(ok).map(|p| p.0),
                Some(ok.to_owned()),
                "{ok}"
            );
        }
        for bad in [
            "",
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\u{b}/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\\evil.example",
            "\\\\evil.example",
            "/x\\y",
            "https://evil.example",
            "evil.example",
            "/ space",
            "/teams//x",
            "/caf\u{e9}",
            "/\u{7f}",
            "/\u{0}",
        ] {
            assert_eq!(LocalPath::parse(bad), None, "{bad:?}");
        }
        assert_eq!(LocalPath::parse(&format!("/{}", "a".repeat(3000))), None);
        assert_eq!(LocalPath::or(Some("/\t/evil"), "/"), "/");
    }
}

//! The API key secret: `sk_<mode>_[<env>_]<body>`, body = 32 random base62 characters plus a
//! 6-character base62 CRC32 of everything before it. The checksum lets the server (and secret
//! scanners) reject typos and random strings without a database lookup.
//!
//! The plaintext lives only in [`ApiKeySecret`]; its `Debug` is redacted and it is rendered in
//! exactly one response (the create/rotate reveal).

use std::fmt;

use super::base62;

/// Random characters in a key body (≈190 bits).
pub const RANDOM_LEN: usize = 32;
/// Checksum characters at the end of the body.
pub const CHECKSUM_LEN: usize = 6;
/// Longest accepted environment label.
pub const MAX_ENV_LEN: usize = 12;
/// The pattern published for secret scanners.
pub const SCANNER_REGEX: &str = "sk_(live|test)_([a-z0-9]{1,12}_)?[0-9A-Za-z]{38}";

/// Live keys touch production data; test keys a separate sandbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, diesel::FromSqlRow)]
pub enum KeyMode {
    /// `sk_live_…`
    Live,
    /// `sk_test_…`
    Test,
}

impl KeyMode {
    /// `live` or `test`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }

    /// Parses `live` / `test`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "live" => Some(Self::Live),
            "test" => Some(Self::Test),
            _ => None,
        }
    }
}

/// An optional environment label (`prod`, `staging`, `dev`): `[a-z0-9]{1,12}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvLabel(String);

impl EnvLabel {
    /// What to tell someone whose label does not parse.
    pub const MESSAGE: &'static str =
        "Use 1–12 lower-case letters or digits, like prod or staging.";

    /// Parses a label; `None` if it is not 1–12 lower-case letters or digits.
    pub fn parse(s: &str) -> Option<Self> {
        Self::is_valid(s).then(|| Self(s.to_owned()))
    }

    fn is_valid(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= MAX_ENV_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A full API key. Never logged, never stored.
pub struct ApiKeySecret(String);

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// Why a presented key was rejected before any lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyFormatError {
    /// Not `sk_live_` / `sk_test_`.
    Prefix,
    /// Bad environment label.
    Environment,
    /// Body is not 38 characters.
    Length,
    /// Body has characters outside base62.
    Charset,
    /// The checksum does not match.
    Checksum,
}

/// What is kept of a key for display: `sk_live_prod_` + `AbCd` … `wxYz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDisplay {
    /// Everything before the body.
    pub prefix: String,
    /// First 4 characters of the body.
    pub head: String,
    /// Last 4 characters of the body.
    pub tail: String,
}

impl KeyDisplay {
    /// `sk_live_prod_AbCd…wxYz`.
    pub fn masked(&self) -> String {
        mask(&self.prefix, &self.head, &self.tail)
    }
}

/// `prefix` + `head` + `…` + `tail`, in one allocation.
pub fn mask(prefix: &str, head: &str, tail: &str) -> String {
    let parts = mask_parts(prefix, head, tail);
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// The pieces of [`mask`], for writers that need not join them.
pub fn mask_parts<'a>(prefix: &'a str, head: &'a str, tail: &'a str) -> [&'a str; 4] {
    [prefix, head, "…", tail]
}

fn checksum(before: &str) -> [u8; CHECKSUM_LEN] {
    let mut sum = [0; CHECKSUM_LEN];
    base62::encode_into(u64::from(crc32fast::hash(before.as_bytes())), &mut sum);
    sum
}

/// Prefix, environment, length, charset and checksum of a presented key, without copying it.
fn check_format(s: &str) -> Result<(), KeyFormatError> {
    let rest = s
        .strip_prefix("sk_live_")
        .or_else(|| s.strip_prefix("sk_test_"))
        .ok_or(KeyFormatError::Prefix)?;
    let body = match rest.split_once('_') {
        Some((env, body)) if EnvLabel::is_valid(env) => body,
        Some(_) => return Err(KeyFormatError::Environment),
        None => rest,
    };
    if body.len() != RANDOM_LEN + CHECKSUM_LEN {
        return Err(KeyFormatError::Length);
    }
    if !base62::is_base62(body) {
        return Err(KeyFormatError::Charset);
    }
    let (before, sum) = s.split_at(s.len() - CHECKSUM_LEN);
    // Not secret-dependent timing worth hiding: the checksum is public arithmetic.
    if checksum(before) != sum.as_bytes() {
        return Err(KeyFormatError::Checksum);
    }
    Ok(())
}

/// SHA-256 of a whole key: what identifies it in the key cache, and (as hex) in the database.
/// Not a secret — a digest of a 190-bit random key cannot be turned back into the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, diesel::FromSqlRow)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    /// All zeros: no key has it (a fixture's record matches no presented key).
    pub const NONE: KeyDigest = KeyDigest([0; 32]);

    /// The digest of a presented key, after checking its format and checksum: the API's hot
    /// path, which keeps no copy of the key.
    pub fn of_presented(key: &str) -> Result<Self, KeyFormatError> {
        use sha2::{Digest, Sha256};
        check_format(key)?;
        Ok(Self(Sha256::digest(key.as_bytes()).into()))
    }

    /// A digest that stands for `name` in unit tests.
    #[cfg(test)]
    pub fn for_tests(name: &str) -> Self {
        use sha2::{Digest, Sha256};
        Self(Sha256::digest(name.as_bytes()).into())
    }

    /// Its first eight bytes as a number: SHA-256 output is uniform, so this is a ready-made
    /// hash (the key cache's map key).
    pub fn tag(&self) -> u64 {
        let [a, b, c, d, e, f, g, h, ..] = self.0;
        u64::from_le_bytes([a, b, c, d, e, f, g, h])
    }

    /// The raw digest (tests).
    #[cfg(test)]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A digest from raw bytes (tests).
    #[cfg(test)]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Hex, as stored in `api_keys.secret_digest`.
    pub fn to_hex(&self) -> String {
        super::hex(&self.0)
    }

    /// The digest from its stored hex form (64 lower-case hex digits), or None.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2)?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(out))
    }

    /// The digest of a generated key.
    pub fn of_secret(secret: &ApiKeySecret) -> Self {
        use sha2::{Digest, Sha256};
        Self(Sha256::digest(secret.expose().as_bytes()).into())
    }
}

fn prefix_for(mode: KeyMode, env: Option<&EnvLabel>) -> String {
    match env {
        Some(env) => format!("sk_{}_{}_", mode.as_str(), env.as_str()),
        None => format!("sk_{}_", mode.as_str()),
    }
}

impl ApiKeySecret {
    /// A new random key.
    pub fn generate(mode: KeyMode, env: Option<&EnvLabel>) -> Self {
        let mut key = prefix_for(mode, env);
        key.push_str(&base62::random(RANDOM_LEN));
        let sum = checksum(&key);
        key.extend(sum.iter().map(|&b| char::from(b)));
        Self(key)
    }

    /// Parses a presented key: prefix, environment, length, charset and checksum. Touches no
    /// database.
    pub fn parse(s: &str) -> Result<Self, KeyFormatError> {
        check_format(s)?;
        Ok(Self(s.to_owned()))
    }

    /// The plaintext, for the one response that reveals it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Hex SHA-256 of the whole key: the only form that is stored.
    pub fn digest(&self) -> String {
        super::sha256_hex(&self.0)
    }

    /// Mode encoded in the prefix.
    pub fn mode(&self) -> KeyMode {
        if self.0.starts_with("sk_test_") {
            KeyMode::Test
        } else {
            KeyMode::Live
        }
    }

    /// The display parts kept in the database.
    pub fn display(&self) -> KeyDisplay {
        let body_start = self.0.len() - RANDOM_LEN - CHECKSUM_LEN;
        let (prefix, body) = self.0.split_at(body_start);
        KeyDisplay {
            prefix: prefix.to_owned(),
            head: body[..4].to_owned(),
            tail: body[body.len() - 4..].to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn env(s: &str) -> EnvLabel {
        EnvLabel::parse(s).unwrap_or_else(|| panic!("{s} is a valid label"))
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let live = ApiKeySecret::generate(KeyMode::Live, None);
        assert!(live.expose().starts_with("sk_live_"));
        assert_eq!(live.expose().len(), "sk_live_".len() + 38);
        let prod = ApiKeySecret::generate(KeyMode::Test, Some(&env("prod")));
        assert!(prod.expose().starts_with("sk_test_prod_"));
        assert_eq!(prod.mode(), KeyMode::Test);
        for key in [&live, &prod] {
            assert!(ApiKeySecret::parse(key.expose()).is_ok(), "own keys parse");
        }
    }

    #[test]
    fn generated_keys_match_the_published_scanner_regex_shape() {
        let key = ApiKeySecret::generate(KeyMode::Live, Some(&env("staging")));
        let body = key
            .expose()
            .strip_prefix("sk_live_staging_")
            .unwrap_or_default();
        assert_eq!(body.len(), 38);
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_hot_path_digest_is_the_stored_digest_and_checks_the_format() {
        let key = ApiKeySecret::generate(KeyMode::Test, Some(&env("dev")));
        let digest = KeyDigest::of_presented(key.expose());
        assert_eq!(digest.map(|d| d.to_hex()).ok(), Some(key.digest()));
        let s = key.expose();
        let typo = format!(
            "{}{}",
            &s[..s.len() - 1],
            if s.ends_with('a') { 'b' } else { 'a' }
        );
        assert_eq!(
            KeyDigest::of_presented(&typo).err(),
            Some(KeyFormatError::Checksum)
        );
        assert_eq!(
            KeyDigest::of_presented("sk_test_DEV_abc").err(),
            Some(KeyFormatError::Environment)
        );
        assert_eq!(
            KeyDigest::of_presented("Bearer").err(),
            Some(KeyFormatError::Prefix)
        );
    }

    #[test]
    fn parsing_rejects_wrong_prefix_length_charset_and_checksum() {
        let good = ApiKeySecret::generate(KeyMode::Live, None);
        let s = good.expose();
        assert_eq!(
            ApiKeySecret::parse(&s.replacen("sk_live_", "sk_prod_", 1)).err(),
            Some(KeyFormatError::Prefix)
        );
        assert_eq!(
            ApiKeySecret::parse(&s.replacen("sk_", "pk_", 1)).err(),
            Some(KeyFormatError::Prefix)
        );
        assert_eq!(
            ApiKeySecret::parse(&s[..s.len() - 1]).err(),
            Some(KeyFormatError::Length)
        );
        assert_eq!(
            ApiKeySecret::parse(&format!("{s}A")).err(),
            Some(KeyFormatError::Length)
        );
        let mut bad_char = s.to_owned();
        bad_char.replace_range(10..11, "-");
        assert_eq!(
            ApiKeySecret::parse(&bad_char).err(),
            Some(KeyFormatError::Charset)
        );
        // Change one random character: the checksum catches it.
        let mut typo = s.to_owned().into_bytes();
        typo[12] = if typo[12] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap_or_default();
        assert_eq!(
            ApiKeySecret::parse(&typo).err(),
            Some(KeyFormatError::Checksum)
        );
        assert_eq!(
            ApiKeySecret::parse("sk_live_PROD_0123456789012345678901234567890123456789").err(),
            Some(KeyFormatError::Environment)
        );
        assert_eq!(
            ApiKeySecret::parse("sk_live_thirteenchars_01234567890123456789012345678901234567")
                .err(),
            Some(KeyFormatError::Environment)
        );
        assert_eq!(ApiKeySecret::parse("").err(), Some(KeyFormatError::Prefix));
    }

    #[test]
    fn one_hundred_thousand_generated_keys_are_distinct() {
        let keys: HashSet<String> = (0..100_000)
            .map(|_| {
                ApiKeySecret::generate(KeyMode::Live, None)
                    .expose()
                    .to_owned()
            })
            .collect();
        assert_eq!(keys.len(), 100_000);
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let key = ApiKeySecret::generate(KeyMode::Live, None);
        let debug = format!("{key:?}");
        assert!(!debug.contains(&key.expose()[8..]));
        assert_eq!(debug, "ApiKeySecret(<redacted>)");
    }

    #[test]
    fn display_parts_and_digest() {
        let key = ApiKeySecret::generate(KeyMode::Live, Some(&env("prod")));
        let d = key.display();
        assert_eq!(d.prefix, "sk_live_prod_");
        assert_eq!(d.head, key.expose()[13..17]);
        assert!(key.expose().ends_with(&d.tail));
        assert_eq!(d.masked(), format!("sk_live_prod_{}…{}", d.head, d.tail));
        let digest = key.digest();
        assert_eq!(digest.len(), 64);
        assert!(!digest.contains(&key.expose()[13..]));
    }
}

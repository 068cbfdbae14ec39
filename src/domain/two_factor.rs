//! Two-factor sign-in with an authenticator app (TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30 s):
//! the secret, the codes it accepts (the current step and one either side, each step once),
//! the `otpauth://` URI and its QR code (drawn here as an SVG path, no external service), and
//! the single-use recovery codes (only their digests are stored).

use secrecy::{ExposeSecret, SecretSlice};
use subtle::ConstantTimeEq;

use super::base62;

/// Seconds per code.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
const SECRET_LEN: usize = 20;

/// An authenticator secret. Plaintext only while a code is checked or the QR code is drawn.
pub struct TotpSecret(SecretSlice<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_LEN];
        // The OS generator; a failure here is a broken machine, and a zero secret would be
        // refused by `totp` below (too predictable to use), never accepted silently.
        if getrandom::fill(&mut bytes).is_err() {
            bytes.clear();
        }
        Self(bytes.into())
    }

    /// The secret as base32 (what people type into an app by hand, and what is sealed).
    pub fn base32(&self) -> String {
        base32_encode(self.0.expose_secret())
    }

    /// Reads a base32 secret back (from the vault).
    pub fn from_base32(text: &str) -> Option<Self> {
        let bytes = base32_decode(text)?;
        (bytes.len() >= 16).then(|| Self(bytes.into()))
    }

    fn totp(&self) -> Option<totp_rs::TOTP> {
        totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            DIGITS,
            0,
            STEP.unsigned_abs(),
            self.0.expose_secret().to_vec(),
        )
        .ok()
    }

    /// The code of `step` (for tests and for the enrolment page's check).
    pub fn code_at(&self, unix: i64) -> Option<String> {
        Some(self.totp()?.generate(u64::try_from(unix).ok()?))
    }

    /// The step `code` belongs to, if it is the code of the step of `now` or of one either
    /// side, and that step is later than `last_step` (each code works once: a replay, or an
    /// older code after a newer one, is refused).
    pub fn accepts(&self, code: &str, now: i64, last_step: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp()?;
        let current = now.div_euclid(STEP);
        let mut found = None;
        // Every candidate is computed and compared, in constant time, whichever matches.
        for step in [current - 1, current, current + 1] {
            let Ok(at) = u64::try_from(step * STEP) else {
                continue;
            };
            let expected = totp.generate(at);
            let same: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if same && step > last_step && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://` URI apps read from the QR code.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let label: String =
            form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes())
                .collect::<String>()
                .replace('+', "%20");
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("secret", &self.base32())
            .append_pair("issuer", issuer)
            .append_pair("algorithm", "SHA1")
            .append_pair("digits", "6")
            .append_pair("period", "30")
            .finish()
            .replace('+', "%20");
        format!("otpauth://totp/{label}?{query}")
    }
}

/// A QR code of `text` as an SVG path in module units, and its size with a four-module quiet
/// zone: the template draws `<svg viewBox="0 0 {size} {size}"><path d="{path}"/></svg>`. The
/// path holds only digits and `M h v z`, so it needs no escaping.
pub fn qr_path(text: &str) -> Option<(String, i32)> {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium).ok()?;
    let border = 4;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{} {}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Some((path, qr.size() + 2 * border))
}

/// Recovery codes: 10 characters of an unambiguous alphabet, shown as `xxxxx-xxxxx`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = base62::random(40)
                .chars()
                .map(|c| c.to_ascii_lowercase())
                .filter(|c| RECOVERY_ALPHABET.contains(*c))
                .take(10)
                .collect();
            format!("{}-{}", &raw[..5.min(raw.len())], &raw[5.min(raw.len())..])
        })
        .collect()
}

const RECOVERY_ALPHABET: &str = "23456789abcdefghjkmnpqrstuvwxyz";

/// A recovery code as typed (any case, with or without the dash or spaces) in the form its
/// digest is taken of; `None` when it cannot be one.
pub fn normalise_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == 10 && code.chars().all(|c| RECOVERY_ALPHABET.contains(c))).then_some(code)
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(B32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(B32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = B32.iter().position(|x| *x == c.to_ascii_uppercase())?;
        buffer = (buffer << 5) | u32::try_from(v).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        // RFC 6238's SHA-1 test secret: "12345678901234567890".
        TotpSecret(b"12345678901234567890".to_vec().into())
    }

    #[test]
    fn codes_match_rfc_6238_and_work_one_step_either_side_once() {
        let s = rfc_secret();
        // RFC 6238, T = 59: 94287082 (8 digits); its last six.
        assert_eq!(s.code_at(59).as_deref(), Some("287082"));
        let now = 1_111_111_109;
        assert_eq!(s.code_at(now).as_deref(), Some("081804"));
        let step = now / STEP;
        assert_eq!(s.accepts("081804", now, 0), Some(step));
        assert_eq!(s.accepts("081 804", now, 0), Some(step));
        let before = s.code_at(now - STEP).expect("code");
        let after = s.code_at(now + STEP).expect("code");
        assert_eq!(s.accepts(&before, now, 0), Some(step - 1));
        assert_eq!(s.accepts(&after, now, 0), Some(step + 1));
        let far = s.code_at(now + 2 * STEP).expect("code");
        let old = s.code_at(now - 2 * STEP).expect("code");
        assert_eq!(s.accepts(&far, now, 0), None);
        assert_eq!(s.accepts(&old, now, 0), None);
        // Replays, and older codes after a newer one, are refused.
        assert_eq!(s.accepts("081804", now, step), None);
        assert_eq!(s.accepts(&before, now, step), None);
        assert_eq!(s.accepts("12345", now, 0), None);
        assert_eq!(s.accepts("abcdef", now, 0), None);
    }

    #[test]
    fn secrets_round_trip_through_base32_and_uris_name_the_account() {
        let s = TotpSecret::generate();
        let text = s.base32();
        assert_eq!(text.len(), 32);
        let back = TotpSecret::from_base32(&text).expect("decodes");
        assert_eq!(back.code_at(1_700_000_000), s.code_at(1_700_000_000));
        assert_eq!(rfc_secret().base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = rfc_secret().uri("Latchkey", "ada@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/Latchkey%3Aada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Latchkey&algorithm=SHA1&digits=6&period=30"
        );
        let (path, size) = qr_path(&uri).expect("qr");
        assert!(size > 29 && path.starts_with('M'));
        assert!(
            path.chars()
                .all(|c| c.is_ascii_digit() || "Mhvz -".contains(c))
        );
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(
            codes.iter().collect::<std::collections::HashSet<_>>().len(),
            10
        );
        for c in &codes {
            assert_eq!(c.len(), 11, "{c}");
            let n = normalise_recovery_code(&c.to_uppercase().replace('-', " ")).expect("ok");
            assert_eq!(n, c.replace('-', ""));
        }
        assert_eq!(normalise_recovery_code("short"), None);
        assert_eq!(
            normalise_recovery_code("0000000000"),
            None,
            "0 is not in the alphabet"
        );
    }
}

//! The vault: envelope encryption of stored secrets (integration credentials now, webhook
//! signing secrets next). Every value gets a fresh data key; the data key is wrapped by a master
//! key that has an id; both seals bind the value's place (team, owner object, field, version) as
//! associated data, so a ciphertext copied into another row, team or field does not open.
//!
//! XChaCha20-Poly1305 (RustCrypto): 192-bit random nonces, so random nonces never collide in
//! practice. Plaintext lives only in `SecretString` (redacted `Debug`, zeroed on drop).
//!
//! Stored form (one text column): `v1.<key id>.<wrapped data key>.<sealed value>`, both parts
//! base64url without padding, each `nonce ‖ ciphertext+tag`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD as B64};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use zeroize::Zeroizing;

pub mod master_keys;
pub mod startup;
pub mod stores;

/// Bytes of a key (master or data).
const KEY_LEN: usize = 32;
/// Bytes of an XChaCha20 nonce.
const NONCE_LEN: usize = 24;
/// The stored format's version prefix.
const FORMAT: &str = "v1";

/// One master key: 32 secret bytes and a public id (derived from the key, so the same key always
/// has the same id, and an id names no other key).
pub struct MasterKey {
    id: String,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({}, …)", self.id)
    }
}

impl MasterKey {
    /// A master key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let key = Zeroizing::new(bytes);
        let id = crate::domain::hex(&derive(&key, b"latchkey vault key id")[..6]);
        Self { id, key }
    }

    /// A master key from its text form: 64 hex digits, or base64 in either alphabet with or
    /// without padding (what `openssl rand -hex 32` and `openssl rand -base64 32` print, and
    /// the base64url of a generated key file).
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let text = text.trim();
        let bytes: Vec<u8> = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| {
                    text.get(2 * i..2 * i + 2)
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                })
                .collect::<Option<_>>()
                .ok_or(VaultError::BadMasterKey)?
        } else {
            let unpadded = text.strip_suffix('=').unwrap_or(text);
            let unpadded = unpadded.strip_suffix('=').unwrap_or(unpadded);
            let standard = unpadded.contains(['+', '/']);
            let engine = if standard { &STANDARD_NO_PAD } else { &B64 };
            engine
                .decode(unpadded)
                .map_err(|_| VaultError::BadMasterKey)?
        };
        let bytes = Zeroizing::new(bytes);
        let array: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::BadMasterKey)?;
        Ok(Self::from_bytes(array))
    }

    /// A new random master key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        crate::domain::base62::fill_random(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// Its text form (base64url), for writing the generated key file.
    pub fn to_text(&self) -> SecretString {
        SecretString::from(B64.encode(self.key.as_slice()))
    }

    /// The public id stored with every value it wraps.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// HMAC-SHA256 of `label` under `key`: keys for other purposes, derived from a master key.
fn derive(key: &[u8; KEY_LEN], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        // HMAC takes keys of any length: this cannot fail for 32 bytes.
        return Zeroizing::new([0; 32]);
    };
    mac.update(label);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// Where a stored value belongs. All four parts are bound into both seals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding<'a> {
    /// The owning team (or agency) id.
    pub team: &'a str,
    /// The owning object's id (an integration, a webhook endpoint…).
    pub owner: &'a str,
    /// The field within it (`token`, `secret`…).
    pub field: &'a str,
    /// The owner's credential version (a replaced value never opens in place of the new one).
    pub version: i64,
}

impl Binding<'_> {
    fn associated_data(&self, key_id: &str) -> Vec<u8> {
        // Length-prefixed, so no two bindings serialise alike.
        let mut out = Vec::new();
        for part in [FORMAT, key_id, self.team, self.owner, self.field] {
            out.extend_from_slice(&u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(&self.version.to_be_bytes());
        out
    }
}

/// Why the vault refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    /// The configured master key is not 32 bytes in hex or base64url.
    #[error(
        "the master key must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32)"
    )]
    BadMasterKey,
    /// No master key is configured.
    #[error("no master key is configured")]
    NoMasterKey,
    /// The value was wrapped by a master key that is not configured.
    #[error("the value was sealed with master key {0}, which is not configured")]
    UnknownKey(String),
    /// Not a stored value of this format.
    #[error("not a sealed value")]
    Malformed,
    /// The value does not open: tampered, moved to another place, or a different key.
    #[error("the value does not open here")]
    Tampered,
}

/// The configured master keys: the first seals, every one opens.
#[derive(Debug)]
pub struct Keyring {
    current: MasterKey,
    older: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring of `keys` (the first is the one new values are sealed with).
    pub fn new(keys: Vec<MasterKey>) -> Result<Self, VaultError> {
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or(VaultError::NoMasterKey)?;
        Ok(Self {
            current,
            older: keys.collect(),
        })
    }

    /// The key new values are sealed with.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    /// Every configured key id, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .map(MasterKey::id)
            .collect()
    }

    fn key(&self, id: &str) -> Result<&MasterKey, VaultError> {
        std::iter::once(&self.current)
            .chain(&self.older)
            .find(|k| k.id == id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_owned()))
    }

    /// Seals `secret` for `place` under the current master key.
    pub fn seal(&self, place: &Binding<'_>, secret: &SecretString) -> Result<String, VaultError> {
        let master = self.current();
        let aad = place.associated_data(&master.id);
        let mut data_key = Zeroizing::new([0u8; KEY_LEN]);
        crate::domain::base62::fill_random(data_key.as_mut_slice());
        let value = seal_with(&data_key, &aad, secret.expose_secret().as_bytes())?;
        let wrapped = seal_with(&master.key, &aad, data_key.as_slice())?;
        Ok(format!(
            "{FORMAT}.{}.{}.{}",
            master.id,
            B64.encode(wrapped),
            B64.encode(value)
        ))
    }

    /// Opens a value sealed for exactly `place`.
    pub fn open(&self, place: &Binding<'_>, stored: &str) -> Result<SecretString, VaultError> {
        let mut parts = stored.split('.');
        let (Some(FORMAT), Some(id), Some(wrapped), Some(value), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(VaultError::Malformed);
        };
        let master = self.key(id)?;
        let aad = place.associated_data(id);
        let wrapped = B64.decode(wrapped).map_err(|_| VaultError::Malformed)?;
        let value = B64.decode(value).map_err(|_| VaultError::Malformed)?;
        let data_key = Zeroizing::new(open_with(&master.key, &aad, &wrapped)?);
        let data_key: &[u8; KEY_LEN] = data_key
            .as_slice()
            .try_into()
            .map_err(|_| VaultError::Tampered)?;
        let plain = Zeroizing::new(open_with(data_key, &aad, &value)?);
        let text = std::str::from_utf8(&plain).map_err(|_| VaultError::Tampered)?;
        Ok(SecretString::from(text.to_owned()))
    }

    /// Re-wraps a stored value's data key with the current master key (the value itself is not
    /// re-encrypted); `None` when it already is.
    pub fn rewrap(&self, place: &Binding<'_>, stored: &str) -> Result<Option<String>, VaultError> {
        if key_id_of(stored) == Some(self.current().id()) {
            return Ok(None);
        }
        let secret = self.open(place, stored)?;
        self.seal(place, &secret).map(Some)
    }

    /// A short fingerprint of `secret` for pages ("fingerprint 3f9a1c2e"): an HMAC under a key
    /// derived from the current master key, so it says whether two people hold the same value
    /// without revealing any of it. `scope` (the team) is mixed in, so equal values of two
    /// tenants do not show equal fingerprints. Computed once, when a value is set, and stored.
    pub fn fingerprint(&self, scope: &str, secret: &SecretString) -> String {
        let key = derive(&self.current().key, b"latchkey vault fingerprint");
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice()) else {
            return String::new();
        };
        mac.update(&u64::try_from(scope.len()).unwrap_or(u64::MAX).to_be_bytes());
        mac.update(scope.as_bytes());
        mac.update(secret.expose_secret().as_bytes());
        crate::domain::hex(&mac.finalize().into_bytes()[..4])
    }
}

/// The place of the check values.
const CHECK_PLACE: Binding<'static> = Binding {
    team: "",
    owner: "vault",
    field: "check",
    version: 1,
};
/// The known plaintext of a check value.
const CHECK_TEXT: &str = "latchkey vault check";

/// Why the configured keys do not fit the stored data.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StartError {
    /// None of the configured keys sealed anything here.
    #[error(
        "the configured master key (id {configured}) is not the one this database's secrets were \
         sealed with (id {stored}): set LATCHKEY_MASTER_KEY or LATCHKEY_MASTER_KEY_FILE to that key \
         (a new key goes first, the old one after it, until `latchkey vault rewrap` has run)"
    )]
    WrongKey {
        /// The configured key ids.
        configured: String,
        /// The key ids with stored checks.
        stored: String,
    },
    /// A configured key's check does not open: the stored check was changed.
    #[error("the check value of master key {0} does not open: the vault_checks table was changed")]
    Tampered(String),
}

impl Keyring {
    /// Checks the configured keys against the stored checks (key id, sealed): every configured
    /// key that has a check must open it, and when checks exist at least one configured key
    /// must have one. Returns the check to store for the current key when it has none yet.
    pub fn verify_checks(
        &self,
        stored: &[(String, String)],
    ) -> Result<Option<(String, String)>, StartError> {
        let mut matched = false;
        for (id, sealed) in stored {
            if self.key(id).is_err() {
                continue;
            }
            let ok = self
                .open(&CHECK_PLACE, sealed)
                .is_ok_and(|text| text.expose_secret() == CHECK_TEXT);
            if !ok {
                return Err(StartError::Tampered(id.clone()));
            }
            matched = true;
        }
        if !stored.is_empty() && !matched {
            return Err(StartError::WrongKey {
                configured: self.key_ids().join(", "),
                stored: stored
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if stored.iter().any(|(id, _)| id == self.current().id()) {
            return Ok(None);
        }
        let sealed = self
            .seal(&CHECK_PLACE, &SecretString::from(CHECK_TEXT.to_owned()))
            .map_err(|_| StartError::Tampered(self.current().id().to_owned()))?;
        Ok(Some((self.current().id().to_owned(), sealed)))
    }
}

/// The master key id a stored value was wrapped with.
pub fn key_id_of(stored: &str) -> Option<&str> {
    let mut parts = stored.split('.');
    match (parts.next(), parts.next()) {
        (Some(FORMAT), Some(id)) => Some(id),
        _ => None,
    }
}

fn seal_with(key: &[u8; KEY_LEN], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, VaultError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    crate::domain::base62::fill_random(&mut nonce);
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| VaultError::Tampered)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open_with(key: &[u8; KEY_LEN], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < NONCE_LEN {
        return Err(VaultError::Malformed);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    XChaCha20Poly1305::new(key.into())
        .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| VaultError::Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(owner: &str) -> Binding<'_> {
        Binding {
            team: "team_a",
            owner,
            field: "token",
            version: 1,
        }
    }

    fn ring(keys: Vec<MasterKey>) -> Keyring {
        Keyring::new(keys).expect("keys")
    }

    #[test]
    fn a_sealed_value_opens_in_its_place_and_nowhere_else() {
        let vault = ring(vec![MasterKey::generate()]);
        let canary = SecretString::from("shpat_canary_0123456789".to_owned());
        let stored = vault.seal(&place("int_1"), &canary).expect("seal");
        assert!(
            !stored.contains("canary"),
            "no plaintext in the stored form"
        );
        let opened = vault.open(&place("int_1"), &stored).expect("open");
        assert_eq!(opened.expose_secret(), canary.expose_secret());
        // Another owner, field, team or version: the same bytes do not open.
        assert_eq!(
            vault.open(&place("int_2"), &stored).err(),
            Some(VaultError::Tampered)
        );
        let mut other = place("int_1");
        other.field = "secret";
        assert_eq!(
            vault.open(&other, &stored).err(),
            Some(VaultError::Tampered)
        );
        let mut other = place("int_1");
        other.team = "team_b";
        assert_eq!(
            vault.open(&other, &stored).err(),
            Some(VaultError::Tampered)
        );
        let mut other = place("int_1");
        other.version = 2;
        assert_eq!(
            vault.open(&other, &stored).err(),
            Some(VaultError::Tampered)
        );
        // Two seals of one value differ (fresh data key and nonces).
        assert_ne!(vault.seal(&place("int_1"), &canary).expect("seal"), stored);
    }

    #[test]
    fn a_wrong_key_fails_and_rewrapping_moves_every_value_to_the_newest_key() {
        let old = MasterKey::generate();
        let old_text = old.to_text();
        let stored = ring(vec![old])
            .seal(&place("int_1"), &SecretString::from("s3cret".to_owned()))
            .expect("seal");
        let stranger = ring(vec![MasterKey::generate()]);
        assert!(matches!(
            stranger.open(&place("int_1"), &stored),
            Err(VaultError::UnknownKey(_))
        ));
        let new = MasterKey::generate();
        let new_id = new.id().to_owned();
        let both = ring(vec![
            new,
            MasterKey::parse(old_text.expose_secret()).expect("old key"),
        ]);
        let rewrapped = both
            .rewrap(&place("int_1"), &stored)
            .expect("rewrap")
            .expect("was on the old key");
        assert_eq!(key_id_of(&rewrapped), Some(new_id.as_str()));
        assert_eq!(both.rewrap(&place("int_1"), &rewrapped), Ok(None));
        let new_only = ring(vec![both.current]);
        assert_eq!(
            new_only
                .open(&place("int_1"), &rewrapped)
                .expect("opens with the new key alone")
                .expose_secret(),
            "s3cret"
        );
    }

    #[test]
    fn master_keys_parse_from_hex_or_base64_and_keep_their_id() {
        let key = MasterKey::generate();
        let again = MasterKey::parse(key.to_text().expose_secret()).expect("base64");
        assert_eq!(again.id(), key.id());
        let hex = "00".repeat(32);
        assert!(MasterKey::parse(&hex).is_ok());
        // `openssl rand -base64 32`: standard alphabet, padded; the same key unpadded and in
        // base64url is the same key.
        let bytes: Vec<u8> = [0xfb, 0xff, 0xbf].into_iter().chain(3u8..32).collect();
        let padded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert!(
            padded.ends_with('=') && padded.contains(['+', '/']),
            "{padded}"
        );
        let from_padded = MasterKey::parse(&padded).expect("padded standard base64");
        let from_url = MasterKey::parse(&B64.encode(&bytes)).expect("base64url");
        assert_eq!(from_padded.id(), from_url.id());
        assert_eq!(
            MasterKey::parse(&format!("{padded}==")).err(),
            Some(VaultError::BadMasterKey)
        );
        for bad in ["", "short", &"zz".repeat(32), &"00".repeat(31)] {
            assert_eq!(
                MasterKey::parse(bad).err(),
                Some(VaultError::BadMasterKey),
                "{bad}"
            );
        }
        assert!(!format!("{key:?}").contains(key.to_text().expose_secret()));
    }

    #[test]
    fn the_wrong_master_key_is_refused_at_start_and_a_new_key_joins_the_checks() {
        let a = MasterKey::generate();
        let a_text = a.to_text();
        let first = ring(vec![a]);
        let check = first
            .verify_checks(&[])
            .expect("first start")
            .expect("a check to store");
        let stored = vec![check.clone()];
        assert_eq!(
            first.verify_checks(&stored),
            Ok(None),
            "a restart with the same key"
        );
        let wrong = ring(vec![MasterKey::generate()]);
        assert!(matches!(
            wrong.verify_checks(&stored),
            Err(StartError::WrongKey { .. })
        ));
        // A new key in front of the old one: accepted, and its own check is added.
        let rotated = ring(vec![
            MasterKey::generate(),
            MasterKey::parse(a_text.expose_secret()).expect("a"),
        ]);
        let added = rotated
            .verify_checks(&stored)
            .expect("accepted")
            .expect("new check");
        assert_eq!(added.0, rotated.current().id());
        // A changed check value is reported, not ignored.
        let tampered = vec![(check.0, check.1.replace('.', ".x"))];
        assert!(matches!(
            first.verify_checks(&tampered),
            Err(StartError::Tampered(_))
        ));
    }

    #[test]
    fn fingerprints_match_for_equal_values_and_reveal_nothing() {
        let vault = ring(vec![MasterKey::generate()]);
        let same = SecretString::from("same".to_owned());
        let a = vault.fingerprint("team_a", &same);
        assert_eq!(a, vault.fingerprint("team_a", &same));
        assert_ne!(
            a,
            vault.fingerprint("team_a", &SecretString::from("other".to_owned()))
        );
        assert_ne!(
            a,
            vault.fingerprint("team_b", &same),
            "tenants do not compare"
        );
        assert_eq!(a.len(), 8);
        assert!(!a.contains("same"));
    }
}

//! Webhooks as values: signing secrets and the two signatures every delivery carries
//! (DESIGN §10), and the guard that keeps a payload's bytes reproducible by Node's
//! `JSON.stringify(JSON.parse(body))` — what seed 004's verifier signs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;
use zeroize::Zeroizing;

/// The prefix of a signing secret (Standard Webhooks' convention).
const PREFIX: &str = "whsec_";

/// A signing secret: `whsec_` + base64 of 32 random bytes. Shown once; kept in the vault.
/// `Debug` is redacted.
pub struct SigningSecret(SecretString);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(whsec_…)")
    }
}

impl SigningSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        super::base62::fill_random(bytes.as_mut_slice());
        Self(SecretString::from(format!(
            "{PREFIX}{}",
            B64.encode(bytes.as_slice())
        )))
    }

    /// A secret from its text (as opened from the vault): `whsec_` + base64 of 32 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let key = text.strip_prefix(PREFIX)?;
        let bytes = Zeroizing::new(B64.decode(key).ok()?);
        (bytes.len() == 32).then(|| Self(SecretString::from(text.to_owned())))
    }

    /// The text, for the one reveal and for sealing.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// As a `SecretString` (what the vault seals).
    pub fn as_secret(&self) -> &SecretString {
        &self.0
    }

    /// The HMAC key of the Standard Webhooks signature: the decoded bytes after `whsec_`.
    fn standard_key(&self) -> Zeroizing<Vec<u8>> {
        let key = self.expose().strip_prefix(PREFIX).unwrap_or_default();
        Zeroizing::new(B64.decode(key).unwrap_or_default())
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `X-Chatbot-Signature`: `sha256=` + lowercase hex of HMAC-SHA256 keyed with the secret's
/// UTF-8 bytes (the whole `whsec_…` text, as seed 004's `crypto.createHmac('sha256', secret)`
/// uses it) over the body.
pub fn chatbot_signature(secret: &SigningSecret, body: &[u8]) -> String {
    format!(
        "sha256={}",
        super::hex(&hmac(secret.expose().as_bytes(), &[body]))
    )
}

/// One `webhook-signature` entry: `v1,` + base64 of HMAC-SHA256 keyed with the decoded secret
/// over `{id}.{timestamp}.{body}` (Standard Webhooks).
pub fn standard_signature(secret: &SigningSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac(
        &secret.standard_key(),
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    format!("v1,{}", B64.encode(mac))
}

/// Whose endpoints an event type goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// A team's endpoints (and, for a client, its agency's).
    Team,
    /// An agency's endpoints only (its own events, about its clients).
    Agency,
}

/// One deliverable event type of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventType {
    /// Its name, the `type` of the payload: `api_key.created`.
    pub name: &'static str,
    /// What happened, for the docs and the picker.
    pub description: &'static str,
    /// Who may subscribe.
    pub audience: Audience,
}

macro_rules! catalogue {
    ($($name:literal, $audience:ident, $description:literal;)*) => {
        /// Every event a webhook endpoint can receive. A payload is thin: ids, names, masked
        /// keys and times — never a secret.
        pub const EVENT_TYPES: &[EventType] = &[
            $(EventType { name: $name, description: $description, audience: Audience::$audience },)*
        ];
    };
}

catalogue! {
    "api_key.created", Team, "A key was created.";
    "api_key.updated", Team, "A key's name, scopes, limits or allowlist changed.";
    "api_key.rotated", Team, "A key was rotated; the payload says until when the old key works.";
    "api_key.grace_ended", Team, "An old key's grace period after a rotation ended.";
    "api_key.deleted", Team, "A key was deleted; requests with it now fail.";
    "api_key.leaked", Team, "A key was reported leaked through /v1/revoke and revoked.";
    "api_key.expiring", Team, "A key expires in 7 days, or in 1 day.";
    "api_key.expired", Team, "A key expired.";
    "api_key.new_address", Team, "A key was used from an address it had not been used from before.";
    "member.invited", Team, "Someone was invited to the team.";
    "member.joined", Team, "An invitee joined.";
    "member.role_changed", Team, "A member's role changed.";
    "member.removed", Team, "A member was removed.";
    "integration.created", Team, "An integration was added.";
    "integration.updated", Team, "An integration's settings changed.";
    "integration.deleted", Team, "An integration was deleted.";
    "integration.test_failed", Team, "An integration's connection test failed.";
    "integration.connected", Team, "A person connected an integration with OAuth (or reconnected it).";
    "integration.disconnected", Team, "An integration's provider refused its OAuth grant: it needs reconnecting.";
    "bot.created", Team, "A bot was created.";
    "bot.updated", Team, "A bot changed.";
    "bot.deleted", Team, "A bot was deleted.";
    "channel.created", Team, "A channel was created.";
    "channel.updated", Team, "A channel changed.";
    "channel.deleted", Team, "A channel was deleted.";
    "conversation.created", Team, "A conversation was imported.";
    "conversation.deleted", Team, "A conversation was deleted.";
    "agent_loop.run.started", Team, "An agent loop run started.";
    "agent_loop.run.finished", Team, "An agent loop run finished.";
    "client.suspended", Agency, "A client account was suspended.";
    "client.resumed", Agency, "A client account was resumed.";
    "webhook.test", Team, "A test event sent from the dashboard or the API.";
}

/// The catalogue entry named `name`.
pub fn event_type(name: &str) -> Option<&'static EventType> {
    EVENT_TYPES.iter().find(|e| e.name == name)
}

/// An endpoint URL as typed: absolute http(s) with a host and no credentials in it (the
/// operation then refuses plain http and private hosts unless the operator allowlisted them).
pub fn parse_endpoint_url(raw: &str) -> Result<url::Url, &'static str> {
    match url::Url::parse(raw.trim()) {
        Ok(u)
            if matches!(u.scheme(), "https" | "http")
                && u.host_str().is_some()
                && u.username().is_empty()
                && u.password().is_none() =>
        {
            Ok(u)
        }
        _ => Err("Enter an absolute https:// URL without credentials."),
    }
}

/// What `names` gets wrong for an endpoint of `owner` (agency endpoints take every type;
/// team endpoints not the agency-only ones): one message per problem.
pub fn event_type_problems(names: &[String], owner: Audience) -> Vec<String> {
    names
        .iter()
        .filter_map(|name| match event_type(name) {
            Some(e) if owner == Audience::Agency || e.audience == Audience::Team => None,
            Some(_) => Some(format!("{name} goes to agency endpoints only.")),
            None => Some(format!("Unknown event type: {name}.")),
        })
        .collect()
}

/// Seconds before attempts 2, 3, … 10 (the first is made at once): 0, 5 s, 5 min, 30 min, 2 h,
/// 5 h, 10 h, 14 h, 20 h, 24 h — about three days in all (DESIGN §10).
pub const RETRY_DELAYS: [i64; 9] = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];

/// The wait before the next attempt after `attempts_made` failed ones, with ±10 % jitter from
/// `random` (so endpoints that failed together do not retry together); `None` when the
/// retries are used up.
pub fn retry_delay(attempts_made: i64, random: u32) -> Option<i64> {
    let index = usize::try_from(attempts_made.checked_sub(1)?).ok()?;
    let delay = *RETRY_DELAYS.get(index)?;
    let spread = i64::from(random % 2001) - 1000; // -1000..=1000 per mille of 10 %
    Some(delay + delay * spread / 10_000)
}

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
const JS_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// Why a payload would not survive `JSON.stringify(JSON.parse(body))` byte for byte.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortabilityError {
    /// A float (Node may print it differently: `1.0` → `1`).
    #[error("{0}: a float; send amounts and ratios as strings")]
    Float(String),
    /// An integer beyond ±(2^53 − 1) (Node rounds it).
    #[error("{0}: an integer beyond 2^53 - 1; send it as a string")]
    BigInteger(String),
    /// An object key that looks like an array index (Node orders those first).
    #[error("{0}: an integer-like object key; Node would reorder it")]
    IntegerKey(String),
}

/// Checks that `value` holds only what Node reproduces byte for byte: no floats, integers
/// within ±(2^53 − 1), no integer-like object keys. (Keys are sorted and unique by
/// construction: `serde_json`'s map is ordered, and a map cannot hold a key twice.)
pub fn check_portable(value: &Value) -> Result<(), PortabilityError> {
    fn walk(v: &Value, at: &str) -> Result<(), PortabilityError> {
        match v {
            Value::Number(n) => match n.as_i64() {
                Some(i) if (-JS_SAFE_INTEGER..=JS_SAFE_INTEGER).contains(&i) => Ok(()),
                Some(_) => Err(PortabilityError::BigInteger(at.to_owned())),
                None if n.is_u64() => Err(PortabilityError::BigInteger(at.to_owned())),
                None => Err(PortabilityError::Float(at.to_owned())),
            },
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| walk(item, &format!("{at}[{i}]"))),
            Value::Object(map) => map.iter().try_for_each(|(k, item)| {
                let integer_like = k == "0"
                    || (!k.is_empty()
                        && !k.starts_with('0')
                        && k.len() <= 10
                        && k.bytes().all(|b| b.is_ascii_digit()));
                if integer_like {
                    return Err(PortabilityError::IntegerKey(format!("{at}.{k}")));
                }
                walk(item, &format!("{at}.{k}"))
            }),
            _ => Ok(()),
        }
    }
    walk(value, "$")
}

/// How far back "retry now" reaches for failed and still-retrying deliveries (seconds, and
/// the words for it): the dashboard's choices and the values `/v1` accepts.
pub const REPLAY_WINDOWS: [(i64, &str); 4] = [
    (3_600, "hour"),
    (86_400, "24 hours"),
    (3 * 86_400, "3 days"),
    (7 * 86_400, "7 days"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_whsec_and_32_random_bytes() {
        let a = SigningSecret::generate();
        let b = SigningSecret::generate();
        assert!(a.expose().starts_with("whsec_"));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.standard_key().len(), 32);
        assert!(SigningSecret::parse(a.expose()).is_some());
        assert!(
            SigningSecret::parse("whsec_c2hvcnQ=").is_none(),
            "too short"
        );
        assert!(SigningSecret::parse("sk_live_x").is_none());
        assert!(
            !format!("{a:?}").contains(&a.expose()[6..]),
            "Debug is redacted"
        );
    }

    #[test]
    fn the_chatbot_signature_is_lowercase_hex_of_the_body() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style.
        let secret = SigningSecret(SecretString::from("key".to_owned()));
        assert_eq!(
            chatbot_signature(&secret, b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn the_standard_signature_matches_the_specs_example() {
        // The Standard Webhooks specification's example secret, id, timestamp and payload.
        // (Its key is 24 bytes, not our 32, so it is built directly rather than parsed.)
        let secret = SigningSecret(SecretString::from(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
        ));
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            standard_signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn retries_follow_the_schedule_with_ten_percent_jitter_and_stop_after_ten_attempts() {
        assert_eq!(retry_delay(1, 1000), Some(5), "no jitter at the midpoint");
        assert_eq!(retry_delay(2, 0), Some(270), "5 min − 10 %");
        assert_eq!(retry_delay(2, 2000), Some(330), "5 min + 10 %");
        assert_eq!(retry_delay(9, 1000), Some(86_400));
        assert_eq!(retry_delay(10, 1000), None, "ten attempts in all");
        assert_eq!(retry_delay(0, 1000), None);
        let total: i64 = RETRY_DELAYS.iter().sum();
        assert!(
            (2 * 86_400..4 * 86_400).contains(&total),
            "about three days: {total}"
        );
    }

    #[test]
    fn the_catalogue_names_each_event_once_and_matches_the_audit_vocabulary() {
        use crate::domain::audit::AuditAction;
        let mut names: Vec<&str> = EVENT_TYPES.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EVENT_TYPES.len(), "no duplicates");
        // Every change-driven event is an audit action of the same name (timer-driven and
        // test events are written by their jobs and the test button).
        let not_changes = [
            "api_key.expiring",
            "api_key.expired",
            "agent_loop.run.started",
            "agent_loop.run.finished",
            "webhook.test",
        ];
        for e in EVENT_TYPES
            .iter()
            .filter(|e| !not_changes.contains(&e.name))
        {
            assert!(
                AuditAction::parse(e.name).is_some(),
                "{} is not an audit action",
                e.name
            );
        }
        assert_eq!(
            event_type("client.suspended").map(|e| e.audience),
            Some(Audience::Agency)
        );
        assert!(event_type("team.updated").is_none());
    }

    #[test]
    fn payloads_node_would_change_are_refused() {
        assert_eq!(
            check_portable(&json!({"a": 1, "b": "x", "c": [true, null]})),
            Ok(())
        );
        assert_eq!(check_portable(&json!({"max": JS_SAFE_INTEGER})), Ok(()));
        assert!(matches!(
            check_portable(&json!({"amount": 1.5})),
            Err(PortabilityError::Float(_))
        ));
        assert!(matches!(
            check_portable(&json!({"id": 9_007_199_254_740_993_i64})),
            Err(PortabilityError::BigInteger(_))
        ));
        assert!(matches!(
            check_portable(&json!({"id": u64::MAX})),
            Err(PortabilityError::BigInteger(_))
        ));
        assert!(matches!(
            check_portable(&json!({"data": {"2": "x"}})),
            Err(PortabilityError::IntegerKey(_))
        ));
        assert_eq!(check_portable(&json!({"02": 1, "v1": 2, "-1": 3})), Ok(()));
    }
}

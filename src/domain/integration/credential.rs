//! A credential's values (write-only: only in memory for one call or one save), its sealed
//! plaintext form, and parsing it from entered fields.

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::Placement;
use super::oauth::Secrets;

/// A credential's values: one token, or a username and password. Only in memory for one call
/// or one save; redacted in `Debug`, zeroed on drop.
#[derive(Debug)]
pub enum Credential {
    /// A single token.
    Token(SecretString),
    /// Basic-auth pair.
    Basic {
        /// Username (or consumer key).
        username: SecretString,
        /// Password (or consumer secret).
        password: SecretString,
    },
    /// An OAuth 2.0 connection's secrets: the call carries its current access token.
    OAuth(Secrets),
}

impl Credential {
    /// The sealed plaintext form: compact JSON of the fields.
    pub fn to_plaintext(&self) -> SecretString {
        let value = match self {
            Credential::Token(t) => serde_json::json!({ "token": t.expose_secret() }),
            Credential::Basic { username, password } => serde_json::json!({
                "username": username.expose_secret(),
                "password": password.expose_secret(),
            }),
            Credential::OAuth(secrets) => serde_json::json!({ "oauth": secrets.to_json() }),
        };
        let text = Zeroizing::new(value.to_string());
        SecretString::from(text.as_str().to_owned())
    }

    /// From the sealed plaintext form.
    pub fn from_plaintext(text: &SecretString) -> Option<Credential> {
        let value: serde_json::Value = serde_json::from_str(text.expose_secret()).ok()?;
        if let Some(oauth) = value.get("oauth") {
            return Secrets::from_json(oauth).map(Credential::OAuth);
        }
        let field = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(|s| SecretString::from(s.to_owned()))
        };
        match (field("token"), field("username"), field("password")) {
            (Some(t), _, _) => Some(Credential::Token(t)),
            (None, Some(username), Some(password)) => {
                Some(Credential::Basic { username, password })
            }
            _ => None,
        }
    }

    /// Whether this credential fits `placement` (a pair for basic, a token otherwise).
    pub fn fits(&self, placement: &Placement) -> bool {
        matches!(
            (self, placement),
            (Credential::Basic { .. }, Placement::Basic)
                | (Credential::Token(_), Placement::Bearer)
                | (Credential::Token(_), Placement::Header { .. })
                | (Credential::Token(_), Placement::Query { .. })
                | (Credential::OAuth(_), Placement::Bearer)
                | (Credential::OAuth(_), Placement::Header { .. })
                | (Credential::OAuth(_), Placement::Query { .. })
        )
    }

    /// The secret strings, for scrubbing echoes out of answers shown to users.
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Credential::Token(t) => vec![t.expose_secret()],
            Credential::Basic { username, password } => {
                vec![username.expose_secret(), password.expose_secret()]
            }
            Credential::OAuth(secrets) => secrets.all(),
        }
    }
}

/// The longest credential value accepted (tokens of real providers are far shorter).
pub const CREDENTIAL_MAX: usize = 4096;

/// Field problems: (field, message).
pub type Problems = Vec<(&'static str, String)>;

impl Credential {
    /// A credential for `placement` from the entered fields (`token`, or `username` and
    /// `password`). A value must be one line of printable characters (it goes into a header).
    pub fn from_fields(
        placement: &Placement,
        token: Option<&str>,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Credential, Problems> {
        let mut problems = Problems::new();
        let mut value = |field: &'static str, raw: Option<&str>, what: &str| {
            let raw = raw.unwrap_or_default().trim();
            if raw.is_empty() {
                problems.push((field, format!("Enter the {what}.")));
                None
            } else if raw.len() > CREDENTIAL_MAX {
                problems.push((
                    field,
                    format!("Must be at most {CREDENTIAL_MAX} characters."),
                ));
                None
            } else if raw.chars().any(char::is_control) {
                problems.push((field, "Must be one line without control characters.".into()));
                None
            } else {
                Some(SecretString::from(raw.to_owned()))
            }
        };
        let credential = match placement {
            Placement::Basic => {
                let username = value("username", username, "username");
                let password = value("password", password, "password");
                username
                    .zip(password)
                    .map(|(username, password)| Credential::Basic { username, password })
            }
            _ => value("token", token, "token").map(Credential::Token),
        };
        match credential {
            Some(c) if problems.is_empty() => Ok(c),
            _ => Err(problems),
        }
    }
}

//! OAuth 2.0 connections as values: the grant an integration uses, its settings (nothing
//! secret), the secrets sealed with it, its status, and when an access token is due for renewal.

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{CREDENTIAL_MAX, Problems, parse_base_url};

/// How an integration gets access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    /// A person consents at the provider (authorization code with PKCE); a refresh token keeps
    /// it connected.
    AuthorizationCode,
    /// Machine to machine: the client id and secret get access tokens themselves.
    ClientCredentials,
}

impl GrantType {
    /// The stored and API name (RFC 6749's).
    pub fn slug(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// From its name.
    pub fn parse(raw: &str) -> Option<GrantType> {
        [GrantType::AuthorizationCode, GrantType::ClientCredentials]
            .into_iter()
            .find(|g| g.slug() == raw)
    }
}

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not connected yet (an authorization-code grant waiting for its consent).
    Pending,
    /// Access tokens come when needed.
    Connected,
    /// The provider refused the grant (`invalid_grant`, the app removed): a person must
    /// connect it again.
    NeedsReconnecting,
}

impl Status {
    /// The stored and API name.
    pub fn slug(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Connected => "connected",
            Status::NeedsReconnecting => "needs_reconnecting",
        }
    }

    /// From storage (anything unknown reads as needing a reconnection: never silently on).
    pub fn from_storage(raw: &str) -> Status {
        match raw {
            "pending" => Status::Pending,
            "connected" => Status::Connected,
            _ => Status::NeedsReconnecting,
        }
    }
}

/// Seconds before its expiry that an access token is renewed: a call never starts with a token
/// that could expire on its way.
pub const RENEW_BEFORE: i64 = 60;

/// Whether an access token expiring at `expires_at` (`None`: the provider gave no expiry) should
/// be renewed before a call at `now`.
pub fn due(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_some_and(|at| at - RENEW_BEFORE <= now)
}

/// A connection's settings: nothing in them is secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The grant.
    pub grant: GrantType,
    /// The provider's token endpoint.
    pub token_url: Url,
    /// Its authorization endpoint (authorization-code grants).
    pub authorize_url: Option<Url>,
    /// Its RFC 7009 revocation endpoint, if it has one.
    pub revoke_url: Option<Url>,
    /// The client id of the app registered at the provider.
    pub client_id: String,
    /// Scopes asked for.
    pub scopes: Vec<String>,
    /// The API the tokens are for (`audience`, as Auth0 and others ask), if any.
    pub audience: Option<String>,
}

/// The secrets of a connection, sealed together: only in memory for one call or one save.
#[derive(Debug)]
pub struct Secrets {
    /// The client secret of the app registered at the provider.
    pub client_secret: SecretString,
    /// The refresh token the provider issued (authorization-code grants).
    pub refresh_token: Option<SecretString>,
    /// The current access token.
    pub access_token: Option<SecretString>,
}

impl Secrets {
    /// The sealed plaintext form's JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        let opt = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
        serde_json::json!({
            "client_secret": self.client_secret.expose_secret(),
            "refresh_token": opt(&self.refresh_token),
            "access_token": opt(&self.access_token),
        })
    }

    /// From the sealed plaintext form's JSON object.
    pub fn from_json(value: &serde_json::Value) -> Option<Secrets> {
        let field = |name: &str| {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(|s| SecretString::from(s.to_owned()))
        };
        Some(Secrets {
            client_secret: field("client_secret")?,
            refresh_token: field("refresh_token"),
            access_token: field("access_token"),
        })
    }

    /// Every secret string, for scrubbing echoes out of answers.
    pub fn all(&self) -> Vec<&str> {
        [
            Some(&self.client_secret),
            self.refresh_token.as_ref(),
            self.access_token.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|s| s.expose_secret())
        .collect()
    }
}

/// A connection's fields as entered, before parsing.
#[derive(Debug, Default)]
pub struct SettingsInput<'a> {
    /// `authorization_code` or `client_credentials`.
    pub grant: &'a str,
    /// Token endpoint.
    pub token_url: &'a str,
    /// Authorization endpoint (authorization-code grants).
    pub authorize_url: Option<&'a str>,
    /// Revocation endpoint.
    pub revoke_url: Option<&'a str>,
    /// Client id.
    pub client_id: &'a str,
    /// Scopes, separated by spaces or commas.
    pub scopes: &'a str,
    /// Audience.
    pub audience: Option<&'a str>,
}

/// The longest scope list accepted.
const SCOPES_MAX: usize = 2048;

impl Settings {
    /// Parses `input`, naming each field's problem (`oauth.<field>`).
    pub fn parse(input: &SettingsInput<'_>) -> Result<Settings, Problems> {
        let mut problems = Problems::new();
        let grant = GrantType::parse(input.grant.trim());
        if grant.is_none() {
            problems.push((
                "oauth.grant_type",
                "Choose authorization_code or client_credentials.".into(),
            ));
        }
        let mut url = |field: &'static str, raw: Option<&str>, required: bool| -> Option<Url> {
            match raw.map(str::trim).filter(|r| !r.is_empty()) {
                None if required => {
                    problems.push((field, "Enter the provider's URL for this.".into()));
                    None
                }
                None => None,
                Some(raw) => match parse_base_url(raw) {
                    Ok(url) => Some(url),
                    Err(message) => {
                        problems.push((field, message.to_owned()));
                        None
                    }
                },
            }
        };
        let token_url = url("oauth.token_url", Some(input.token_url), true);
        let authorize_url = url(
            "oauth.authorize_url",
            input.authorize_url,
            grant == Some(GrantType::AuthorizationCode),
        );
        let revoke_url = url("oauth.revoke_url", input.revoke_url, false);
        let client_id = input.client_id.trim();
        if client_id.is_empty() {
            problems.push(("oauth.client_id", "Enter the client id of your app.".into()));
        } else if client_id.len() > CREDENTIAL_MAX || client_id.chars().any(char::is_control) {
            problems.push((
                "oauth.client_id",
                "Must be one line, at most 4096 characters.".into(),
            ));
        }
        let scopes: Vec<String> = input
            .scopes
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if input.scopes.len() > SCOPES_MAX
            || scopes
                .iter()
                .any(|s| s.chars().any(|c| c == '"' || c == '\\' || c.is_control()))
        {
            problems.push((
                "oauth.scopes",
                "Scopes are names separated by spaces, without quotes or backslashes.".into(),
            ));
        }
        let audience = input.audience.map(str::trim).filter(|a| !a.is_empty());
        if audience.is_some_and(|a| a.len() > 512 || a.chars().any(char::is_control)) {
            problems.push((
                "oauth.audience",
                "Must be one line, at most 512 characters.".into(),
            ));
        }
        match (grant, token_url) {
            (Some(grant), Some(token_url)) if problems.is_empty() => Ok(Settings {
                grant,
                token_url,
                authorize_url,
                revoke_url,
                client_id: client_id.to_owned(),
                scopes,
                audience: audience.map(str::to_owned),
            }),
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_a_minute_before_it_expires_and_never_without_an_expiry() {
        assert!(!due(Some(1_000), 900));
        assert!(due(Some(1_000), 940));
        assert!(due(Some(1_000), 2_000));
        assert!(!due(None, 2_000));
    }

    #[test]
    fn settings_name_every_problem_and_need_an_authorization_url_for_consent() {
        let ok = Settings::parse(&SettingsInput {
            grant: "client_credentials",
            token_url: "https://auth.example.com/oauth/token",
            client_id: "abc",
            scopes: "contacts.read, contacts.write",
            ..SettingsInput::default()
        })
        .expect("parses");
        assert_eq!(ok.scopes, ["contacts.read", "contacts.write"]);
        let bad = Settings::parse(&SettingsInput {
            grant: "authorization_code",
            token_url: "ftp://x",
            client_id: " ",
            scopes: "a\"b",
            ..SettingsInput::default()
        })
        .expect_err("refused");
        let fields: Vec<&str> = bad.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "oauth.token_url",
                "oauth.authorize_url",
                "oauth.client_id",
                "oauth.scopes"
            ]
        );
    }

    #[test]
    fn secrets_round_trip_and_are_all_scrubbed() {
        let s = Secrets {
            client_secret: SecretString::from("cs".to_owned()),
            refresh_token: None,
            access_token: Some(SecretString::from("at".to_owned())),
        };
        let back = Secrets::from_json(&s.to_json()).expect("parses");
        assert_eq!(back.all(), ["cs", "at"]);
        assert!(!format!("{back:?}").contains("cs\""));
    }
}

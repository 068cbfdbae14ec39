//! OAuth 2.0 connections as values: the grant an integration uses, its settings (nothing
//! secret), the secrets sealed with it, its status, and when an access token is due for renewal.

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{CREDENTIAL_MAX, ClientAuth, Problems, Provider, parse_base_url};

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
    /// How the token endpoint takes the client id and secret.
    pub client_auth: ClientAuth,
    /// The provider's region the endpoints were chosen for (Zoho's data centre: its API's
    /// base URL follows it too), if the provider has one.
    pub region: Option<String>,
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

/// A connection's fields as entered, before parsing. A provider with a preset fills in what is
/// left empty (its endpoints in the chosen region, its scopes, how it takes the client's
/// credentials, the authorization-code grant).
#[derive(Debug)]
pub struct SettingsInput<'a> {
    /// The integration's provider.
    pub provider: Provider,
    /// Its region (Zoho's data centre, Salesforce's org, Microsoft's tenant), if it has one.
    pub region: Option<&'a str>,
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
    /// `basic` or `post`.
    pub client_auth: Option<&'a str>,
}

impl Default for SettingsInput<'_> {
    fn default() -> Self {
        Self {
            provider: Provider::Custom,
            region: None,
            grant: "",
            token_url: "",
            authorize_url: None,
            revoke_url: None,
            client_id: "",
            scopes: "",
            audience: None,
            client_auth: None,
        }
    }
}

/// The client secret as entered: one line of at most [`CREDENTIAL_MAX`] characters (it goes
/// into a header or a form body), or the message for `oauth.client_secret`.
pub fn parse_client_secret(raw: Option<&str>) -> Result<SecretString, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err("Enter the client secret of your app.".into()),
        Some(s) if s.len() > CREDENTIAL_MAX || s.chars().any(char::is_control) => {
            Err("Must be one line, at most 4096 characters.".into())
        }
        Some(s) => Ok(SecretString::from(s.to_owned())),
    }
}

/// The longest scope list accepted.
const SCOPES_MAX: usize = 2048;

impl Settings {
    /// Parses `input`, naming each field's problem (`oauth.<field>`).
    pub fn parse(input: &SettingsInput<'_>) -> Result<Settings, Problems> {
        let mut problems = Problems::new();
        let Some(preset) = input.provider.oauth() else {
            problems.push((
                "oauth",
                format!(
                    "{} takes a credential, not OAuth 2.0.",
                    input.provider.label()
                ),
            ));
            return Err(problems);
        };
        fn given(raw: Option<&str>) -> Option<&str> {
            raw.map(str::trim).filter(|r| !r.is_empty())
        }
        let region = match (&preset.region, given(input.region)) {
            (Some(region), raw) => region
                .parse(raw)
                .map_err(|m| problems.push(("oauth.region", m)))
                .ok(),
            (None, Some(_)) => {
                problems.push((
                    "oauth.region",
                    format!("{} has no region to choose.", input.provider.label()),
                ));
                None
            }
            (None, None) => None,
        };
        let ends = input
            .provider
            .oauth_endpoints(region.as_deref().unwrap_or_default());
        let grant_raw = match input.grant.trim() {
            "" if input.provider != Provider::Custom => GrantType::AuthorizationCode.slug(),
            raw => raw,
        };
        let grant = GrantType::parse(grant_raw);
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
        let token_url = url(
            "oauth.token_url",
            given(Some(input.token_url)).or(ends.as_ref().map(|e| e.token_url.as_str())),
            true,
        );
        let authorize_url = url(
            "oauth.authorize_url",
            given(input.authorize_url).or(ends.as_ref().map(|e| e.authorize_url.as_str())),
            grant == Some(GrantType::AuthorizationCode),
        );
        let revoke_url = url(
            "oauth.revoke_url",
            given(input.revoke_url).or(ends.as_ref().and_then(|e| e.revoke_url.as_deref())),
            false,
        );
        let client_id = input.client_id.trim();
        if client_id.is_empty() {
            problems.push(("oauth.client_id", "Enter the client id of your app.".into()));
        } else if client_id.len() > CREDENTIAL_MAX || client_id.chars().any(char::is_control) {
            problems.push((
                "oauth.client_id",
                "Must be one line, at most 4096 characters.".into(),
            ));
        }
        let scopes_raw = given(Some(input.scopes)).unwrap_or(preset.scopes);
        let scopes: Vec<String> = scopes_raw
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if scopes_raw.len() > SCOPES_MAX
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
        let client_auth = match given(input.client_auth) {
            None => Some(preset.client_auth),
            Some(raw) => ClientAuth::parse(raw).or_else(|| {
                problems.push(("oauth.client_auth", "Choose basic or post.".into()));
                None
            }),
        };
        match (grant, token_url, client_auth) {
            (Some(grant), Some(token_url), Some(client_auth)) if problems.is_empty() => {
                Ok(Settings {
                    grant,
                    token_url,
                    authorize_url,
                    revoke_url,
                    client_id: client_id.to_owned(),
                    scopes,
                    audience: audience.map(str::to_owned),
                    client_auth,
                    region,
                })
            }
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
        assert_eq!(ok.client_auth, ClientAuth::Basic);
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
    fn a_preset_fills_in_what_is_left_empty_and_keeps_what_is_given() {
        let zoho = Settings::parse(&SettingsInput {
            provider: Provider::ZohoCrm,
            region: Some("eu"),
            client_id: "1000.ABC",
            ..SettingsInput::default()
        })
        .expect("parses");
        assert_eq!(zoho.grant, GrantType::AuthorizationCode);
        assert_eq!(
            zoho.authorize_url.as_ref().map(Url::as_str),
            Some("https://accounts.zoho.eu/oauth/v2/auth")
        );
        assert_eq!(zoho.scopes, ["ZohoCRM.modules.ALL", "ZohoCRM.org.READ"]);
        assert_eq!(zoho.client_auth, ClientAuth::Post);
        let own = Settings::parse(&SettingsInput {
            provider: Provider::HubSpot,
            token_url: "https://auth.internal.example/token",
            client_id: "x",
            scopes: "crm.objects.deals.read",
            client_auth: Some("basic"),
            ..SettingsInput::default()
        })
        .expect("parses");
        assert_eq!(
            own.token_url.as_str(),
            "https://auth.internal.example/token"
        );
        assert_eq!(own.scopes, ["crm.objects.deals.read"]);
        assert_eq!(own.client_auth, ClientAuth::Basic);
        let refused = Settings::parse(&SettingsInput {
            provider: Provider::Stripe,
            client_id: "x",
            ..SettingsInput::default()
        })
        .expect_err("Stripe has no OAuth preset");
        assert_eq!(refused[0].0, "oauth");
        let bad_region = Settings::parse(&SettingsInput {
            provider: Provider::HubSpot,
            region: Some("eu"),
            client_id: "x",
            client_auth: Some("jwt"),
            ..SettingsInput::default()
        })
        .expect_err("refused");
        let fields: Vec<&str> = bad_region.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["oauth.region", "oauth.client_auth"]);
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

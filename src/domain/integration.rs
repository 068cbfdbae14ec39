//! Integrations as parsed values: the provider presets (where the credential goes, the check
//! request), how a credential is placed on a request, the credential's fields, and the paths a
//! bot flow may call under an integration's base URL.

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// The providers with presets, and `Custom` for any other HTTP API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// Shopify Admin API: `X-Shopify-Access-Token`.
    Shopify,
    /// WooCommerce REST API: basic auth with consumer key and secret.
    WooCommerce,
    /// Stripe: bearer secret key.
    Stripe,
    /// HubSpot: bearer private-app token.
    HubSpot,
    /// Zoho CRM: `Authorization: Zoho-oauthtoken …`.
    ZohoCrm,
    /// Calendly: bearer personal access token.
    Calendly,
    /// Any other HTTP API: bearer, basic, a named header or a query parameter.
    Custom,
}

/// How the credential is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic base64(<username>:<password>)`.
    Basic,
    /// `<name>: <prefix><token>`.
    Header {
        /// The header's name.
        name: String,
        /// Text before the token (`Zoho-oauthtoken `), usually empty.
        prefix: String,
    },
    /// `?<name>=<token>`.
    Query {
        /// The parameter's name.
        name: String,
    },
}

/// One input of a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialField {
    /// The form and API field name (`token`, `username`, `password`).
    pub name: &'static str,
    /// Its label on the page.
    pub label: &'static str,
}

/// What a provider fills in.
#[derive(Clone, Debug)]
pub struct Preset {
    /// The provider.
    pub provider: Provider,
    /// A base URL to start from (`{store}` marks the part the user replaces).
    pub base_url: &'static str,
    /// Where the credential goes.
    pub placement: Placement,
    /// The path of the read-only request "Test connection" sends.
    pub check_path: &'static str,
    /// One line on the page: what the credential is called at the provider.
    pub hint: &'static str,
}

impl Provider {
    /// Every provider, in the picker's order.
    pub const ALL: [Provider; 7] = [
        Provider::Shopify,
        Provider::WooCommerce,
        Provider::Stripe,
        Provider::HubSpot,
        Provider::ZohoCrm,
        Provider::Calendly,
        Provider::Custom,
    ];

    /// The stored and API name.
    pub fn slug(self) -> &'static str {
        match self {
            Provider::Shopify => "shopify",
            Provider::WooCommerce => "woocommerce",
            Provider::Stripe => "stripe",
            Provider::HubSpot => "hubspot",
            Provider::ZohoCrm => "zoho_crm",
            Provider::Calendly => "calendly",
            Provider::Custom => "custom",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Shopify => "Shopify",
            Provider::WooCommerce => "WooCommerce",
            Provider::Stripe => "Stripe",
            Provider::HubSpot => "HubSpot",
            Provider::ZohoCrm => "Zoho CRM",
            Provider::Calendly => "Calendly",
            Provider::Custom => "Custom HTTP API",
        }
    }

    /// A provider from its slug.
    pub fn parse(slug: &str) -> Option<Provider> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }

    /// A stored provider: integrations created before the presets existed had free-form
    /// provider names, and are custom ones.
    pub fn from_storage(slug: &str) -> Provider {
        Self::parse(slug).unwrap_or(Provider::Custom)
    }

    /// What the provider fills in.
    pub fn preset(self) -> Preset {
        let bearer = Placement::Bearer;
        let (base_url, placement, check_path, hint) = match self {
            Provider::Shopify => (
                "https://{store}.myshopify.com/admin/api/2025-01",
                Placement::Header {
                    name: "X-Shopify-Access-Token".into(),
                    prefix: String::new(),
                },
                "/shop.json",
                "An Admin API access token of a custom app (starts with shpat_).",
            ),
            Provider::WooCommerce => (
                "https://{store}/wp-json/wc/v3",
                Placement::Basic,
                "/system_status",
                "A REST API consumer key (ck_…) and consumer secret (cs_…).",
            ),
            Provider::Stripe => (
                "https://api.stripe.com/v1",
                bearer,
                "/balance",
                "A secret or restricted key (sk_… or rk_…).",
            ),
            Provider::HubSpot => (
                "https://api.hubapi.com",
                bearer,
                "/crm/v3/objects/contacts?limit=1",
                "A private app access token (pat-…).",
            ),
            Provider::ZohoCrm => (
                "https://www.zohoapis.com/crm/v5",
                Placement::Header {
                    name: "Authorization".into(),
                    prefix: "Zoho-oauthtoken ".into(),
                },
                "/org",
                "An OAuth access token for the CRM API.",
            ),
            Provider::Calendly => (
                "https://api.calendly.com",
                bearer,
                "/users/me",
                "A personal access token.",
            ),
            Provider::Custom => (
                "https://api.example.com/v1",
                bearer,
                "/",
                "Whatever your API expects: a token, or a username and password.",
            ),
        };
        Preset {
            provider: self,
            base_url,
            placement,
            check_path,
            hint,
        }
    }

    /// The credential's inputs for `placement`, with this provider's names for them.
    pub fn fields(self, placement: &Placement) -> &'static [CredentialField] {
        match (self, placement) {
            (Provider::WooCommerce, Placement::Basic) => &[
                CredentialField {
                    name: "username",
                    label: "Consumer key",
                },
                CredentialField {
                    name: "password",
                    label: "Consumer secret",
                },
            ],
            (_, Placement::Basic) => &[
                CredentialField {
                    name: "username",
                    label: "Username",
                },
                CredentialField {
                    name: "password",
                    label: "Password",
                },
            ],
            (Provider::Shopify, _) => &[CredentialField {
                name: "token",
                label: "Admin API access token",
            }],
            (Provider::Stripe, _) => &[CredentialField {
                name: "token",
                label: "Secret key",
            }],
            _ => &[CredentialField {
                name: "token",
                label: "Token",
            }],
        }
    }
}

impl Placement {
    /// The stored `auth_type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Placement::Bearer => "bearer",
            Placement::Basic => "basic",
            Placement::Header { .. } => "header",
            Placement::Query { .. } => "query",
        }
    }

    /// The header or parameter name, if the placement has one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Placement::Header { name, .. } | Placement::Query { name } => Some(name),
            _ => None,
        }
    }

    /// The text before the token in a header placement.
    pub fn prefix(&self) -> &str {
        match self {
            Placement::Header { prefix, .. } => prefix,
            _ => "",
        }
    }

    /// From the stored columns (an unknown kind or a missing name falls back to bearer).
    pub fn from_storage(kind: &str, name: Option<&str>, prefix: &str) -> Placement {
        match (kind, name) {
            ("basic", _) => Placement::Basic,
            ("header", Some(n)) => Placement::Header {
                name: n.to_owned(),
                prefix: prefix.to_owned(),
            },
            ("query", Some(n)) => Placement::Query { name: n.to_owned() },
            _ => Placement::Bearer,
        }
    }

    /// From the custom form or API: `bearer`, `basic`, `header` + name, `query` + name. The
    /// error names the field at fault.
    pub fn parse(kind: &str, name: &str) -> Result<Placement, (&'static str, &'static str)> {
        let name = name.trim();
        let need_name = |valid: fn(&str) -> bool| {
            if name.is_empty() {
                Err(("credential_name", "Enter the header or parameter name."))
            } else if !valid(name) {
                Err((
                    "credential_name",
                    "Use letters, digits and - _ . only (at most 64).",
                ))
            } else {
                Ok(name.to_owned())
            }
        };
        match kind {
            "bearer" => Ok(Placement::Bearer),
            "basic" => Ok(Placement::Basic),
            "header" => {
                let name = need_name(valid_header_name)?;
                if is_reserved_header(&name) && !name.eq_ignore_ascii_case("authorization") {
                    return Err((
                        "credential_name",
                        "That header is set by HTTP itself; choose another.",
                    ));
                }
                Ok(Placement::Header {
                    name,
                    prefix: String::new(),
                })
            }
            "query" => Ok(Placement::Query {
                name: need_name(valid_header_name)?,
            }),
            _ => Err((
                "credential_placement",
                "Choose bearer, basic, header or query.",
            )),
        }
    }

    /// Words for the page: "Bearer token", "Header X-Shopify-Access-Token".
    pub fn describe(&self) -> String {
        match self {
            Placement::Bearer => "Authorization: Bearer".into(),
            Placement::Basic => "Basic auth".into(),
            Placement::Header { name, prefix } if !prefix.is_empty() => {
                format!("{name}: {}…", prefix)
            }
            Placement::Header { name, .. } => format!("Header {name}"),
            Placement::Query { name } => format!("Query parameter {name}"),
        }
    }
}

/// A header or parameter name: a token of letters, digits, `-`, `_`, `.`.
fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Headers a caller may not set on an integration request: the credential's own places and
/// the ones HTTP and the connection own.
pub fn is_reserved_header(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
    ];
    RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

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
        };
        let text = Zeroizing::new(value.to_string());
        SecretString::from(text.as_str().to_owned())
    }

    /// From the sealed plaintext form.
    pub fn from_plaintext(text: &SecretString) -> Option<Credential> {
        let value: serde_json::Value = serde_json::from_str(text.expose_secret()).ok()?;
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
        )
    }

    /// The secret strings, for scrubbing echoes out of answers shown to users.
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Credential::Token(t) => vec![t.expose_secret()],
            Credential::Basic { username, password } => {
                vec![username.expose_secret(), password.expose_secret()]
            }
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

/// An integration's settings as entered, before parsing.
#[derive(Debug, Default)]
pub struct DraftInput<'a> {
    /// Provider slug.
    pub provider: &'a str,
    /// Name.
    pub name: &'a str,
    /// Base URL (a preset's own when left out and the preset has a fixed one).
    pub base_url: Option<&'a str>,
    /// Custom only: `bearer`, `basic`, `header`, `query` (a preset's own when left out).
    pub placement: Option<&'a str>,
    /// Custom only: the header or parameter name.
    pub credential_name: Option<&'a str>,
    /// Check request path (the preset's when left out).
    pub check_path: Option<&'a str>,
}

/// An integration's settings, parsed: what an operation takes.
#[derive(Debug)]
pub struct Draft {
    /// The provider (its preset filled in the rest).
    pub provider: Provider,
    /// Display name.
    pub name: String,
    /// Base URL.
    pub base_url: url::Url,
    /// Where the credential goes.
    pub placement: Placement,
    /// Path (and query) of the check request.
    pub check_path: String,
}

/// The parsed display name of an integration.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        Err("Enter a name.".into())
    } else if name.chars().count() > super::limits::NAME_MAX {
        Err(format!(
            "Must be at most {} characters.",
            super::limits::NAME_MAX
        ))
    } else if name.chars().any(char::is_control) || super::inputs::has_invisible_formatting(name) {
        Err("Must be one line of visible characters.".into())
    } else {
        Ok(name.to_owned())
    }
}

/// A check path: a path under the base URL, with an optional query.
pub fn parse_check_path(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    let path = raw.split_once('?').map_or(raw, |(p, _)| p);
    if valid_relative_path(path) && !raw.contains('#') && !raw.chars().any(char::is_whitespace) {
        Ok(raw.to_owned())
    } else {
        Err("Enter a path that starts with / (no .. segments), like /users/me.".into())
    }
}

impl Draft {
    /// Parses `input`: a known provider, a name, a base URL (the preset's if it has a fixed
    /// one), for custom integrations the placement, and a check path.
    pub fn parse(input: &DraftInput<'_>) -> Result<Draft, Problems> {
        let mut problems = Problems::new();
        let provider = Provider::parse(input.provider.trim());
        if provider.is_none() {
            problems.push((
                "provider",
                format!(
                    "Choose one of: {}.",
                    Provider::ALL.map(Provider::slug).join(", ")
                ),
            ));
        }
        let name = parse_name(input.name)
            .map_err(|m| problems.push(("name", m)))
            .ok();
        let provider = provider.unwrap_or(Provider::Custom);
        let preset = provider.preset();
        let fixed_base = (provider != Provider::Custom && !preset.base_url.contains('{'))
            .then_some(preset.base_url);
        let base_url = match input
            .base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .or(fixed_base)
        {
            None => {
                problems.push(("base_url", "Enter the API's base URL.".into()));
                None
            }
            Some(raw) if raw.chars().count() > super::limits::URL_MAX => {
                problems.push((
                    "base_url",
                    format!("Must be at most {} characters.", super::limits::URL_MAX),
                ));
                None
            }
            Some(raw) => parse_base_url(raw)
                .map_err(|m| problems.push(("base_url", m.to_owned())))
                .ok(),
        };
        let placement = match (
            provider,
            input.placement.map(str::trim).filter(|p| !p.is_empty()),
        ) {
            (Provider::Custom, Some(kind)) => {
                match Placement::parse(kind, input.credential_name.unwrap_or_default()) {
                    Ok(p) => Some(p),
                    Err((field, message)) => {
                        problems.push((field, message.to_owned()));
                        None
                    }
                }
            }
            (Provider::Custom, None) => Some(Placement::Bearer),
            (_, Some(kind)) if kind != preset.placement.kind() => {
                problems.push((
                    "credential_placement",
                    format!(
                        "{} sends the credential as {}; only custom integrations choose.",
                        provider.label(),
                        preset.placement.describe()
                    ),
                ));
                None
            }
            (_, _) => Some(preset.placement.clone()),
        };
        let check_path = match input.check_path.map(str::trim).filter(|p| !p.is_empty()) {
            None => Some(preset.check_path.to_owned()),
            Some(raw) => parse_check_path(raw)
                .map_err(|m| problems.push(("check_path", m)))
                .ok(),
        };
        match (name, base_url, placement, check_path) {
            (Some(name), Some(base_url), Some(placement), Some(check_path))
                if problems.is_empty() =>
            {
                Ok(Draft {
                    provider,
                    name,
                    base_url,
                    placement,
                    check_path,
                })
            }
            _ => Err(problems),
        }
    }
}

/// An integration's base URL: absolute `https://` (or `http://`, which only an allowlisted
/// address accepts when called), a host, no credentials, query or fragment. Stored without a
/// trailing slash. Whether the host may be called is the outbound policy's decision.
pub fn parse_base_url(text: &str) -> Result<url::Url, &'static str> {
    let text = text.trim();
    if text.contains('{') || text.contains('}') {
        return Err("Replace the {placeholder} with your store's address.");
    }
    let url = url::Url::parse(text)
        .map_err(|_| "Enter an absolute URL, like https://api.example.com/v1.")?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("Use an https:// URL.");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("Enter the API's host name.");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "Leave credentials out of the URL: enter them below, where they are encrypted.",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("Leave out the ?query and #fragment.");
    }
    let trimmed = url.as_str().trim_end_matches('/').to_owned();
    url::Url::parse(&trimmed).map_err(|_| "Enter an absolute URL, like https://api.example.com/v1.")
}

/// The URL of `path` (with `query` pairs) under `base`: refuses anything that would leave the
/// base's origin or path.
pub fn join(base: &url::Url, path: &str, query: &[(String, String)]) -> Option<url::Url> {
    let (path_only, check_query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    if !valid_relative_path(path_only) {
        return None;
    }
    let base_path = base.path().trim_end_matches('/');
    let mut url = base.clone();
    url.set_path(&format!("{base_path}{path_only}"));
    url.set_query(check_query);
    if !query.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    let same_place = url.origin() == base.origin() && url.path().starts_with(base_path);
    same_place.then_some(url)
}

/// A path a bot flow asks for under the base URL: starts with `/`, no `..` or `.` segments
/// (also percent-encoded), no backslash, no `//` (which a URL parser reads as a new host), no
/// query or fragment (the query goes separately), no control characters or spaces.
pub fn valid_relative_path(path: &str) -> bool {
    if !path.starts_with('/') || path.starts_with("//") || path.len() > 2048 {
        return false;
    }
    if path
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '\\' | '?' | '#'))
    {
        return false;
    }
    let lowered = path.to_ascii_lowercase();
    if lowered.contains("%2e") || lowered.contains("%2f") || lowered.contains("%5c") {
        return false;
    }
    !path.split('/').any(|seg| seg == "." || seg == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_round_trips_through_its_slug() {
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.slug()), Some(p));
        }
        assert_eq!(Provider::parse("shopfy"), None);
        assert_eq!(Provider::from_storage("crm_2"), Provider::Custom);
    }

    #[test]
    fn presets_place_the_credential_where_the_provider_expects_it() {
        assert_eq!(
            Provider::Shopify.preset().placement.name(),
            Some("X-Shopify-Access-Token")
        );
        assert_eq!(Provider::WooCommerce.preset().placement, Placement::Basic);
        assert_eq!(Provider::Stripe.preset().placement, Placement::Bearer);
        assert_eq!(
            Provider::ZohoCrm.preset().placement.prefix(),
            "Zoho-oauthtoken "
        );
        let woo = Provider::WooCommerce.fields(&Placement::Basic);
        assert_eq!(woo.len(), 2);
        assert_eq!(woo[1].label, "Consumer secret");
    }

    #[test]
    fn paths_stay_under_the_base_url() {
        for ok in ["/", "/orders/123.json", "/a/b-c_d~e", "/products%20x"] {
            assert!(valid_relative_path(ok), "{ok}");
        }
        for bad in [
            "orders",
            "//evil.example/x",
            "/../admin",
            "/a/../../b",
            "/a/./b",
            "/%2e%2e/admin",
            "/a%2fb",
            "/a\\b",
            "/a?b=1",
            "/a#b",
            "/a b",
            "https://evil.example/",
        ] {
            assert!(!valid_relative_path(bad), "{bad}");
        }
    }

    #[test]
    fn base_urls_are_absolute_without_credentials_or_query() {
        let ok = parse_base_url("https://acme.myshopify.com/admin/api/2025-01/").expect("ok");
        assert_eq!(ok.as_str(), "https://acme.myshopify.com/admin/api/2025-01");
        assert!(
            parse_base_url("http://127.0.0.1:9000").is_ok(),
            "the policy decides http"
        );
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "gopher://x",
            "https://user:pw@example.com",
            "https://",
            "https://example.com/#x",
            "https://example.com/?a=1",
            "https://{store}.myshopify.com",
            "api.example.com",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn joined_urls_stay_under_the_base() {
        let base = parse_base_url("https://shop.example.com/admin/api").expect("ok");
        let q = vec![("status".to_owned(), "open & paid".to_owned())];
        assert_eq!(
            join(&base, "/orders/1.json", &q).expect("joins").as_str(),
            "https://shop.example.com/admin/api/orders/1.json?status=open+%26+paid"
        );
        assert_eq!(
            join(&base, "/contacts?limit=1", &[])
                .expect("joins")
                .as_str(),
            "https://shop.example.com/admin/api/contacts?limit=1"
        );
        assert!(join(&base, "/../secrets", &[]).is_none());
        assert!(join(&base, "//evil.example/x", &[]).is_none());
        assert!(join(&base, "https://evil.example/", &[]).is_none());
    }

    #[test]
    fn credentials_round_trip_through_their_sealed_form() {
        let c = Credential::Basic {
            username: SecretString::from("ck_1".to_owned()),
            password: SecretString::from("cs_\"2".to_owned()),
        };
        let back = Credential::from_plaintext(&c.to_plaintext()).expect("parses");
        assert_eq!(back.secrets(), vec!["ck_1", "cs_\"2"]);
        assert!(back.fits(&Placement::Basic));
        assert!(!back.fits(&Placement::Bearer));
        assert!(!format!("{back:?}").contains("ck_1"), "Debug is redacted");
    }

    #[test]
    fn custom_placements_need_a_safe_name() {
        assert_eq!(Placement::parse("bearer", ""), Ok(Placement::Bearer));
        assert!(Placement::parse("header", "").is_err());
        assert!(Placement::parse("header", "Host").is_err());
        assert!(Placement::parse("header", "X-Api-Key: x").is_err());
        assert_eq!(
            Placement::parse("query", "api_key"),
            Ok(Placement::Query {
                name: "api_key".into()
            })
        );
        assert!(Placement::parse("cookie", "x").is_err());
    }
}

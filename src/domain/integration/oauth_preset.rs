//! What a provider that speaks OAuth 2.0 fills in: its endpoints (per data centre where it has
//! several), the scopes to ask for, how its token endpoint wants the client's credentials,
//! what its consent page needs to hand out a refresh token, and where people register the app.

use super::Provider;

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP basic auth with the client id and secret (`client_secret_basic`, the RFC's default).
    Basic,
    /// The client id and secret in the form body (`client_secret_post`), as HubSpot, Zoho,
    /// Google, Microsoft and Salesforce document.
    Post,
}

impl ClientAuth {
    /// The stored and API name.
    pub fn slug(self) -> &'static str {
        match self {
            ClientAuth::Basic => "basic",
            ClientAuth::Post => "post",
        }
    }

    /// From its name.
    pub fn parse(raw: &str) -> Option<ClientAuth> {
        match raw {
            "basic" => Some(ClientAuth::Basic),
            "post" => Some(ClientAuth::Post),
            _ => None,
        }
    }

    /// From storage (anything unknown reads as the RFC's default).
    pub fn from_storage(raw: &str) -> ClientAuth {
        Self::parse(raw).unwrap_or(ClientAuth::Basic)
    }
}

/// A choice a provider's endpoints depend on: Zoho's data centre, Salesforce's production or
/// sandbox login, Microsoft's directory (tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// The field's label.
    pub label: &'static str,
    /// One line under it.
    pub help: &'static str,
    /// The choices (value, label); empty for a typed value (a Microsoft tenant).
    pub choices: &'static [(&'static str, &'static str)],
    /// The value when none is given.
    pub default: &'static str,
}

impl Region {
    /// The region `raw` (the default when empty), or the field's message.
    pub fn parse(&self, raw: Option<&str>) -> Result<String, String> {
        let raw = raw.map(str::trim).filter(|r| !r.is_empty());
        let value = raw.unwrap_or(self.default);
        if self.choices.is_empty() {
            // A directory (tenant) id or domain, or common / organizations / consumers.
            let ok = value.len() <= 100
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            return if ok {
                Ok(value.to_owned())
            } else {
                Err("Enter a directory (tenant) id or domain, or “common”.".into())
            };
        }
        match self.choices.iter().find(|(v, _)| *v == value) {
            Some((v, _)) => Ok((*v).to_owned()),
            None => Err(format!(
                "Choose one of: {}.",
                self.choices
                    .iter()
                    .map(|(v, _)| *v)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// Zoho's data centres: (value, label, accounts host, API host).
const ZOHO: [(&str, &str, &str, &str); 8] = [
    (
        "us",
        "United States (zoho.com)",
        "accounts.zoho.com",
        "www.zohoapis.com",
    ),
    (
        "eu",
        "Europe (zoho.eu)",
        "accounts.zoho.eu",
        "www.zohoapis.eu",
    ),
    (
        "in",
        "India (zoho.in)",
        "accounts.zoho.in",
        "www.zohoapis.in",
    ),
    (
        "au",
        "Australia (zoho.com.au)",
        "accounts.zoho.com.au",
        "www.zohoapis.com.au",
    ),
    (
        "jp",
        "Japan (zoho.jp)",
        "accounts.zoho.jp",
        "www.zohoapis.jp",
    ),
    (
        "ca",
        "Canada (zohocloud.ca)",
        "accounts.zohocloud.ca",
        "www.zohoapis.ca",
    ),
    (
        "sa",
        "Saudi Arabia (zoho.sa)",
        "accounts.zoho.sa",
        "www.zohoapis.sa",
    ),
    (
        "cn",
        "China (zoho.com.cn)",
        "accounts.zoho.com.cn",
        "www.zohoapis.com.cn",
    ),
];

const ZOHO_CHOICES: [(&str, &str); 8] = [
    (ZOHO[0].0, ZOHO[0].1),
    (ZOHO[1].0, ZOHO[1].1),
    (ZOHO[2].0, ZOHO[2].1),
    (ZOHO[3].0, ZOHO[3].1),
    (ZOHO[4].0, ZOHO[4].1),
    (ZOHO[5].0, ZOHO[5].1),
    (ZOHO[6].0, ZOHO[6].1),
    (ZOHO[7].0, ZOHO[7].1),
];

const SALESFORCE_CHOICES: [(&str, &str); 2] = [
    ("production", "Production (login.salesforce.com)"),
    ("sandbox", "Sandbox (test.salesforce.com)"),
];

/// What a provider that connects with OAuth 2.0 fills in.
#[derive(Clone, Debug)]
pub struct OAuthPreset {
    /// Scopes asked for unless the person changes them.
    pub scopes: &'static str,
    /// How its token endpoint takes the client id and secret.
    pub client_auth: ClientAuth,
    /// Parameters its consent page needs besides the standard ones (Google and Zoho hand out a
    /// refresh token only for `access_type=offline`, and again only with `prompt=consent`).
    pub authorize_params: &'static [(&'static str, &'static str)],
    /// Where people register the app whose client id and secret they enter.
    pub register: &'static str,
    /// The developer console's address.
    pub register_url: &'static str,
    /// The choice its endpoints depend on, if any.
    pub region: Option<Region>,
    /// Where people sign in ("Google" for both Google APIs).
    pub signs_in_at: &'static str,
    /// What the connection test request needs, where the preset's cannot do without the
    /// person (one line; empty when it works as it is).
    pub check_hint: &'static str,
}

/// A provider's OAuth endpoints (and its API's base URL where that depends on the region).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Authorization (consent) endpoint.
    pub authorize_url: String,
    /// Token endpoint.
    pub token_url: String,
    /// RFC 7009 revocation endpoint, if it has one.
    pub revoke_url: Option<String>,
}

const OFFLINE: &[(&str, &str)] = &[("access_type", "offline"), ("prompt", "consent")];

impl Provider {
    /// What the provider fills in when it connects with OAuth 2.0 (`Custom`: nothing but the
    /// RFC's defaults); `None` for providers that only take a static credential.
    pub fn oauth(self) -> Option<OAuthPreset> {
        let signs_in_at = match self {
            Provider::ZohoCrm => "Zoho",
            Provider::GoogleCalendar | Provider::GoogleSheets => "Google",
            Provider::MicrosoftGraph => "Microsoft",
            Provider::Custom => "the provider",
            other => other.label(),
        };
        let check_hint = match self {
            Provider::GoogleSheets => {
                "The Sheets API has no request without a spreadsheet: make it /<a spreadsheet's id>."
            }
            _ => "",
        };
        let preset = |scopes, client_auth, authorize_params, register, register_url, region| {
            Some(OAuthPreset {
                scopes,
                client_auth,
                authorize_params,
                register,
                register_url,
                region,
                signs_in_at,
                check_hint,
            })
        };
        match self {
            Provider::Shopify | Provider::WooCommerce | Provider::Stripe => None,
            Provider::HubSpot => preset(
                "oauth crm.objects.contacts.read crm.objects.contacts.write",
                ClientAuth::Post,
                &[],
                "Create an app in your HubSpot developer account (Apps → Create app → Auth).",
                "https://developers.hubspot.com/",
                None,
            ),
            Provider::ZohoCrm => preset(
                "ZohoCRM.modules.ALL ZohoCRM.org.READ",
                ClientAuth::Post,
                OFFLINE,
                "Add a server-based application in the Zoho API Console of your data centre.",
                "https://api-console.zoho.com/",
                Some(Region {
                    label: "Data centre",
                    help: "Where your Zoho account lives: the domain you sign in at.",
                    choices: &ZOHO_CHOICES,
                    default: "us",
                }),
            ),
            Provider::Calendly => preset(
                "",
                ClientAuth::Basic,
                &[],
                "Create an OAuth application in Calendly's developer portal (My apps).",
                "https://developer.calendly.com/",
                None,
            ),
            Provider::GoogleCalendar | Provider::GoogleSheets => preset(
                if self == Provider::GoogleCalendar {
                    "openid email https://www.googleapis.com/auth/calendar.events"
                } else {
                    "openid email https://www.googleapis.com/auth/spreadsheets"
                },
                ClientAuth::Post,
                OFFLINE,
                "Create an OAuth client ID of type “Web application” in Google Cloud Console \
                 (APIs & Services → Credentials), and enable the API in the same project.",
                "https://console.cloud.google.com/apis/credentials",
                None,
            ),
            Provider::MicrosoftGraph => preset(
                "openid email offline_access User.Read",
                ClientAuth::Post,
                &[],
                "Register an application in the Microsoft Entra admin center (App registrations) \
                 and add a client secret under Certificates & secrets.",
                "https://entra.microsoft.com/",
                Some(Region {
                    label: "Directory (tenant)",
                    help: "Your directory's id or domain for a single-tenant app; “common” for an \
                           app open to any Microsoft account.",
                    choices: &[],
                    default: "common",
                }),
            ),
            Provider::Salesforce => preset(
                "api refresh_token openid",
                ClientAuth::Post,
                &[],
                "Create a connected app with OAuth settings enabled in Setup → App Manager.",
                "https://login.salesforce.com/",
                Some(Region {
                    label: "Org",
                    help: "Which login the people who connect use.",
                    choices: &SALESFORCE_CHOICES,
                    default: "production",
                }),
            ),
            Provider::Custom => preset(
                "",
                ClientAuth::Basic,
                &[],
                "Register an application (an OAuth client) with your provider.",
                "",
                None,
            ),
        }
    }

    /// The provider's OAuth endpoints in `region` (a value [`Region::parse`] accepted); `None`
    /// for `Custom` and providers without OAuth.
    pub fn oauth_endpoints(self, region: &str) -> Option<Endpoints> {
        let ends = |authorize: String, token: String, revoke: Option<String>| {
            Some(Endpoints {
                authorize_url: authorize,
                token_url: token,
                revoke_url: revoke,
            })
        };
        match self {
            Provider::HubSpot => ends(
                "https://app.hubspot.com/oauth/authorize".into(),
                "https://api.hubapi.com/oauth/v1/token".into(),
                None,
            ),
            Provider::ZohoCrm => {
                let accounts = zoho(region).2;
                ends(
                    format!("https://{accounts}/oauth/v2/auth"),
                    format!("https://{accounts}/oauth/v2/token"),
                    Some(format!("https://{accounts}/oauth/v2/token/revoke")),
                )
            }
            Provider::Calendly => ends(
                "https://auth.calendly.com/oauth/authorize".into(),
                "https://auth.calendly.com/oauth/token".into(),
                Some("https://auth.calendly.com/oauth/revoke".into()),
            ),
            Provider::GoogleCalendar | Provider::GoogleSheets => ends(
                "https://accounts.google.com/o/oauth2/v2/auth".into(),
                "https://oauth2.googleapis.com/token".into(),
                Some("https://oauth2.googleapis.com/revoke".into()),
            ),
            Provider::MicrosoftGraph => ends(
                format!("https://login.microsoftonline.com/{region}/oauth2/v2.0/authorize"),
                format!("https://login.microsoftonline.com/{region}/oauth2/v2.0/token"),
                None,
            ),
            Provider::Salesforce => {
                let host = if region == "sandbox" {
                    "test.salesforce.com"
                } else {
                    "login.salesforce.com"
                };
                ends(
                    format!("https://{host}/services/oauth2/authorize"),
                    format!("https://{host}/services/oauth2/token"),
                    Some(format!("https://{host}/services/oauth2/revoke")),
                )
            }
            Provider::Shopify | Provider::WooCommerce | Provider::Stripe | Provider::Custom => None,
        }
    }

    /// The API's base URL a preset fills in for `region` (Zoho's depends on the data centre);
    /// `None` when the person enters it (it has a `{placeholder}`, or the provider is custom).
    pub fn fixed_base_url(self, region: Option<&str>) -> Option<String> {
        if self == Provider::ZohoCrm
            && let Some(region) = region
        {
            return Some(format!("https://{}/crm/v5", zoho(region).3));
        }
        let base = self.preset().base_url;
        (self != Provider::Custom && !base.contains('{')).then(|| base.to_owned())
    }
}

/// Zoho's data centre `region` (the United States one for anything unknown).
fn zoho(region: &str) -> (&'static str, &'static str, &'static str, &'static str) {
    ZOHO.into_iter()
        .find(|dc| dc.0 == region)
        .unwrap_or(ZOHO[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoho_endpoints_follow_the_data_centre() {
        let region = Provider::ZohoCrm
            .oauth()
            .and_then(|p| p.region)
            .expect("region");
        assert_eq!(region.parse(None).as_deref(), Ok("us"));
        assert!(region.parse(Some("mars")).is_err());
        let eu = Provider::ZohoCrm.oauth_endpoints("eu").expect("ends");
        assert_eq!(eu.token_url, "https://accounts.zoho.eu/oauth/v2/token");
        assert_eq!(
            Provider::ZohoCrm.fixed_base_url(Some("au")).as_deref(),
            Some("https://www.zohoapis.com.au/crm/v5")
        );
        assert_eq!(
            Provider::ZohoCrm.fixed_base_url(None).as_deref(),
            Some("https://www.zohoapis.com/crm/v5")
        );
    }

    #[test]
    fn a_microsoft_tenant_is_a_name_not_a_path() {
        let region = Provider::MicrosoftGraph
            .oauth()
            .and_then(|p| p.region)
            .expect("region");
        assert_eq!(
            region.parse(Some("contoso.onmicrosoft.com")).as_deref(),
            Ok("contoso.onmicrosoft.com")
        );
        assert!(region.parse(Some("common/../x")).is_err());
        assert_eq!(
            Provider::MicrosoftGraph
                .oauth_endpoints("common")
                .expect("ends")
                .authorize_url,
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
        );
    }

    #[test]
    fn only_providers_that_speak_oauth_have_a_preset_for_it() {
        assert!(Provider::Stripe.oauth().is_none());
        assert!(Provider::Custom.oauth_endpoints("").is_none());
        for p in Provider::ALL.into_iter().filter(|p| p.oauth().is_some()) {
            if p != Provider::Custom {
                assert!(p.oauth_endpoints("").is_some(), "{p:?}");
            }
        }
    }
}

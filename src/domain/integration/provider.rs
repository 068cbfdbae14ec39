//! The providers with presets: what each fills in (base URL, where the credential goes, the
//! check request) and what its credential's inputs are called.

use super::Placement;

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
    /// Google Calendar API (OAuth 2.0 only).
    GoogleCalendar,
    /// Google Sheets API (OAuth 2.0 only).
    GoogleSheets,
    /// Microsoft Graph (OAuth 2.0 only).
    MicrosoftGraph,
    /// Salesforce REST API (OAuth 2.0 only).
    Salesforce,
    /// Any other HTTP API: bearer, basic, a named header or a query parameter.
    Custom,
}

/// One input of a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialField {
    /// The form and API field name (`token`, `username`, `password`).
    pub name: &'static str,
    /// Its label on the page.
    pub label: &'static str,
}

impl CredentialField {
    /// Whether the input is masked as it is typed: a token or a password is; a username
    /// (or consumer key) is an identifier people need to see to type it right. Neither is
    /// ever shown back.
    pub fn masked(&self) -> bool {
        self.name != "username"
    }

    /// The placements it is used by (for the custom form, which shows only those): `basic`
    /// for a username or password, else `token`.
    pub fn used_by(&self) -> &'static str {
        match self.name {
            "username" | "password" => "basic",
            _ => "token",
        }
    }
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
    pub const ALL: [Provider; 11] = [
        Provider::Shopify,
        Provider::WooCommerce,
        Provider::Stripe,
        Provider::HubSpot,
        Provider::ZohoCrm,
        Provider::Calendly,
        Provider::GoogleCalendar,
        Provider::GoogleSheets,
        Provider::MicrosoftGraph,
        Provider::Salesforce,
        Provider::Custom,
    ];

    /// The providers offered with a static credential (an API key or token), in the picker's
    /// order. Zoho's tokens expire within the hour: it is offered with OAuth only.
    pub const STATIC: [Provider; 6] = [
        Provider::Shopify,
        Provider::WooCommerce,
        Provider::Stripe,
        Provider::HubSpot,
        Provider::Calendly,
        Provider::Custom,
    ];

    /// The providers offered with OAuth 2.0, in the picker's order.
    pub const OAUTH: [Provider; 8] = [
        Provider::HubSpot,
        Provider::ZohoCrm,
        Provider::Calendly,
        Provider::GoogleCalendar,
        Provider::GoogleSheets,
        Provider::MicrosoftGraph,
        Provider::Salesforce,
        Provider::Custom,
    ];

    /// Whether it takes a static credential (the OAuth-only providers' access tokens expire
    /// within the hour, so a pasted one would stop working the same day).
    pub fn takes_static(self) -> bool {
        !matches!(
            self,
            Provider::GoogleCalendar
                | Provider::GoogleSheets
                | Provider::MicrosoftGraph
                | Provider::Salesforce
        )
    }

    /// The stored and API name.
    pub fn slug(self) -> &'static str {
        match self {
            Provider::Shopify => "shopify",
            Provider::WooCommerce => "woocommerce",
            Provider::Stripe => "stripe",
            Provider::HubSpot => "hubspot",
            Provider::ZohoCrm => "zoho_crm",
            Provider::Calendly => "calendly",
            Provider::GoogleCalendar => "google_calendar",
            Provider::GoogleSheets => "google_sheets",
            Provider::MicrosoftGraph => "microsoft_graph",
            Provider::Salesforce => "salesforce",
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
            Provider::GoogleCalendar => "Google Calendar",
            Provider::GoogleSheets => "Google Sheets",
            Provider::MicrosoftGraph => "Microsoft Graph",
            Provider::Salesforce => "Salesforce",
            Provider::Custom => "Custom HTTP API",
        }
    }

    /// The name people know it by, for an integration that is (`oauth`) or is not an OAuth 2.0
    /// connection: a custom one is then "Custom OAuth 2.0", not an HTTP API with a pasted key.
    pub fn label_for(self, oauth: bool) -> &'static str {
        match self {
            Provider::Custom if oauth => "Custom OAuth 2.0",
            _ => self.label(),
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
            Provider::GoogleCalendar => (
                "https://www.googleapis.com/calendar/v3",
                bearer,
                "/calendars/primary/events?maxResults=1",
                "Connects with OAuth 2.0: someone signs in at Google and allows access.",
            ),
            Provider::GoogleSheets => (
                "https://sheets.googleapis.com/v4/spreadsheets",
                bearer,
                "/",
                "Connects with OAuth 2.0: someone signs in at Google and allows access.",
            ),
            Provider::MicrosoftGraph => (
                "https://graph.microsoft.com/v1.0",
                bearer,
                "/me",
                "Connects with OAuth 2.0: someone signs in with Microsoft and allows access.",
            ),
            Provider::Salesforce => (
                "https://{instance}.my.salesforce.com/services/data/v62.0",
                bearer,
                "/limits",
                "Connects with OAuth 2.0: someone signs in at Salesforce and allows access.",
            ),
            Provider::Custom => (
                "https://api.example.com/v1",
                bearer,
                "/",
                "Whatever your API expects.",
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

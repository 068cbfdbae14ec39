//! Integrations as parsed values: the provider presets (where the credential goes, the check
//! request), how a credential is placed on a request, the credential's fields, and the paths a
//! bot flow may call under an integration's base URL.

mod address;
mod credential;
mod draft;
pub mod oauth;
mod oauth_preset;
mod placement;
mod provider;

pub use address::{SCHEME_MESSAGE, join, parse_base_url, valid_relative_path};
pub use credential::{CREDENTIAL_MAX, Credential, Problems};
pub use draft::{Draft, DraftInput, parse_check_path, parse_name};
pub use oauth_preset::{ClientAuth, Endpoints, OAuthPreset, Region};
pub use placement::{Placement, is_reserved_header};
pub use provider::{CredentialField, Preset, Provider};

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

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

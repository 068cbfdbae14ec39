//! Every dashboard URL, built in one place.

/// A team's API keys page (also the create POST target).
pub fn api_keys(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/api-keys")
}

/// The create-key form.
pub fn api_key_new(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/api-keys/new")
}

/// A key's edit form (GET) and update target (POST).
pub fn api_key(team_slug: &str, key_id: &str) -> String {
    format!("/teams/{team_slug}/settings/api-keys/{key_id}")
}

/// A key's action page: `edit`, `rotate` or `delete`.
pub fn api_key_action(team_slug: &str, key_id: &str, action: &str) -> String {
    format!("/teams/{team_slug}/settings/api-keys/{key_id}/{action}")
}

/// A team's general settings.
pub fn team_settings(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings")
}

/// The API reference, in a team's frame.
pub fn api_reference(team_slug: &str) -> String {
    format!("/teams/{team_slug}/api-reference")
}

/// A team's members page.
pub fn members(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/members")
}

/// The one-time invitation link's path (the token in the query: logs record paths only).
pub fn invitation(token: &str) -> String {
    format!("/invitations?token={token}")
}

/// An agency's dashboard (its clients).
pub fn agency(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}")
}

/// An agency's operators page.
pub fn agency_operators(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}/operators")
}

/// An agency's brand page.
pub fn agency_brand(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}/brand")
}

/// An action on one client of an agency: `suspend`, `resume`, `delete`.
pub fn agency_client_action(agency_slug: &str, team_slug: &str, action: &str) -> String {
    format!("/agencies/{agency_slug}/clients/{team_slug}/{action}")
}

/// The origin links and snippets are built on: an agency's host name when the page was
/// reached on one (with the public URL's scheme and port), else the public URL.
pub fn public_base(public_url: &str, brand_host: Option<&str>) -> String {
    let Some(host) = brand_host else {
        return public_url.trim_end_matches('/').to_owned();
    };
    let (scheme, rest) = public_url
        .split_once("://")
        .unwrap_or(("https", public_url));
    let authority = rest.split('/').next().unwrap_or_default();
    let port = authority
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| p.chars().all(|c| c.is_ascii_digit()));
    match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::public_base;

    #[test]
    fn links_follow_the_agency_host_but_keep_scheme_and_port() {
        assert_eq!(
            public_base("https://keys.example.com/", None),
            "https://keys.example.com"
        );
        assert_eq!(
            public_base("https://keys.example.com", Some("dash.acme.test")),
            "https://dash.acme.test"
        );
        assert_eq!(
            public_base("http://127.0.0.1:8080", Some("dash.acme.test")),
            "http://dash.acme.test:8080"
        );
    }
}

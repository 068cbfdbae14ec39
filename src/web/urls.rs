//! Every dashboard URL, built in one place.

pub use crate::links::{public_base, public_host};

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
    crate::links::api_key_path(team_slug, key_id)
}

/// A key's action page: `edit`, `rotate` or `delete`.
pub fn api_key_action(team_slug: &str, key_id: &str, action: &str) -> String {
    format!("/teams/{team_slug}/settings/api-keys/{key_id}/{action}")
}

/// A team's integrations (also the create POST target).
pub fn integrations(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/integrations")
}

/// The add-integration page (the provider chooser; `?provider=` for its form).
pub fn integration_new(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/integrations/new")
}

/// An integration's update target (POST).
pub fn integration(team_slug: &str, id: &str) -> String {
    format!("/teams/{team_slug}/settings/integrations/{id}")
}

/// An integration's action: `edit`, `delete` or `test`.
pub fn integration_action(team_slug: &str, id: &str, action: &str) -> String {
    format!("/teams/{team_slug}/settings/integrations/{id}/{action}")
}

/// A team's webhook endpoints.
pub fn webhooks_of_team(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/webhooks")
}

/// An agency's webhook endpoints (they receive every client's events).
pub fn agency_webhooks(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}/webhooks")
}

/// A team's general settings.
pub fn team_settings(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings")
}

/// A team's audit log (with the filter's query string, if any).
pub fn audit_log(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/audit-log")
}

/// An agency's own audit log.
pub fn agency_audit_log(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}/audit-log")
}

/// The signed-in user's account page.
pub const ACCOUNT: &str = "/account";

/// The API reference, in a team's frame.
pub fn api_reference(team_slug: &str) -> String {
    format!("/teams/{team_slug}/api-reference")
}

/// A team's members page.
pub fn members(team_slug: &str) -> String {
    format!("/teams/{team_slug}/settings/members")
}

/// A members-page action of the team: `invitations`, `transfer`, `leave`.
pub fn members_action(team_slug: &str, action: &str) -> String {
    format!("/teams/{team_slug}/settings/members/{action}")
}

/// An action on one member: `role`, `remove`.
pub fn member_action(team_slug: &str, user_id: &str, action: &str) -> String {
    format!("/teams/{team_slug}/settings/members/{user_id}/{action}")
}

/// Withdrawing an open invitation of the team.
pub fn invitation_revoke(team_slug: &str, invitation_id: &str) -> String {
    format!("/teams/{team_slug}/settings/members/invitations/{invitation_id}/revoke")
}

/// The one-time invitation link's path (the token in the query: logs record paths only).
pub fn invitation(token: &str) -> String {
    crate::links::invitation_path(token)
}

/// An agency's dashboard (its clients).
pub fn agency(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}")
}

/// Where a new client of the agency is posted.
pub fn agency_clients(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}/clients")
}

/// Where an operator invitation is posted.
pub fn agency_operator_invitations(agency_slug: &str) -> String {
    format!("/agencies/{agency_slug}/operators/invitations")
}

/// Removing an operator from the agency.
pub fn agency_operator_remove(agency_slug: &str, user_id: &str) -> String {
    format!("/agencies/{agency_slug}/operators/{user_id}/remove")
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

/// `base` with `pairs` as its query string (none: `base` alone).
pub fn with_query<'a>(base: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    let q = q.finish();
    if q.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{q}")
    }
}

#[cfg(test)]
mod tests {
    use super::{public_base, public_host};

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
        assert_eq!(
            public_host("https://Keys.Example.com:8443/x").as_deref(),
            Some("keys.example.com")
        );
    }
}

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

//! The absolute links Latchkey hands out of the dashboard — in an invitation, in an e-mail —
//! built in one place below the surfaces, so an operation that mails a link and the page that
//! shows it agree. (Dashboard-internal paths live in `web::urls`.)

/// The one-time invitation link's path (the token in the query: logs record paths only).
pub fn invitation_path(token: &str) -> String {
    format!("/invitations?token={token}")
}

/// A password reset link's path (the token in the query: logs record paths only).
pub fn password_reset_path(token: &str) -> String {
    format!("/password/reset?token={token}")
}

/// The confirmation of an account's new e-mail address, with its one-time token.
pub fn email_change_path(token: &str) -> String {
    format!("/account/email/confirm?token={token}")
}

/// A key's page (what an expiry notice points at).
pub fn api_key_path(team_slug: &str, key_id: &str) -> String {
    format!("/teams/{team_slug}/settings/api-keys/{key_id}")
}

/// The origin links and snippets are built on: an agency's host name when there is one (with
/// the public URL's scheme and port), else the public URL.
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

/// The host name of the public URL (which no agency may claim).
pub fn public_host(public_url: &str) -> Option<String> {
    let rest = public_url.split("://").nth(1)?;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    Some(host.to_ascii_lowercase())
}

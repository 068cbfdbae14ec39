//! Base URLs, and the paths a bot flow may call under one.

/// The message for a URL that is not `https://` (or `http://`, which only addresses the
/// operator allowlisted accept): integrations and webhook endpoints alike.
pub const SCHEME_MESSAGE: &str =
    "Use an https:// URL (http:// only reaches addresses your operator allowlisted).";

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
        return Err(SCHEME_MESSAGE);
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

//! An integration's settings as entered, parsed into what an operation takes.

use super::{Placement, Problems, Provider, parse_base_url, valid_relative_path};

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
    /// The provider's region (Zoho's data centre), where its base URL depends on one.
    pub region: Option<&'a str>,
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
    } else if name.chars().count() > crate::domain::limits::NAME_MAX {
        Err(format!(
            "Must be at most {} characters.",
            crate::domain::limits::NAME_MAX
        ))
    } else if name.chars().any(char::is_control)
        || crate::domain::inputs::has_invisible_formatting(name)
    {
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
        let fixed_base = provider.fixed_base_url(input.region);
        let base_url = match input
            .base_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .or(fixed_base.as_deref())
        {
            None => {
                problems.push(("base_url", "Enter the API's base URL.".into()));
                None
            }
            Some(raw) if raw.chars().count() > crate::domain::limits::URL_MAX => {
                problems.push((
                    "base_url",
                    format!(
                        "Must be at most {} characters.",
                        crate::domain::limits::URL_MAX
                    ),
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

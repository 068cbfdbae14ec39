//! Team settings → API keys: list, create (reveal once), edit, rotate, delete. Every action
//! is one handler serving both a plain form post (303 → page) and htmx (fragment swap).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::layout::{PageCtx, back_to};
use super::reconfirm::{FormKind, reconfirm};
use super::team_context::TeamCtx;
use super::urls;
use crate::db::with_read;
use crate::domain::api_key_secret::{ApiKeySecret, EnvLabel, KeyMode};
use crate::domain::ids::ApiKeyId;
use crate::domain::inputs::{ExpiryChoice, Name, parse_allowlist, parse_rate_limit, utc_date};
use crate::domain::key_hygiene::{Facts, Hint, hints, still_in_use};
use crate::domain::key_list::{HintFilter, KeyListInput, KeySort, PAGE_SIZE, StatusFilter};
use crate::domain::scope::{SCOPE_GROUPS, Scope, ScopeSet};
use crate::models::api_key::{ApiKey, KeySettings, KeyStatus, KeyWithCreator};
use crate::models::api_key_list::{self, Notices};
use crate::models::team::Team;
use crate::models::usage;
use crate::ops;
use crate::ops::api_keys::{ChangeKeyError, CreateKeyError, KeyChanges, RotateKeyError};
use crate::render;
use crate::state::AppState;
use crate::timefmt::{self, TimeView};
use crate::web::current_user::SignedIn;

/// Grace periods offered when rotating, in seconds, with their labels.
pub const GRACE_OPTIONS: [(i64, &str); 4] = [
    (0, "Immediately"),
    (3600, "1 hour"),
    (86_400, "24 hours"),
    (604_800, "7 days"),
];

// ----- view models -------------------------------------------------------------------------

/// One checkbox of the scope picker.
pub struct ScopeBox {
    /// Wire name (value and visible label).
    pub name: &'static str,
    /// Seed description.
    pub description: &'static str,
    /// Checked.
    pub checked: bool,
}

/// One resource row of the picker.
pub struct ScopeRow {
    /// "Bots".
    pub label: &'static str,
    /// `…:read`.
    pub read: ScopeBox,
    /// `…:write`.
    pub write: ScopeBox,
}

/// The whole picker.
pub struct ScopePicker {
    /// Resource rows.
    pub rows: Vec<ScopeRow>,
    /// `admin`, shown apart.
    pub admin: ScopeBox,
    /// The user may grant `admin` (owners and admins).
    pub admin_allowed: bool,
    /// The line under the legend: what is ticked and why.
    pub help: &'static str,
}

impl ScopePicker {
    /// The picker of the create form: everything the user may grant is ticked.
    fn for_new(selected: ScopeSet, admin_allowed: bool) -> Self {
        Self::new(
            selected,
            admin_allowed,
            "Every scope you may grant is selected by default. For a restricted key, keep only \
             what it needs. Write includes read.",
        )
    }

    /// The picker of the edit form: the key's own scopes are ticked.
    fn for_edit(selected: ScopeSet, admin_allowed: bool) -> Self {
        Self::new(
            selected,
            admin_allowed,
            "The key's current scopes are selected. Narrowing them applies to its very next \
             request. Write includes read.",
        )
    }

    fn new(selected: ScopeSet, admin_allowed: bool, help: &'static str) -> Self {
        let b = |s: Scope| ScopeBox {
            name: s.as_str(),
            description: s.description(),
            checked: selected.contains(s),
        };
        Self {
            rows: SCOPE_GROUPS
                .iter()
                .map(|g| ScopeRow {
                    label: g.label,
                    read: b(g.read),
                    write: b(g.write),
                })
                .collect(),
            admin: b(Scope::Admin),
            admin_allowed,
            help,
        }
    }
}

/// A row of the key table.
pub struct KeyRow {
    /// Record id (test hooks).
    pub id: String,
    /// Name.
    pub name: String,
    /// `sk_live_prod_AbCd…wxYz`.
    pub masked: String,
    /// `live` / `test`.
    pub mode: String,
    /// Environment label.
    pub environment: Option<String>,
    /// "All scopes", "3 scopes"…
    pub scope_summary: String,
    /// Every scope, for the details list.
    pub scopes: Vec<&'static str>,
    /// Created.
    pub created: TimeView,
    /// Creator's name.
    pub created_by: String,
    /// Last use, if any.
    pub last_used: Option<TimeView>,
    /// Address of the last use.
    pub last_used_ip: Option<String>,
    /// Expiry, if any.
    pub expires: Option<TimeView>,
    /// Status badge text.
    pub status: &'static str,
    /// Status modifier.
    pub status_slug: &'static str,
    /// "Retiring until 14 Jan, 10:00 UTC".
    pub status_note: Option<String>,
    /// Can be rotated (not already retiring).
    pub rotatable: bool,
    /// Has actions at all (a leaked or deleted key is already revoked).
    pub actionable: bool,
    /// The viewer may edit, rotate and delete it (their role, and for developers: their own
    /// key without `admin` scope).
    pub manageable: bool,
    /// For a retiring key: is it still being used? ("Still in use: last request 3 minutes ago")
    pub usage_note: Option<String>,
    /// For a retiring key: ends its grace period now.
    pub end_grace_url: Option<String>,
    /// The retiring key was used in the last hour: ending its grace asks first.
    pub still_in_use: bool,
    /// Edit page.
    pub edit_url: String,
    /// Rotate page.
    pub rotate_url: String,
    /// Delete page.
    pub delete_url: String,
    /// The key's own page.
    pub key_url: String,
    /// Hygiene findings that need attention, each with the action that fixes it.
    pub hints: Vec<HintView>,
    /// Shown beneath its successor (a retiring key of the list's default view).
    pub nested: bool,
}

/// One hygiene finding as a row or key page shows it.
pub struct HintView {
    /// The hint (test hook and style).
    pub slug: &'static str,
    /// "Created 4 months ago".
    pub text: String,
    /// The action that fixes it (for those who may manage the key).
    pub action: Option<HintAction>,
    /// Counts toward "needs attention" (the others are notes).
    pub attention: bool,
}

/// The action a hint offers.
pub struct HintAction {
    /// "Rotate".
    pub label: &'static str,
    /// Its page.
    pub url: String,
    /// A confirmation (rotate, delete: a dialog with htmx), not a page of its own (edit).
    pub dialog: bool,
}

/// The hygiene facts of a key (see `domain/key_hygiene.rs`).
fn facts(key: &ApiKey, status: KeyStatus) -> Facts {
    Facts {
        created_at: key.created_at,
        last_used_at: key.last_used_at,
        expires_at: key.expires_at,
        admin: key.scope_set().contains(Scope::Admin),
        retiring: status == KeyStatus::Retiring,
    }
}

/// The hints of a working key at `now`, worded, with links to their fixes.
pub fn hint_views(slug: &str, key: &ApiKey, now: i64) -> Vec<HintView> {
    let status = key.status(now);
    if !matches!(
        status,
        KeyStatus::Active | KeyStatus::ExpiringSoon | KeyStatus::Retiring
    ) {
        return vec![];
    }
    let act = |label, action, dialog| {
        Some(HintAction {
            label,
            url: urls::api_key_action(slug, key.id.as_str(), action),
            dialog,
        })
    };
    hints(&facts(key, status), now)
        .into_iter()
        .map(|h| {
            let (slug, text, action) = match h {
                Hint::Old => (
                    "old",
                    format!("Created {}", timefmt::relative(now, key.created_at)),
                    act("Rotate", "rotate", true),
                ),
                Hint::Unused => (
                    "unused",
                    match key.last_used_at {
                        Some(t) => format!("Last request {}", timefmt::relative(now, t)),
                        None => format!(
                            "Never used; created {}",
                            timefmt::relative(now, key.created_at)
                        ),
                    },
                    act("Delete", "delete", true),
                ),
                Hint::AdminForever => (
                    "admin-forever",
                    "Full access (admin) that never expires".to_owned(),
                    act("Narrow its scopes", "edit", false),
                ),
                Hint::Admin => (
                    "admin",
                    "Full access (admin)".to_owned(),
                    act("Narrow its scopes", "edit", false),
                ),
                Hint::NoExpiry => ("no-expiry", "Never expires".to_owned(), None),
                Hint::RetiringInUse => (
                    "retiring-in-use",
                    "Replaced, but still receiving requests: move its callers to the new key"
                        .to_owned(),
                    None,
                ),
            };
            HintView {
                slug,
                text,
                action,
                attention: h.needs_attention(),
            }
        })
        .collect()
}

impl KeyRow {
    /// The row of `k` at `now` (without the viewer's actions: see `manageable`).
    pub fn new(slug: &str, k: KeyWithCreator, now: i64) -> Self {
        let KeyWithCreator { key, creator_name } = k;
        let status = key.status(now);
        let status_note = match status {
            KeyStatus::Retiring => key
                .retiring_until
                .map(|t| format!("Retiring until {}", timefmt::short(t))),
            KeyStatus::Expired => key
                .expires_at
                .map(|t| format!("Expired {}", timefmt::relative(now, t))),
            KeyStatus::Leaked => key
                .reported_leaked_at
                .map(|t| format!("Revoked {} after a leak report", timefmt::relative(now, t))),
            _ => None,
        };
        let in_use = status == KeyStatus::Retiring && still_in_use(key.last_used_at, now);
        let usage_note = (status == KeyStatus::Retiring).then(|| match key.last_used_at {
            Some(t) if in_use => {
                format!("Still in use: last request {}", timefmt::relative(now, t))
            }
            Some(t) => format!("Quiet since {}", timefmt::relative(now, t)),
            None => "Never used".to_owned(),
        });
        let scopes = key.scope_set();
        Self {
            masked: key.masked(),
            mode: key.mode.as_str().to_owned(),
            environment: key.environment.clone(),
            scope_summary: scopes.summary(),
            scopes: scopes.iter().map(Scope::as_str).collect(),
            created: TimeView::new(now, key.created_at),
            created_by: creator_name.unwrap_or_else(|| "API".to_owned()),
            last_used: key.last_used_at.map(|t| TimeView::new(now, t)),
            last_used_ip: key.last_used_ip.clone(),
            expires: key.expires_at.map(|t| TimeView::new(now, t)),
            status: status.label(),
            status_slug: status.slug(),
            status_note,
            rotatable: !matches!(status, KeyStatus::Retiring | KeyStatus::Leaked),
            actionable: !matches!(status, KeyStatus::Leaked | KeyStatus::Revoked),
            manageable: false,
            still_in_use: in_use,
            usage_note,
            end_grace_url: (status == KeyStatus::Retiring)
                .then(|| urls::api_key_action(slug, &key.id, "end-grace")),
            edit_url: urls::api_key_action(slug, &key.id, "edit"),
            rotate_url: urls::api_key_action(slug, &key.id, "rotate"),
            delete_url: urls::api_key_action(slug, &key.id, "delete"),
            key_url: urls::api_key(slug, key.id.as_str()),
            // The row shows what needs attention; the notes wait on the key's page (and a
            // retiring key's use is the usage note).
            hints: hint_views(slug, &key, now)
                .into_iter()
                .filter(|h| h.attention && h.slug != "retiring-in-use")
                .collect(),
            nested: false,
            id: key.id.into(),
            name: key.name,
        }
    }
}

// ----- pages -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "api_keys/list.html", blocks = ["content"])]
struct ListPage {
    ctx: PageCtx,
    keys: Vec<KeyRow>,
    /// Some row has actions for this viewer (the actions column is shown).
    can_manage: bool,
    can_create: bool,
    new_url: String,
    /// The list's own URL (the filter form's target).
    list_url: String,
    /// The query as typed (the search text is not echoed when it is a whole secret).
    input: KeyListInput,
    /// Messages for wrong filter fields.
    errors: Vec<(&'static str, &'static str)>,
    modes: Vec<Choice>,
    statuses: Vec<Choice>,
    hygiene: Vec<Choice>,
    creators: Vec<Choice>,
    sorts: Vec<Choice>,
    /// Keys matching the filter, over every page.
    total: i64,
    /// The team has no key at all (the empty state, rather than "no keys match").
    team_empty: bool,
    filtered: bool,
    /// Not the first page: a link back to it.
    first_url: Option<String>,
    /// More keys follow.
    next_url: Option<String>,
    /// The one banner, if any: the most urgent notice.
    banner: Option<Banner>,
    /// The team's requests over the last 24 hours, for the header.
    overview: super::charts::Overview,
}

impl ListPage {
    fn error(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| *m)
    }
}

/// One option of a filter select.
pub struct Choice {
    /// Parameter value.
    pub value: String,
    /// Shown text.
    pub label: String,
    /// The current value.
    pub selected: bool,
}

fn choices(all: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
    all.into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// A one-line notice above the list, with its action as a link.
pub struct Banner {
    /// "3 keys expire within a day."
    pub text: String,
    /// "Show them".
    pub link_text: &'static str,
    /// The filtered list.
    pub url: String,
    /// Test hook.
    pub kind: &'static str,
}

/// "1 key", "3 keys".
fn keys_count(n: i64) -> String {
    if n == 1 {
        "1 key".to_owned()
    } else {
        format!("{n} keys")
    }
}

/// The most urgent notice: keys expiring within a day, then within a week (owners and admins),
/// then keys that need attention (everyone who manages keys) — unless the list already shows
/// exactly those.
fn banner(
    slug: &str,
    n: &Notices,
    input: &KeyListInput,
    sees_expiry: bool,
    manages: bool,
) -> Option<Banner> {
    let list = urls::api_keys(slug);
    let expiring = urls::with_query(&list, [("status", "expiring"), ("sort", "expires")]);
    if sees_expiry && n.expiring_week > 0 && input.status != "expiring" {
        let (count, when) = if n.expiring_day > 0 {
            (n.expiring_day, "within a day")
        } else {
            (n.expiring_week, "within 7 days")
        };
        let verb = if count == 1 { "expires" } else { "expire" };
        return Some(Banner {
            text: format!("{} {verb} {when}.", keys_count(count)),
            link_text: if count == 1 {
                "Rotate it"
            } else {
                "Rotate them"
            },
            url: expiring,
            kind: if n.expiring_day > 0 {
                "expiring-1d"
            } else {
                "expiring-7d"
            },
        });
    }
    if manages && n.attention > 0 && input.hint != "attention" {
        let verb = if n.attention == 1 { "needs" } else { "need" };
        return Some(Banner {
            text: format!("{} {verb} attention.", keys_count(n.attention)),
            link_text: "Show them",
            url: urls::with_query(&list, [("hint", "attention")]),
            kind: "attention",
        });
    }
    None
}

/// Values and messages of the create/edit form.
#[derive(Default)]
pub struct KeyForm {
    /// Name as typed.
    pub name: String,
    /// Message for the name.
    pub name_error: Option<&'static str>,
    /// Message for the scopes.
    pub scopes_error: Option<&'static str>,
    /// `live` / `test`.
    pub mode: String,
    /// Message for the mode.
    pub mode_error: Option<&'static str>,
    /// Environment label as typed.
    pub environment: String,
    /// Message for the environment.
    pub environment_error: Option<&'static str>,
    /// Expiry select value.
    pub expiry: String,
    /// Expiry date as typed.
    pub expiry_date: String,
    /// Message for the expiry.
    pub expiry_error: Option<&'static str>,
    /// Per-key rate limit as typed (empty = team default).
    pub rate_limit: String,
    /// Message for the rate limit.
    pub rate_limit_error: Option<&'static str>,
    /// IP allowlist as typed.
    pub ip_allowlist: String,
    /// Message for the allowlist.
    pub ip_allowlist_error: Option<&'static str>,
}

impl KeyForm {
    fn has_errors(&self) -> bool {
        self.name_error.is_some()
            || self.scopes_error.is_some()
            || self.mode_error.is_some()
            || self.environment_error.is_some()
            || self.expiry_error.is_some()
            || self.rate_limit_error.is_some()
            || self.ip_allowlist_error.is_some()
    }

    /// Reads and checks the create form: the values as typed with a message per wrong field,
    /// and the settings when every field is right.
    fn read_new(form: &FormData, admin_allowed: bool, now: i64) -> (Self, Option<KeySettings>) {
        let mut f = KeyForm {
            name: form.get("name").to_owned(),
            mode: form.get("mode").to_owned(),
            environment: form.get("environment").trim().to_owned(),
            expiry: form.get("expiry").to_owned(),
            expiry_date: form.get("expiry_date").to_owned(),
            ..KeyForm::default()
        };
        let name = Name::parse(&f.name)
            .map_err(|m| f.name_error = Some(m))
            .ok();
        let scopes = parse_scopes(&form.all("scopes"), admin_allowed)
            .map_err(|m| f.scopes_error = Some(m))
            .ok();
        let mode = KeyMode::parse(&f.mode).or_else(|| {
            f.mode_error = Some("Choose live or test.");
            None
        });
        let environment = match f.environment.as_str() {
            "" => Some(None),
            label => EnvLabel::parse(label).map(Some).or_else(|| {
                f.environment_error = Some(EnvLabel::MESSAGE);
                None
            }),
        };
        let expiry = ExpiryChoice::parse(&f.expiry, &f.expiry_date, utc_date(now))
            .map_err(|m| f.expiry_error = Some(m))
            .ok();
        let limits = f.parse_limits(form);
        let settings = match (name, scopes, mode, environment, expiry, limits) {
            (
                Some(name),
                Some(scopes),
                Some(mode),
                Some(environment),
                Some(expiry),
                Some(limits),
            ) if !f.has_errors() => Some(KeySettings {
                name: name.as_str().to_owned(),
                scopes,
                mode,
                environment,
                expires_at: expiry.expires_at(now),
                rate_limit_per_minute: limits.0,
                ip_allowlist: limits.1,
            }),
            _ => None,
        };
        (f, settings)
    }

    /// Reads and checks the limit fields shared by create and edit.
    fn parse_limits(&mut self, form: &FormData) -> Option<(Option<i32>, Option<String>)> {
        self.rate_limit = form.get("rate_limit").trim().to_owned();
        self.ip_allowlist = form.get("ip_allowlist").trim().to_owned();
        let rate = parse_rate_limit(&self.rate_limit)
            .map_err(|m| self.rate_limit_error = Some(m))
            .ok();
        let allow = parse_allowlist(&self.ip_allowlist)
            .map_err(|m| self.ip_allowlist_error = Some(m))
            .ok();
        Some((rate?, allow?))
    }
}

#[derive(Template)]
#[template(path = "api_keys/new.html", blocks = ["content"])]
struct NewPage {
    ctx: PageCtx,
    form: KeyForm,
    picker: ScopePicker,
    action: String,
    cancel_url: String,
    expiry_presets: [i64; 4],
    min_date: String,
}

#[derive(Template)]
#[template(path = "api_keys/edit.html", blocks = ["content"])]
struct EditPage {
    ctx: PageCtx,
    key: KeyRow,
    form: KeyForm,
    picker: ScopePicker,
    action: String,
    cancel_url: String,
}

#[derive(Template)]
#[template(path = "api_keys/reveal.html", blocks = ["content"])]
struct RevealPage<'a> {
    ctx: PageCtx,
    key: KeyRow,
    secret: &'a str,
    curl: String,
    rotated_from: Option<String>,
    done_url: String,
}

#[derive(Template)]
#[template(path = "api_keys/rotate.html", blocks = ["content"])]
struct RotatePage {
    ctx: PageCtx,
    key: KeyRow,
    action: String,
    cancel_url: String,
    grace_options: Vec<(i64, &'static str)>,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "api_keys/delete.html", blocks = ["content"])]
struct DeletePage {
    ctx: PageCtx,
    key: KeyRow,
    action: String,
    cancel_url: String,
}

/// The confirmation of ending a grace period early (the list asks it while the old key is still
/// in use).
#[derive(Template)]
#[template(path = "api_keys/end_grace.html", blocks = ["content"])]
struct EndGracePage {
    ctx: PageCtx,
    key: KeyRow,
    action: String,
    cancel_url: String,
}

// ----- helpers -----------------------------------------------------------------------------

/// The team and key named in the URL, for a user who may manage keys: 404 for a team you are
/// not in or a key that is not the team's, 403 for a role that may only look.
async fn managed_key(
    state: &AppState,
    user: &SignedIn,
    (slug, key_id): (String, String),
) -> Result<(TeamCtx, ApiKey), PageError> {
    let team = TeamCtx::load(state, user, &slug).await?;
    team.require_key_creator()?;
    let key = load_key(state, &team, &key_id).await?;
    if !may_manage(&team, user, &key) {
        return Err(PageError::Forbidden);
    }
    Ok((team, key))
}

/// Owners and admins manage every key; developers the keys they created, unless such a key
/// has `admin` scope (from before a role change) — a developer may not mint admin keys.
fn may_manage(team: &TeamCtx, user: &SignedIn, key: &ApiKey) -> bool {
    let role = team.current.role;
    let own = key.created_by.as_deref() == Some(user.user.id.as_str());
    role.can_manage_key(own)
        && (role.can_grant_admin_scope() || !key.scope_set().contains(Scope::Admin))
}

async fn load_key(state: &AppState, team: &TeamCtx, raw_id: &str) -> Result<ApiKey, PageError> {
    let id = ApiKeyId::parse(raw_id).ok_or(PageError::NotFound)?;
    let team_id = team.current.team.team_id();
    let now = state.clock.now();
    with_read(&state.pool, move |c| {
        Ok(ApiKey::find_for_team(c, &team_id, &id, now)?)
    })
    .await?
    .ok_or(PageError::NotFound)
}

fn row_for(team: &TeamCtx, key: &ApiKey, creator: Option<String>, now: i64) -> KeyRow {
    KeyRow::new(
        team.slug(),
        KeyWithCreator {
            key: key.clone(),
            creator_name: creator,
        },
        now,
    )
}

/// After a successful action: back to the list, with `flash`.
async fn back_to_list(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    htmx: Htmx,
    flash: String,
) -> Result<HttpResponse, PageError> {
    let url = urls::api_keys(team.slug());
    back_to(&user.session, htmx, url, flash, |flash| {
        list_response(
            state,
            user,
            team,
            htmx,
            Some(flash),
            KeyListInput::default(),
        )
    })
    .await
}

async fn list_response(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    htmx: Htmx,
    flash: Option<String>,
    mut input: KeyListInput,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let team_id = team.current.team.team_id();
    let slug = team.slug().to_owned();
    let list_url = urls::api_keys(&slug);
    let parsed = input.parse();
    let secret_typed = input.holds_secret();
    if secret_typed {
        input.q.clear();
    }
    let clean_url = secret_typed.then(|| urls::with_query(&list_url, input.pairs()));
    let filter = parsed.as_ref().ok().cloned();
    let found = with_read(&state.pool, move |c| {
        let members = Team::members(c, &team_id)?;
        let notices = api_key_list::notices(
            c,
            &team_id,
            filter.as_ref().unwrap_or(&Default::default()),
            now,
        )?;
        let hours = usage::team_hours(c, team_id.as_str(), now - 24 * 3_600)?;
        let page = match &filter {
            Some(f) => {
                api_key_list::page(c, &team_id, None, f, PAGE_SIZE, now, Some(notices.matching))?
                    .map(Some)
            }
            None => Some(None),
        };
        Ok((members, notices, hours, page))
    })
    .await?;
    let (members, notices, hours, page) = found;
    // A cursor that names no key of this team is a 404, as in the audit log.
    let page = page.ok_or(PageError::NotFound)?;
    let role = team.current.role;
    let mut rows: Vec<KeyRow> = vec![];
    let (mut total, mut next_url) = (0, None);
    if let Some(page) = page {
        total = page.total;
        if page.has_more
            && let Some(last) = page.keys.last()
        {
            let pairs = input
                .pairs()
                .into_iter()
                .chain([("after", last.key.id.as_str())]);
            next_url = Some(urls::with_query(&list_url, pairs));
        }
        let mut predecessors = page.predecessors;
        for k in page.keys {
            let successor = k.key.id.clone();
            rows.push(row_with_actions(team, user, &slug, k, now));
            while let Some(i) = predecessors
                .iter()
                .position(|p| p.key.replaced_by.as_ref() == Some(&successor))
            {
                let mut row = row_with_actions(team, user, &slug, predecessors.remove(i), now);
                row.nested = true;
                rows.push(row);
            }
        }
    }
    let creators = [("api".to_owned(), "Through the API".to_owned())]
        .into_iter()
        .chain(members.into_iter().map(|m| (m.user_id.into(), m.name)));
    let errors = parsed.err().unwrap_or_default();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ListPage {
        ctx: PageCtx::new("API keys", user, team, "api-keys").with_flash(flash),
        can_manage: rows.iter().any(|r| r.manageable),
        keys: rows,
        can_create: role.can_create_keys(),
        new_url: urls::api_key_new(&slug),
        first_url: (!input.after.is_empty()).then(|| urls::with_query(&list_url, input.pairs())),
        next_url,
        banner: banner(
            &slug,
            &notices,
            &input,
            role.can_grant_admin_scope(),
            role.can_create_keys(),
        ),
        list_url,
        modes: choices(
            [KeyMode::Live, KeyMode::Test].map(|m| (m.as_str().to_owned(), m.as_str().to_owned())),
            &input.mode,
        ),
        statuses: choices(
            StatusFilter::ALL.map(|(_, v, l)| (v.to_owned(), l.to_owned())),
            &input.status,
        ),
        hygiene: choices(
            HintFilter::ALL.map(|(_, v, l)| (v.to_owned(), l.to_owned())),
            &input.hint,
        ),
        creators: choices(creators, &input.creator),
        sorts: choices(
            KeySort::ALL.map(|(_, v, l)| (v.to_owned(), l.to_owned())),
            if input.sort.is_empty() {
                "newest"
            } else {
                &input.sort
            },
        ),
        total,
        overview: super::charts::Overview::new(&hours, now),
        team_empty: total == 0
            && errors.is_empty()
            && input.after.is_empty()
            && !input.is_filtered(),
        filtered: input.is_filtered(),
        errors,
        input,
    };
    let mut res = render!(htmx, status, page)?;
    if let Some(clean) = clean_url {
        // Keep the typed secret out of the address bar and history (htmx pushes this URL
        // instead of the request's).
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&clean) {
            res.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static("hx-push-url"),
                v,
            );
        }
    }
    Ok(res)
}

/// A key's row with the viewer's actions (none on hints they may not follow).
pub fn row_with_actions(
    team: &TeamCtx,
    user: &SignedIn,
    slug: &str,
    k: KeyWithCreator,
    now: i64,
) -> KeyRow {
    let manageable = may_manage(team, user, &k.key);
    let mut row = KeyRow::new(slug, k, now);
    row.manageable = manageable && row.actionable;
    if !row.manageable {
        for h in &mut row.hints {
            h.action = None;
        }
    }
    row
}

/// The reveal-once response: rendered directly (never redirected to), never cached.
fn reveal_response(
    htmx: Htmx,
    page: RevealPage<'_>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    Ok(super::htmx::no_store(render!(htmx, status, page)?))
}

fn curl_snippet(public_url: &str, secret: &ApiKeySecret) -> String {
    format!(
        "curl -H \"Authorization: Bearer {}\" {public_url}/v1/me",
        secret.expose()
    )
}

/// Parses the scope checkboxes: unknown names are an error, none chosen is an error, and
/// `admin` is an error for a role that may not grant it.
fn parse_scopes(values: &[&str], admin_allowed: bool) -> Result<ScopeSet, &'static str> {
    let mut set = ScopeSet::empty();
    for v in values {
        set.insert(Scope::parse(v).ok_or("Unknown scope. Choose from the list.")?);
    }
    if set.contains(Scope::Admin) && !admin_allowed {
        return Err("Only owners and admins can give a key full access (admin).");
    }
    if set.is_empty() {
        return Err("Choose at least one scope.");
    }
    Ok(set)
}

// ----- handlers ----------------------------------------------------------------------------

/// GET the list.
pub async fn list(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    let input = KeyListInput::read(|k| query.get(k).map(String::as_str));
    list_response(&state, &user, &team, htmx, None, input).await
}

/// GET the create form.
pub async fn new_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    team.require_key_creator()?;
    let form = KeyForm {
        mode: "live".into(),
        expiry: "never".into(),
        ..KeyForm::default()
    };
    let mut scopes = ScopeSet::all();
    if !team.current.role.can_grant_admin_scope() {
        scopes.remove(Scope::Admin);
    }
    let page = new_page(&state, &user, &team, form, scopes);
    Ok(render!(htmx, StatusCode::OK, page)?)
}

fn new_page(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    form: KeyForm,
    scopes: ScopeSet,
) -> NewPage {
    let tomorrow = utc_date(state.clock.now() + 86_400);
    NewPage {
        ctx: PageCtx::new("Create API key", user, team, "api-keys"),
        form,
        picker: ScopePicker::for_new(scopes, team.current.role.can_grant_admin_scope()),
        action: urls::api_keys(team.slug()),
        cancel_url: urls::api_keys(team.slug()),
        expiry_presets: ExpiryChoice::PRESETS,
        min_date: tomorrow.to_string(),
    }
}

/// POST create → 200 reveal-once, or 422 with the form and messages.
pub async fn create(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
    mut form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    team.require_key_creator()?;
    let now = state.clock.now();
    let admin_allowed = team.current.role.can_grant_admin_scope();
    let (mut f, settings) = KeyForm::read_new(&form, admin_allowed, now);
    let Some(settings) = settings else {
        let page = new_page(
            &state,
            &user,
            &team,
            f,
            parse_scopes_lenient(&form.all("scopes")),
        );
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let scopes = settings.scopes;
    // An admin key can do everything the team can: minted only by someone who just proved
    // who they are.
    if scopes.contains(Scope::Admin)
        && let Some(ask) =
            reconfirm(&state, &user, &req, htmx, &mut form, FormKind::Urlencoded).await?
    {
        return Ok(ask);
    }
    let actor = team.actor(&state, &user, &req);
    match ops::api_keys::create(&state, &actor, &team.team_id(), settings).await {
        Ok((key, secret)) => {
            let heading = ("API key created", None);
            reveal((&state, &user, &team), htmx, heading, &key, &secret)
        }
        Err(CreateKeyError::NameTaken) => {
            f.name_error = Some(NAME_TAKEN);
            let page = new_page(&state, &user, &team, f, scopes);
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
        }
        Err(CreateKeyError::Failed(e)) => Err(e.into()),
    }
}

/// The reveal-once page for a key just created or rotated in (`heading`: the title, and the
/// note about the key it replaces): rendered directly (never redirected to), never cached.
fn reveal(
    (state, user, team): (&AppState, &SignedIn, &TeamCtx),
    htmx: Htmx,
    heading: (&str, Option<String>),
    key: &ApiKey,
    secret: &ApiKeySecret,
) -> Result<HttpResponse, PageError> {
    let (title, rotated_from) = heading;
    let now = state.clock.now();
    let page = RevealPage {
        ctx: PageCtx::new(title, user, team, "api-keys"),
        key: row_for(team, key, Some(user.user.name.clone()), now),
        curl: curl_snippet(
            &urls::public_base(&state.config.public_url, team.brand.host.as_deref()),
            secret,
        ),
        secret: secret.expose(),
        rotated_from,
        done_url: urls::api_keys(team.slug()),
    };
    reveal_response(htmx, page, StatusCode::OK)
}

const NAME_TAKEN: &str = "A key with this name already exists. Choose another name.";

/// The checkboxes to show again after a failed post: the known names that were ticked.
fn parse_scopes_lenient(values: &[&str]) -> ScopeSet {
    let mut set = ScopeSet::empty();
    for s in values.iter().filter_map(|v| Scope::parse(v)) {
        set.insert(s);
    }
    set
}

/// GET the edit form.
pub async fn edit_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;
    let form = KeyForm {
        name: key.name.clone(),
        rate_limit: key
            .rate_limit_per_minute
            .map(|n| n.to_string())
            .unwrap_or_default(),
        ip_allowlist: key.ip_allowlist.entries().unwrap_or_default().join("\n"),
        ..KeyForm::default()
    };
    let page = edit_page(&state, &user, &team, &key, form, key.scope_set());
    Ok(render!(htmx, StatusCode::OK, page)?)
}

fn edit_page(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    key: &ApiKey,
    form: KeyForm,
    scopes: ScopeSet,
) -> EditPage {
    EditPage {
        ctx: PageCtx::new(format!("Edit {}", key.name), user, team, "api-keys"),
        key: row_for(team, key, None, state.clock.now()),
        form,
        picker: ScopePicker::for_edit(scopes, team.current.role.can_grant_admin_scope()),
        action: urls::api_key(team.slug(), &key.id),
        cancel_url: urls::api_keys(team.slug()),
    }
}

/// POST edit: rename and change scopes, effective immediately.
pub async fn update(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    mut form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;

    let mut f = KeyForm {
        name: form.get("name").to_owned(),
        ..KeyForm::default()
    };
    let name = Name::parse(&f.name)
        .map_err(|m| f.name_error = Some(m))
        .ok();
    let scope_values = form.all("scopes");
    let scopes = parse_scopes(&scope_values, team.current.role.can_grant_admin_scope())
        .map_err(|m| f.scopes_error = Some(m))
        .ok();
    let limits = f.parse_limits(&form);
    let (Some(name), Some(scopes), Some((rate, allow))) = (name, scopes, limits) else {
        let page = edit_page(
            &state,
            &user,
            &team,
            &key,
            f,
            parse_scopes_lenient(&scope_values),
        );
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };

    if scopes.contains(Scope::Admin)
        && !key.scope_set().contains(Scope::Admin)
        && let Some(ask) =
            reconfirm(&state, &user, &req, htmx, &mut form, FormKind::Urlencoded).await?
    {
        return Ok(ask);
    }
    let changes = KeyChanges {
        name: name.as_str().to_owned(),
        scopes,
        rate_limit_per_minute: rate,
        ip_allowlist: allow,
    };
    let actor = team.actor(&state, &user, &req);
    match ops::api_keys::update(&state, &actor, &key, changes).await {
        Ok(()) => {
            let flash = format!("Key “{}” updated.", name.as_str());
            back_to_list(&state, &user, &team, htmx, flash).await
        }
        Err(ChangeKeyError::NameTaken) => {
            f.name_error = Some(NAME_TAKEN);
            let page = edit_page(&state, &user, &team, &key, f, scopes);
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
        }
        Err(ChangeKeyError::Gone) => Err(PageError::NotFound),
        Err(ChangeKeyError::Failed(e)) => Err(e.into()),
    }
}

/// GET the rotate confirmation.
pub async fn rotate_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;
    let error = key.retiring_until.is_some().then_some(ALREADY_RETIRING);
    let page = rotate_page(&state, &user, &team, &key, error);
    Ok(render!(htmx, StatusCode::OK, page)?)
}

const ALREADY_RETIRING: &str = "This key is already being replaced. Rotate its successor instead, or delete this key to end its grace period now.";

fn rotate_page(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    key: &ApiKey,
    error: Option<&'static str>,
) -> RotatePage {
    RotatePage {
        ctx: PageCtx::new(format!("Rotate {}", key.name), user, team, "api-keys"),
        key: row_for(team, key, None, state.clock.now()),
        action: urls::api_key_action(team.slug(), &key.id, "rotate"),
        cancel_url: urls::api_keys(team.slug()),
        grace_options: GRACE_OPTIONS.to_vec(),
        error,
    }
}

/// POST rotate → 200 reveal of the successor; 422 for a bad grace value; 409 if retiring.
pub async fn rotate(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;
    let grace = form
        .get("grace")
        .parse::<i64>()
        .ok()
        .filter(|g| GRACE_OPTIONS.iter().any(|(s, _)| s == g));
    let Some(grace) = grace else {
        let page = rotate_page(
            &state,
            &user,
            &team,
            &key,
            Some("Choose how long the old key keeps working."),
        );
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };

    let actor = team.actor(&state, &user, &req);
    let now = actor.at;
    match ops::api_keys::rotate(&state, &actor, &key, grace).await {
        Ok((new_key, secret)) => {
            let note = if grace == 0 {
                format!("The old key {} stopped working now.", key.masked())
            } else {
                format!(
                    "The old key {} keeps working until {}.",
                    key.masked(),
                    timefmt::human(now + grace)
                )
            };
            let heading = ("API key rotated", Some(note));
            reveal((&state, &user, &team), htmx, heading, &new_key, &secret)
        }
        Err(RotateKeyError::AlreadyRetiring) => {
            let page = rotate_page(&state, &user, &team, &key, Some(ALREADY_RETIRING));
            Ok(render!(htmx, StatusCode::CONFLICT, page)?)
        }
        Err(RotateKeyError::Failed(e)) => Err(e.into()),
    }
}

/// GET the delete confirmation.
pub async fn delete_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;
    let page = DeletePage {
        ctx: PageCtx::new(format!("Delete {}", key.name), &user, &team, "api-keys"),
        key: row_for(&team, &key, None, state.clock.now()),
        action: urls::api_key_action(team.slug(), &key.id, "delete"),
        cancel_url: urls::api_keys(team.slug()),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST delete: revoked at once.
pub async fn delete(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;
    let actor = team.actor(&state, &user, &req);
    let flash = format!("Key “{}” deleted. Requests using it now fail.", key.name);
    let done = ops::api_keys::delete(&state, &actor, &key).await;
    after_revoke(&state, &user, &team, htmx, done, flash).await
}

/// POST end-grace: a retiring key stops working now (its successor is already in place).
pub async fn end_grace_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;
    let now = state.clock.now();
    if key.status(now) != KeyStatus::Retiring {
        return Err(PageError::NotFound);
    }
    let page = EndGracePage {
        ctx: PageCtx::new(
            format!("End grace of {}", key.name),
            &user,
            &team,
            "api-keys",
        ),
        key: row_for(&team, &key, None, now),
        action: urls::api_key_action(team.slug(), &key.id, "end-grace"),
        cancel_url: urls::api_keys(team.slug()),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST end a retiring key's grace period: the old key is refused from now on.
pub async fn end_grace(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, key) = managed_key(&state, &user, path.into_inner()).await?;
    if key.status(state.clock.now()) != KeyStatus::Retiring {
        return Err(PageError::NotFound);
    }
    let actor = team.actor(&state, &user, &req);
    let flash = format!(
        "The old “{}” key ({}) stopped working.",
        key.name,
        key.masked()
    );
    let done = ops::api_keys::end_grace(&state, &actor, &key).await;
    after_revoke(&state, &user, &team, htmx, done, flash).await
}

/// Back to the list with `flash` after a delete or an ended grace period.
async fn after_revoke(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    htmx: Htmx,
    done: Result<(), ChangeKeyError>,
    flash: String,
) -> Result<HttpResponse, PageError> {
    match done {
        Ok(()) => back_to_list(state, user, team, htmx, flash).await,
        Err(ChangeKeyError::NameTaken | ChangeKeyError::Gone) => Err(PageError::NotFound),
        Err(ChangeKeyError::Failed(e)) => Err(e.into()),
    }
}

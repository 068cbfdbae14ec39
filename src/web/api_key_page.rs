//! A key's own page (Team settings → API keys → a key): its summary, hygiene, usage charts by
//! outcome, the addresses it is used from, its rotation lineage and its audit trail.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::api_keys::{HintView, KeyRow, hint_views, row_with_actions};
use super::charts::{self, Chart};
use super::error::PageError;
use super::htmx::Htmx;
use super::layout::PageCtx;
use super::team_context::TeamCtx;
use super::urls;
use crate::db::with_read;
use crate::domain::audit::{AuditFilter, Match, Owner};
use crate::domain::ids::ApiKeyId;
use crate::models::api_key::ApiKey;
use crate::models::audit;
use crate::models::key_address::{self, KeyAddress};
use crate::models::usage::{self, Outcome};
use crate::render;
use crate::state::AppState;
use crate::timefmt::TimeView;
use crate::web::current_user::SignedIn;

/// Addresses listed under "Where it is used from".
const ADDRESSES_SHOWN: i64 = 10;
/// Events listed under "Activity" (the audit log has the rest).
const EVENTS_SHOWN: i64 = 20;
/// An address first seen this recently is marked "new".
pub const NEW_ADDRESS_FOR: i64 = 86_400;

/// One address the key was used from.
struct AddressRow {
    ip: String,
    first: TimeView,
    last: TimeView,
    /// "1,204,311".
    requests: String,
    new: bool,
}

/// A key linked from the lineage.
struct Linked {
    name: String,
    masked: String,
    url: String,
    status: &'static str,
}

/// One audit event of the key.
struct EventRow {
    when: TimeView,
    actor: String,
    description: String,
    ip: String,
}

/// One entry of the chart legend.
struct Legend {
    class: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "api_keys/show.html", blocks = ["content"])]
struct KeyPage {
    ctx: PageCtx,
    key: KeyRow,
    list_url: String,
    /// "Ada Lovelace", or "the key “Deploy bot”, through the API".
    created_by: String,
    rate_limit: String,
    allowlist: Vec<String>,
    hints: Vec<HintView>,
    hourly: Chart,
    daily: Chart,
    legend: Vec<Legend>,
    outcomes: Vec<&'static str>,
    addresses: Vec<AddressRow>,
    predecessor: Option<Linked>,
    successor: Option<Linked>,
    /// `None` when the viewer may not read the team's audit log.
    events: Option<Vec<EventRow>>,
    audit_url: String,
}

fn linked(slug: &str, key: &ApiKey, now: i64) -> Linked {
    Linked {
        name: key.name.clone(),
        masked: key.masked(),
        url: urls::api_key(slug, key.id.as_str()),
        status: key.status(now).label(),
    }
}

/// GET a key's page: any member of the team may look; another team's key is a 404.
pub async fn show(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (slug, raw_id) = path.into_inner();
    let team = TeamCtx::load(&state, &user, &slug).await?;
    let id = ApiKeyId::parse(&raw_id).ok_or(PageError::NotFound)?;
    let team_id = team.team_id();
    let now = state.clock.now();
    // The same readers as the audit log's.
    let reads_log = team.current.role.can_edit_settings();
    let owner = Owner::Team(team_id.clone());
    let found = with_read(&state.pool, move |c| {
        let Some(k) = ApiKey::find_any_for_team(c, &team_id, &id)? else {
            return Ok(None);
        };
        let key_id = k.key.id.as_str().to_owned();
        let hours = usage::key_hours(c, &key_id, now - 30 * 86_400 - 86_400)?;
        let addresses = key_address::recent(c, &key_id, ADDRESSES_SHOWN)?;
        let predecessor = ApiKey::predecessor_of(c, &k.key.id)?;
        let successor = match &k.key.replaced_by {
            Some(s) => ApiKey::find(c, s.as_str())?,
            None => None,
        };
        let by_key = if k.key.created_by.is_none() {
            audit::created_by_key(c, &owner, &key_id)?
        } else {
            None
        };
        let events = if reads_log {
            let filter = AuditFilter {
                target: Some(Match::Id(key_id.clone())),
                ..AuditFilter::default()
            };
            let events = audit::page(c, &owner, &filter, None, EVENTS_SHOWN)?;
            let agencies = audit::agency_names(c, &events)?;
            Some((events, agencies))
        } else {
            None
        };
        Ok(Some((
            k,
            hours,
            addresses,
            predecessor,
            successor,
            by_key,
            events,
        )))
    })
    .await?;
    let (k, hours, addresses, predecessor, successor, by_key, events) =
        found.ok_or(PageError::NotFound)?;
    let slug = team.slug().to_owned();
    let key = k.key.clone();
    let created_by = match (&k.creator_name, &by_key) {
        (Some(person), _) => person.clone(),
        (None, Some((_, name))) => format!("the key “{name}”, through the API"),
        (None, None) => "the API".to_owned(),
    };
    let row = row_with_actions(&team, &user, &slug, k, now);
    let mut hints = hint_views(&slug, &key, now);
    if !row.manageable {
        for h in &mut hints {
            h.action = None;
        }
    }
    let page = KeyPage {
        ctx: PageCtx::new(&key.name, &user, &team, "api-keys"),
        list_url: urls::api_keys(&slug),
        created_by,
        rate_limit: match key.rate_limit_per_minute {
            Some(n) => format!("{n} requests per minute (this key)"),
            None => format!(
                "{} requests per minute (team default)",
                team.current.team.rate_limit_per_minute
            ),
        },
        allowlist: key
            .ip_allowlist
            .to_storage()
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        hints,
        hourly: charts::hourly(&hours, now),
        daily: charts::daily(&hours, now),
        legend: Outcome::ALL
            .iter()
            .map(|o| Legend {
                class: charts::class_of(*o),
                label: charts::label_of(*o),
            })
            .collect(),
        outcomes: Outcome::ALL.iter().map(|o| charts::label_of(*o)).collect(),
        addresses: addresses
            .into_iter()
            .map(|a: KeyAddress| AddressRow {
                new: now - a.first_seen < NEW_ADDRESS_FOR,
                first: TimeView::new(now, a.first_seen),
                last: TimeView::new(now, a.last_seen),
                requests: charts::count(a.requests),
                ip: a.ip,
            })
            .collect(),
        predecessor: predecessor.as_ref().map(|p| linked(&slug, p, now)),
        successor: successor.as_ref().map(|s| linked(&slug, s, now)),
        events: events.map(|(events, agencies)| {
            events
                .iter()
                .map(|e| EventRow {
                    when: TimeView::new(now, e.created_at),
                    actor: e.actor_text(&agencies),
                    description: e.description(),
                    ip: e.ip.clone().unwrap_or_default(),
                })
                .collect()
        }),
        audit_url: urls::with_query(&urls::audit_log(&slug), [("key", key.id.as_str())]),
        key: row,
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

//! Audit logs: a team's (Team settings → Audit log; owners, admins and agency operators) and
//! an agency's own (clients, brand, operators; the agency's owner and operators). Filters live
//! in the URL, pages are keyset ("Load older"), and the current filter exports as CSV or NDJSON,
//! streamed page by page.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use askama::Template;
use futures_util::StreamExt;

use super::agency_context::AgencyCtx;
use super::error::PageError;
use super::htmx::Htmx;
use super::layout::PageCtx;
use super::team_context::TeamCtx;
use super::urls;
use crate::db::with_read;
use crate::domain::audit::{AuditAction, AuditFilter, FilterInput, LogOf, Owner};
use crate::error::AppError;
use crate::models::agency::Agency;
use crate::models::audit::{self, AuditEvent};
use crate::models::team::Team;
use crate::render;
use crate::state::AppState;
use crate::timefmt::{self, TimeView};
use crate::web::current_user::SignedIn;

/// Events on one page of the log.
const PAGE_SIZE: i64 = 50;
/// Events fetched per database round trip of an export (memory stays flat).
const EXPORT_PAGE: i64 = 500;

/// One option of a filter select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One event as a table row.
struct EventRow {
    when: TimeView,
    actor: String,
    description: String,
    target: String,
    target_kind: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit_log/list.html", blocks = ["content"])]
struct AuditLogPage {
    ctx: PageCtx,
    lead: String,
    action: String,
    filter: FilterInput,
    action_error: Option<&'static str>,
    actor_error: Option<&'static str>,
    key_error: Option<&'static str>,
    from_error: Option<&'static str>,
    to_error: Option<&'static str>,
    actions: Vec<Choice>,
    /// Names suggested in the actor field.
    actors: Vec<String>,
    /// The key field is shown.
    keys: bool,
    rows: Vec<EventRow>,
    filtered: bool,
    paged: bool,
    newest_url: String,
    older_url: Option<String>,
    csv_url: String,
    ndjson_url: String,
}

impl AuditLogPage {
    fn has_errors(&self) -> bool {
        self.action_error.is_some()
            || self.actor_error.is_some()
            || self.key_error.is_some()
            || self.from_error.is_some()
            || self.to_error.is_some()
    }
}

/// The filter and cursor typed in the URL.
fn filter_input(query: &HashMap<String, String>) -> FilterInput {
    FilterInput::read(|k| query.get(k).map(String::as_str))
}

/// `base` with the filter (and extra pairs) as its query string.
fn with_query(base: &str, input: &FilterInput, extra: &[(&str, &str)]) -> String {
    urls::with_query(base, input.pairs().into_iter().chain(extra.iter().copied()))
}

/// Where a view of a log comes from: whose log, where its pages live, and what to offer in
/// the filters.
struct LogView {
    owner: Owner,
    log: LogOf,
    base_url: String,
    export_base: String,
    /// People who may appear as actors (id, name): the actor field's suggestions.
    actors: Vec<(String, String)>,
    /// The log is about keys (a team's): it has the key field.
    keys: bool,
}

async fn render_log(
    state: &AppState,
    ctx: PageCtx,
    lead: String,
    view: LogView,
    query: &HashMap<String, String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let input = filter_input(query);
    let before = query.get("before").cloned().filter(|b| !b.is_empty());
    let mut page = AuditLogPage {
        ctx,
        lead,
        action: view.base_url.clone(),
        actions: AuditAction::ALL
            .iter()
            .filter(|a| a.log() == view.log)
            .map(|a| Choice {
                value: a.as_str().to_owned(),
                label: a.label().to_owned(),
                selected: a.as_str() == input.action,
            })
            .collect(),
        actors: view.actors.iter().map(|(_, name)| name.clone()).collect(),
        keys: view.keys,
        filter: input.clone(),
        action_error: None,
        actor_error: None,
        key_error: None,
        from_error: None,
        to_error: None,
        rows: vec![],
        filtered: !input.pairs().is_empty(),
        paged: before.is_some(),
        newest_url: with_query(&view.base_url, &input, &[]),
        older_url: None,
        csv_url: with_query(&format!("{}.csv", view.export_base), &input, &[]),
        ndjson_url: with_query(&format!("{}.ndjson", view.export_base), &input, &[]),
    };
    let filter = match input.parse() {
        Ok(f) => f,
        Err(errors) => {
            for (field, message) in errors {
                match field {
                    "action" => page.action_error = Some(message),
                    "actor" => page.actor_error = Some(message),
                    "key" => page.key_error = Some(message),
                    "from" => page.from_error = Some(message),
                    _ => page.to_error = Some(message),
                }
            }
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
    };
    let owner = view.owner.clone();
    let found = with_read(&state.pool, move |c| {
        let Some((events, more)) =
            audit::page_before(c, &owner, &filter, before.as_deref(), PAGE_SIZE)?
        else {
            return Ok(None);
        };
        let agencies = audit::agency_names(c, &events)?;
        Ok(Some((events, more, agencies)))
    })
    .await?;
    // A cursor that names no event of this log (another team's, or pruned) is a 404.
    let (events, more, agencies) = found.ok_or(PageError::NotFound)?;
    let now = state.clock.now();
    if more && let Some(last) = events.last() {
        page.older_url = Some(with_query(&view.base_url, &input, &[("before", &last.id)]));
    }
    page.rows = events
        .iter()
        .map(|e| EventRow {
            when: TimeView::new(now, e.created_at),
            actor: e.actor_text(&agencies),
            description: e.description(),
            target: e.target_label.clone().unwrap_or_default(),
            target_kind: kind_label(e.target_kind.as_deref().unwrap_or_default()),
            ip: e.ip.clone().unwrap_or_default(),
        })
        .collect();
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// How a target kind reads next to its name.
fn kind_label(kind: &str) -> String {
    match kind {
        "api_key" => "API key".to_owned(),
        other => other.replace('_', " "),
    }
}

async fn team_view(state: &AppState, team: &TeamCtx) -> Result<LogView, PageError> {
    let team_id = team.team_id();
    let agency = team.current.team.agency_id.clone();
    let actors = with_read(&state.pool, move |c| {
        let mut actors: Vec<(String, String)> = Team::members(c, &team_id)?
            .into_iter()
            .map(|m| (m.user_id.into(), m.name))
            .collect();
        if let Some(agency) = &agency {
            for o in Agency::operators(c, agency)? {
                if !actors.iter().any(|(id, _)| *id == o.user_id) {
                    actors.push((o.user_id.into(), o.name));
                }
            }
        }
        Ok(actors)
    })
    .await?;
    Ok(LogView {
        owner: Owner::Team(team.team_id()),
        log: LogOf::Team,
        base_url: urls::audit_log(team.slug()),
        export_base: format!("{}/export", urls::audit_log(team.slug())),
        actors,
        keys: true,
    })
}

/// Owners and admins of the team, and operators of its agency, may read its log.
fn require_reader(team: &TeamCtx) -> Result<(), PageError> {
    if team.current.role.can_edit_settings() {
        Ok(())
    } else {
        Err(PageError::Forbidden)
    }
}

/// GET the team's audit log.
pub async fn team_log(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    require_reader(&team)?;
    let view = team_view(&state, &team).await?;
    let ctx = PageCtx::new("Audit log", &user, &team, "audit-log");
    let lead = format!(
        "Every change to {}'s keys, members and settings, from the dashboard and the API. Kept for {} days.",
        team.current.team.name, team.current.team.audit_retention_days
    );
    render_log(&state, ctx, lead, view, &query, htmx).await
}

/// GET the team's audit log as `csv` or `ndjson`.
pub async fn team_export(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (slug, format) = path.into_inner();
    let format = Format::parse(&format).ok_or(PageError::NotFound)?;
    let team = TeamCtx::load(&state, &user, &slug).await?;
    require_reader(&team)?;
    let name = format!("audit-log-{slug}");
    export(&state, Owner::Team(team.team_id()), &query, format, &name).await
}

async fn agency_view(state: &AppState, agency: &AgencyCtx) -> Result<LogView, PageError> {
    let id = agency.agency.agency_id();
    let actors = with_read(&state.pool, move |c| {
        Ok(Agency::operators(c, &id)?
            .into_iter()
            .map(|o| (o.user_id.into(), o.name))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(LogView {
        owner: Owner::Agency(agency.agency.agency_id()),
        log: LogOf::Agency,
        base_url: urls::agency_audit_log(agency.slug()),
        export_base: format!("{}/export", urls::agency_audit_log(agency.slug())),
        actors,
        keys: false,
    })
}

/// GET the agency's own audit log.
pub async fn agency_log(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    let view = agency_view(&state, &agency).await?;
    let ctx = PageCtx::for_agency("Audit log", &user, &agency, "audit-log");
    let lead = format!(
        "Clients created, suspended and deleted, brand changes and operators of {}. Each client's own keys and members are in that client's audit log.",
        agency.agency.name
    );
    render_log(&state, ctx, lead, view, &query, htmx).await
}

/// GET the agency's audit log as `csv` or `ndjson`.
pub async fn agency_export(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (slug, format) = path.into_inner();
    let format = Format::parse(&format).ok_or(PageError::NotFound)?;
    let agency = AgencyCtx::load(&state, &user, &slug).await?;
    let name = format!("agency-audit-log-{slug}");
    let owner = Owner::Agency(agency.agency.agency_id());
    export(&state, owner, &query, format, &name).await
}

// ----- exports -----------------------------------------------------------------------------

/// An export's file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, one header row, injection-safe cells.
    Csv,
    /// One JSON object per line, as `GET /v1/audit-events` shows events.
    Ndjson,
}

impl Format {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "export.csv" => Some(Self::Csv),
            "export.ndjson" => Some(Self::Ndjson),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Ndjson => "application/x-ndjson",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Ndjson => "ndjson",
        }
    }
}

/// The CSV columns, in order.
const CSV_COLUMNS: [&str; 12] = [
    "id",
    "created_at",
    "action",
    "description",
    "actor_type",
    "actor_id",
    "actor_name",
    "target_type",
    "target_id",
    "target_name",
    "ip",
    "detail",
];

/// A cell a spreadsheet will not run as a formula: text starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP's CSV-injection advice).
pub fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

fn encode(
    format: Format,
    events: &[AuditEvent],
    agencies: &HashMap<String, String>,
    header: bool,
) -> Result<Bytes, AppError> {
    let mut out = Vec::with_capacity(events.len() * 256);
    match format {
        Format::Ndjson => {
            for e in events {
                serde_json::to_writer(&mut out, &e.to_json(agencies))
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                out.push(b'\n');
            }
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            let fail = |e: csv::Error| AppError::Internal(e.to_string());
            if header {
                w.write_record(CSV_COLUMNS).map_err(fail)?;
            }
            for e in events {
                let at = timefmt::iso(e.created_at);
                let actor_id = e
                    .actor_user_id
                    .as_deref()
                    .or(e.actor_key_id.as_deref())
                    .unwrap_or_default();
                let description = e.description();
                let actor = e.actor_text(agencies);
                let detail = e.detail.clone().unwrap_or_default();
                let cells = [
                    e.id.as_str(),
                    at.as_str(),
                    e.action.as_str(),
                    description.as_str(),
                    e.actor_kind.as_str(),
                    actor_id,
                    actor.as_str(),
                    e.target_kind.as_deref().unwrap_or_default(),
                    e.target_id.as_deref().unwrap_or_default(),
                    e.target_label.as_deref().unwrap_or_default(),
                    e.ip.as_deref().unwrap_or_default(),
                    detail.as_str(),
                ];
                w.write_record(cells.iter().map(|c| csv_safe(c).into_owned()))
                    .map_err(fail)?;
            }
            w.flush().map_err(|e| AppError::Internal(e.to_string()))?;
        }
    }
    Ok(Bytes::from(out))
}

type Chunk = (Bytes, Option<audit::Cursor>);

/// One export page: its bytes and the cursor of the next page (None at the end).
async fn export_chunk(
    state: &AppState,
    owner: Owner,
    filter: AuditFilter,
    format: Format,
    cursor: Option<audit::Cursor>,
) -> Result<Chunk, AppError> {
    let header = cursor.is_none();
    with_read(&state.pool, move |c| {
        let events = audit::page(c, &owner, &filter, cursor.as_ref(), EXPORT_PAGE)?;
        let agencies = audit::agency_names(c, &events)?;
        let next = (events.len() == usize::try_from(EXPORT_PAGE).unwrap_or(usize::MAX))
            .then(|| events.last().map(|e| (e.created_at, e.id.to_string())))
            .flatten();
        Ok((encode(format, &events, &agencies, header)?, next))
    })
    .await
}

/// Streams `owner`'s log, filtered by `query`, page by page. The first page is read before the
/// response starts, so a database outage is a clean 503 rather than a cut-off download.
async fn export(
    state: &AppState,
    owner: Owner,
    query: &HashMap<String, String>,
    format: Format,
    name: &str,
) -> Result<HttpResponse, PageError> {
    let filter = filter_input(query)
        .parse()
        .map_err(|_| PageError::BadRequest("Fix the filter on the audit log page first."))?;
    let (first, next) = export_chunk(state, owner.clone(), filter.clone(), format, None).await?;
    let today = crate::domain::inputs::utc_date(state.clock.now());
    let state = state.clone();
    let rest = futures_util::stream::unfold(next, move |cursor| {
        let (state, owner, filter) = (state.clone(), owner.clone(), filter.clone());
        async move {
            let cursor = cursor?;
            match export_chunk(&state, owner, filter, format, Some(cursor)).await {
                Ok((bytes, next)) => Some((Ok::<_, actix_web::Error>(bytes), next)),
                Err(e) => {
                    tracing::warn!(error = %e, "audit export cut short");
                    Some((Err(actix_web::error::ErrorServiceUnavailable(e)), None))
                }
            }
        }
    });
    let body =
        futures_util::stream::once(async move { Ok::<_, actix_web::Error>(first) }).chain(rest);
    let disposition = format!(
        "attachment; filename=\"{name}-{today}.{}\"",
        format.extension()
    );
    let mut res = HttpResponse::Ok()
        .content_type(format.content_type())
        .streaming(body);
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|_| PageError::internal("bad file name"))?,
    );
    Ok(res)
}

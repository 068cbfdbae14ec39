//! Webhooks: a team's endpoints (Team settings → Webhooks, owners and admins) and an agency's
//! (they receive every client's events; the agency's owners). One set of handlers serves both:
//! the route names `{team}` or `{agency}`, and [`OwnerCtx`] loads whichever it is. The
//! delivery log is `log.rs`. The signing
//! secret is shown once, on the page that answers the create or rotate POST (`no-store`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

pub mod guide;
mod log;

use self::log::LogQuery;
use super::error::PageError;
use super::form::FormData;
use super::htmx::{Htmx, no_store};
use super::layout::{PageCtx, back_to};
use super::owner_context::OwnerCtx;
use super::urls;
use crate::db::with_read;

use crate::domain::ids::{DeliveryId, WebhookEndpointId};
use crate::domain::limits;
use crate::domain::webhook::{
    Audience, EVENT_TYPES, SigningSecret, event_type_problems, parse_endpoint_url,
};
use crate::models::webhook::{Attempt, WebhookEndpoint};
use crate::ops::webhooks::{
    self as ops, EndpointEdit, EndpointSettings, ROTATION_OVERLAPS, Replay, WebhookError,
};
use crate::render;
use crate::state::AppState;
use crate::timefmt::TimeView;
use crate::web::current_user::SignedIn;

// ----- where the pages are --------------------------------------------------------------

/// What webhook pages need of the team or agency whose endpoints they are, beyond the shared
/// context: where the pages are and whose events its endpoints receive.
trait WebhookHost {
    fn audience(&self) -> Audience;
    /// The list's address; every other page is under it.
    fn base(&self) -> String;
    fn at(&self, endpoint: &str, action: &str) -> String;
    /// "this team" / "every client of Acme Agency" — whose events an endpoint receives.
    fn whose(&self) -> String;
}

impl WebhookHost for OwnerCtx {
    fn audience(&self) -> Audience {
        match self {
            Self::Team(_) => Audience::Team,
            Self::Agency(_) => Audience::Agency,
        }
    }

    fn base(&self) -> String {
        match self {
            Self::Team(t) => urls::webhooks_of_team(t.slug()),
            Self::Agency(a) => urls::agency_webhooks(a.slug()),
        }
    }

    fn at(&self, endpoint: &str, action: &str) -> String {
        if action.is_empty() {
            format!("{}/{endpoint}", self.base())
        } else {
            format!("{}/{endpoint}/{action}", self.base())
        }
    }

    fn whose(&self) -> String {
        match self {
            Self::Team(_) => "this team".into(),
            Self::Agency(a) => format!("every client of {}", a.agency.name),
        }
    }
}

/// The endpoint named in the URL, of `host`, or 404.
async fn load(
    state: &AppState,
    host: &OwnerCtx,
    req: &HttpRequest,
) -> Result<WebhookEndpoint, PageError> {
    let raw = req.match_info().get("endpoint").unwrap_or_default();
    let id = WebhookEndpointId::parse(raw).ok_or(PageError::NotFound)?;
    let owner = host.owner().id().to_owned();
    with_read(&state.pool, move |c| {
        Ok(WebhookEndpoint::of(c, &owner, id.as_str())?)
    })
    .await?
    .ok_or(PageError::NotFound)
}

/// The host and its endpoint named in the URL, for a user who may manage them.
async fn endpoint_of(
    state: &AppState,
    user: &SignedIn,
    req: &HttpRequest,
) -> Result<(OwnerCtx, WebhookEndpoint), PageError> {
    let host = OwnerCtx::load_managing(state, user, req).await?;
    let e = load(state, &host, req).await?;
    Ok((host, e))
}

// ----- view models ----------------------------------------------------------------------

/// One endpoint, as the list and its own page show it.
pub struct EndpointView {
    /// Id (test hooks).
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// Deliveries are made.
    pub enabled: bool,
    /// Why not.
    pub disabled_reason: Option<String>,
    /// "All events" or the chosen types.
    pub events: String,
    /// While a rotation's overlap lasts: until when the old secret signs too.
    pub overlap_until: Option<TimeView>,
    /// Its page (the delivery log).
    pub show_url: String,
    /// Edit form.
    pub edit_url: String,
    /// Delete confirmation.
    pub delete_url: String,
    /// Rotate form.
    pub rotate_url: String,
    /// Send test event (POST).
    pub test_url: String,
    /// Enable (POST).
    pub enable_url: String,
    /// Disable (POST).
    pub disable_url: String,
}

impl EndpointView {
    fn new(host: &OwnerCtx, e: &WebhookEndpoint, now: i64) -> Self {
        let events = if e.event_types == "*" {
            "All events".to_owned()
        } else {
            e.event_types.split(' ').collect::<Vec<_>>().join(", ")
        };
        Self {
            id: e.id.to_string(),
            url: e.url.clone(),
            description: e.description.clone(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.clone(),
            events,
            overlap_until: e
                .previous_until
                .filter(|until| *until > now)
                .map(|until| TimeView::new(now, until)),
            show_url: host.at(&e.id, ""),
            edit_url: host.at(&e.id, "edit"),
            delete_url: host.at(&e.id, "delete"),
            rotate_url: host.at(&e.id, "rotate"),
            test_url: host.at(&e.id, "test"),
            enable_url: host.at(&e.id, "enable"),
            disable_url: host.at(&e.id, "disable"),
        }
    }
}

/// An event type in the picker.
pub struct EventChoice {
    /// `api_key.created`.
    pub name: &'static str,
    /// One line.
    pub description: &'static str,
    /// Ticked.
    pub checked: bool,
}

/// Event types of one kind ("API keys").
pub struct EventGroup {
    /// Heading.
    pub label: &'static str,
    /// Its types.
    pub events: Vec<EventChoice>,
}

fn group_label(prefix: &str) -> &'static str {
    match prefix {
        "api_key" => "API keys",
        "member" => "Members",
        "integration" => "Integrations",
        "bot" => "Bots",
        "channel" => "Channels",
        "conversation" => "Conversations",
        "agent_loop" => "Agent loops",
        "client" => "Clients",
        _ => "Webhooks",
    }
}

/// The catalogue, grouped, as `audience` may subscribe to it, with `selected` ticked.
fn event_groups(audience: Audience, selected: &[String]) -> Vec<EventGroup> {
    let mut groups: Vec<EventGroup> = Vec::new();
    for e in EVENT_TYPES
        .iter()
        .filter(|e| audience == Audience::Agency || e.audience == Audience::Team)
    {
        let label = group_label(e.name.split('.').next().unwrap_or_default());
        let choice = EventChoice {
            name: e.name,
            description: e.description,
            checked: selected.iter().any(|s| s == e.name),
        };
        match groups.iter_mut().find(|g| g.label == label) {
            Some(g) => g.events.push(choice),
            None => groups.push(EventGroup {
                label,
                events: vec![choice],
            }),
        }
    }
    groups
}

/// Values and messages of the add/edit form.
#[derive(Default)]
pub struct EndpointForm {
    /// URL as typed.
    pub url: String,
    /// Description as typed.
    pub description: String,
    /// Every event (including types added later).
    pub all: bool,
    /// The ticked types otherwise.
    pub selected: Vec<String>,
    /// Field messages.
    pub errors: Vec<(&'static str, String)>,
}

impl EndpointForm {
    /// The message for `field`, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.error(field).is_none() {
            self.errors.push((field, message.into()));
        }
    }

    fn of(e: &WebhookEndpoint) -> Self {
        Self {
            url: e.url.clone(),
            description: e.description.clone(),
            all: e.event_types == "*",
            selected: if e.event_types == "*" {
                Vec::new()
            } else {
                e.event_types.split(' ').map(str::to_owned).collect()
            },
            errors: Vec::new(),
        }
    }

    /// Reads and checks the posted form: the settings when every field is fine.
    fn read(form: &FormData, audience: Audience) -> (Self, Option<EndpointSettings>) {
        let mut f = Self {
            url: form.get("url").trim().to_owned(),
            description: form.get("description").trim().to_owned(),
            all: form.get("events") != "selected",
            selected: form
                .all("event_types")
                .into_iter()
                .map(str::to_owned)
                .collect(),
            errors: Vec::new(),
        };
        let url = if f.url.is_empty() {
            f.add("url", "Enter the URL that receives the events.");
            None
        } else if f.url.len() > limits::URL_MAX {
            f.add(
                "url",
                format!("Use at most {} characters.", limits::URL_MAX),
            );
            None
        } else {
            parse_endpoint_url(&f.url).map_err(|m| f.add("url", m)).ok()
        };
        if f.description.chars().count() > limits::DESCRIPTION_MAX {
            f.add(
                "description",
                format!("Use at most {} characters.", limits::DESCRIPTION_MAX),
            );
        }
        if !f.all {
            if f.selected.is_empty() {
                f.add(
                    "event_types",
                    "Tick at least one event type, or choose All events.",
                );
            }
            if let Some(problem) = event_type_problems(&f.selected, audience)
                .into_iter()
                .next()
            {
                f.add("event_types", problem);
            }
        }
        let settings = match (url, f.errors.is_empty()) {
            (Some(url), true) => Some(EndpointSettings {
                url,
                description: f.description.clone(),
                event_types: if f.all {
                    Vec::new()
                } else {
                    f.selected.clone()
                },
            }),
            _ => None,
        };
        (f, settings)
    }
}

// ----- pages ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "webhooks/list.html", blocks = ["content"])]
struct ListPage {
    ctx: PageCtx,
    endpoints: Vec<(EndpointView, Option<String>)>,
    whose: String,
    agency: bool,
    new_url: String,
    guide_url: String,
}

#[derive(Template)]
#[template(path = "webhooks/form.html", blocks = ["content"])]
struct FormPage {
    ctx: PageCtx,
    form: EndpointForm,
    groups: Vec<EventGroup>,
    editing: bool,
    whose: String,
    action: String,
    cancel_url: String,
    list_url: String,
    guide_url: String,
}

#[derive(Template)]
#[template(path = "webhooks/secret.html", blocks = ["content"])]
struct SecretPage {
    ctx: PageCtx,
    endpoint: EndpointView,
    secret: String,
    rotated: bool,
    done_url: String,
}

#[derive(Template)]
#[template(path = "webhooks/show.html", blocks = ["content"])]
struct ShowPage {
    ctx: PageCtx,
    endpoint: EndpointView,
    success: Option<String>,
    deliveries: Vec<log::DeliveryView>,
    status: String,
    event: String,
    event_names: Vec<&'static str>,
    older_url: Option<String>,
    filtered: bool,
    replay_url: String,
    windows: Vec<(i64, &'static str)>,
    list_url: String,
}

#[derive(Template)]
#[template(path = "webhooks/rotate.html", blocks = ["content"])]
struct RotatePage {
    ctx: PageCtx,
    endpoint: EndpointView,
    error: Option<String>,
    action: String,
    cancel_url: String,
    list_url: String,
}

#[derive(Template)]
#[template(path = "webhooks/delete.html", blocks = ["content"])]
struct DeletePage {
    ctx: PageCtx,
    endpoint: EndpointView,
    action: String,
    cancel_url: String,
    list_url: String,
}

// ----- responses ------------------------------------------------------------------------

async fn list_response(
    state: &AppState,
    user: &SignedIn,
    host: &OwnerCtx,
    htmx: Htmx,
    flash: Option<String>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let owner = host.owner().id().to_owned();
    let since = now - 86_400;
    let rows = with_read(&state.pool, move |c| {
        let mut rows = Vec::new();
        for e in WebhookEndpoint::of_owner(c, &owner)? {
            let (ok, all) = Attempt::outcomes_since(c, &e.id, since)?;
            rows.push((e, ok, all));
        }
        Ok(rows)
    })
    .await?;
    let page = ListPage {
        ctx: host.page("Webhooks", user, "webhooks").with_flash(flash),
        endpoints: rows
            .iter()
            .map(|(e, ok, all)| {
                (
                    EndpointView::new(host, e, now),
                    log::success_text(*ok, *all),
                )
            })
            .collect(),
        whose: host.whose(),
        agency: matches!(host, OwnerCtx::Agency(_)),
        new_url: format!("{}/new", host.base()),
        guide_url: host.at("guide", ""),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

async fn show_response(
    state: &AppState,
    user: &SignedIn,
    host: &OwnerCtx,
    e: &WebhookEndpoint,
    query: &LogQuery,
    htmx: Htmx,
    flash: Option<String>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let show = host.at(&e.id, "");
    let log = log::load(state, e, query, &show, now).await?;
    let page = ShowPage {
        ctx: host.page(e.url.clone(), user, "webhooks").with_flash(flash),
        endpoint: EndpointView::new(host, e, now),
        success: log.success,
        deliveries: log.deliveries,
        filtered: log.filtered,
        status: log.status,
        event: log.event,
        event_names: EVENT_TYPES
            .iter()
            .filter(|t| host.audience() == Audience::Agency || t.audience == Audience::Team)
            .map(|t| t.name)
            .collect(),
        older_url: log.older_url,
        replay_url: host.at(&e.id, "replay"),
        windows: crate::domain::webhook::REPLAY_WINDOWS.to_vec(),
        list_url: host.base(),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// After a change: to `url` with `flash` (the list, or the endpoint's page).
async fn back(
    state: &AppState,
    user: &SignedIn,
    host: &OwnerCtx,
    htmx: Htmx,
    to: Option<&WebhookEndpoint>,
    flash: String,
) -> Result<HttpResponse, PageError> {
    let url = to.map_or_else(|| host.base(), |e| host.at(&e.id, ""));
    back_to(&user.session, htmx, url, flash, |flash| async move {
        match to {
            Some(e) => {
                show_response(
                    state,
                    user,
                    host,
                    e,
                    &LogQuery::default(),
                    htmx,
                    Some(flash),
                )
                .await
            }
            None => list_response(state, user, host, htmx, Some(flash)).await,
        }
    })
    .await
}

fn form_page(
    host: &OwnerCtx,
    user: &SignedIn,
    form: EndpointForm,
    editing: Option<&WebhookEndpoint>,
) -> FormPage {
    let groups = event_groups(host.audience(), &form.selected);
    let (title, action, cancel) = match editing {
        Some(e) => (
            format!("Edit {}", e.url),
            host.at(&e.id, ""),
            host.at(&e.id, ""),
        ),
        None => ("Add endpoint".to_owned(), host.base(), host.base()),
    };
    FormPage {
        ctx: host.page(title, user, "webhooks"),
        form,
        groups,
        editing: editing.is_some(),
        whose: host.whose(),
        action,
        cancel_url: cancel,
        list_url: host.base(),
        guide_url: host.at("guide", ""),
    }
}

fn secret_page(
    host: &OwnerCtx,
    user: &SignedIn,
    e: &WebhookEndpoint,
    secret: &SigningSecret,
    rotated: bool,
    now: i64,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let page = SecretPage {
        ctx: host.page(
            if rotated {
                "New signing secret"
            } else {
                "Endpoint added"
            },
            user,
            "webhooks",
        ),
        endpoint: EndpointView::new(host, e, now),
        secret: secret.expose().to_owned(),
        rotated,
        done_url: host.at(&e.id, ""),
    };
    Ok(no_store(render!(htmx, StatusCode::OK, page)?))
}

/// A refused change: field messages on the form (422), or the page's error.
fn refused(htmx: Htmx, mut page: FormPage, e: WebhookError) -> Result<HttpResponse, PageError> {
    match e {
        WebhookError::Invalid(fields) => {
            for (field, message) in fields {
                let field = match field.as_str() {
                    "description" => "description",
                    "event_types" => "event_types",
                    _ => "url",
                };
                page.form.add(field, message);
            }
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
        }
        WebhookError::NotFound => Err(PageError::NotFound),
        WebhookError::Failed(e) => Err(e.into()),
    }
}

fn failed(e: WebhookError) -> PageError {
    match e {
        WebhookError::NotFound | WebhookError::Invalid(_) => PageError::NotFound,
        WebhookError::Failed(e) => e.into(),
    }
}

// ----- handlers -------------------------------------------------------------------------

/// GET the endpoints.
pub async fn list(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let host = OwnerCtx::load_managing(&state, &user, &req).await?;
    list_response(&state, &user, &host, htmx, None).await
}

/// GET the add form.
pub async fn new_form(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let host = OwnerCtx::load_managing(&state, &user, &req).await?;
    let form = EndpointForm {
        all: true,
        ..EndpointForm::default()
    };
    Ok(render!(
        htmx,
        StatusCode::OK,
        form_page(&host, &user, form, None)
    )?)
}

/// POST create → 200 with the signing secret, shown once; 422 with messages.
pub async fn create(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let host = OwnerCtx::load_managing(&state, &user, &req).await?;
    let (f, settings) = EndpointForm::read(&form, host.audience());
    let Some(settings) = settings else {
        let page = form_page(&host, &user, f, None);
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let actor = host.actor(&state, &user, &req);
    match ops::create_endpoint(&state, &actor, &host.owner(), settings).await {
        Ok((e, secret)) => secret_page(&host, &user, &e, &secret, false, actor.at, htmx),
        Err(err) => refused(htmx, form_page(&host, &user, f, None), err),
    }
}

/// GET an endpoint: its state and its delivery log.
pub async fn show(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    query: web::Query<LogQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    show_response(&state, &user, &host, &e, &query, htmx, None).await
}

/// GET the edit form.
pub async fn edit_form(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let page = form_page(&host, &user, EndpointForm::of(&e), Some(&e));
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST the edit form.
pub async fn update(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let (f, settings) = EndpointForm::read(&form, host.audience());
    let Some(settings) = settings else {
        let page = form_page(&host, &user, f, Some(&e));
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let edit = EndpointEdit {
        url: Some(settings.url),
        description: Some(settings.description),
        event_types: Some(settings.event_types),
        enabled: None,
    };
    let actor = host.actor(&state, &user, &req);
    match ops::update_endpoint(&state, &actor, &host.owner(), &e.id, edit).await {
        Ok(saved) => {
            let flash = format!("Endpoint {} saved.", saved.url);
            back(&state, &user, &host, htmx, Some(&saved), flash).await
        }
        Err(err) => refused(htmx, form_page(&host, &user, f, Some(&e)), err),
    }
}

/// POST enable or disable (the `{action}` of the route).
pub async fn set_enabled(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let on = req.path().ends_with("/enable");
    let edit = EndpointEdit {
        enabled: Some(on),
        ..EndpointEdit::default()
    };
    let actor = host.actor(&state, &user, &req);
    let saved = ops::update_endpoint(&state, &actor, &host.owner(), &e.id, edit)
        .await
        .map_err(failed)?;
    let flash = if on {
        format!(
            "Endpoint {} enabled. Deliveries that were waiting are sent now.",
            saved.url
        )
    } else {
        format!(
            "Endpoint {} disabled. Events are not sent to it until you enable it again.",
            saved.url
        )
    };
    back(&state, &user, &host, htmx, Some(&saved), flash).await
}

/// GET the rotate form.
pub async fn rotate_form(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    Ok(render!(
        htmx,
        StatusCode::OK,
        rotate_page(&state, &host, &user, &e, None)
    )?)
}

fn rotate_page(
    state: &AppState,
    host: &OwnerCtx,
    user: &SignedIn,
    e: &WebhookEndpoint,
    error: Option<String>,
) -> RotatePage {
    RotatePage {
        ctx: host.page("Rotate signing secret", user, "webhooks"),
        endpoint: EndpointView::new(host, e, state.clock.now()),
        error,
        action: host.at(&e.id, "rotate"),
        cancel_url: host.at(&e.id, ""),
        list_url: host.base(),
    }
}

/// POST rotate → 200 with the new secret, shown once; 422 for an overlap not offered.
pub async fn rotate(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let overlap = form.get("overlap").parse::<i64>().ok();
    let Some(overlap) = overlap.filter(|o| ROTATION_OVERLAPS.contains(o)) else {
        let page = rotate_page(
            &state,
            &host,
            &user,
            &e,
            Some("Choose when the old secret stops signing: now, in 24 hours or in 7 days.".into()),
        );
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let actor = host.actor(&state, &user, &req);
    let (saved, secret) = ops::rotate_secret(&state, &actor, &host.owner(), &e.id, overlap)
        .await
        .map_err(failed)?;
    secret_page(&host, &user, &saved, &secret, true, actor.at, htmx)
}

/// POST send a test event.
pub async fn test(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let actor = host.actor(&state, &user, &req);
    let event = ops::send_test(&state, &actor, &host.owner(), &e.id)
        .await
        .map_err(failed)?;
    let flash = if e.enabled {
        format!("Test event {event} queued; it appears below once it is sent.")
    } else {
        format!("Test event {event} queued; it is sent when the endpoint is enabled again.")
    };
    back(&state, &user, &host, htmx, Some(&e), flash).await
}

/// POST replay one delivery.
pub async fn replay_one(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let delivery = req.match_info().get("delivery").unwrap_or_default();
    DeliveryId::parse(delivery).ok_or(PageError::NotFound)?;
    let actor = host.actor(&state, &user, &req);
    ops::replay(
        &state,
        &actor,
        &host.owner(),
        &e.id,
        Replay::One(delivery.to_owned()),
    )
    .await
    .map_err(failed)?;
    let flash = "Delivery queued again: it is sent with the same webhook-id and body.".to_owned();
    back(&state, &user, &host, htmx, Some(&e), flash).await
}

/// POST send every failed or still-retrying delivery of a recent window again, now.
pub async fn replay_failed(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let Some((window, label)) = form.get("window").parse::<i64>().ok().and_then(|w| {
        crate::domain::webhook::REPLAY_WINDOWS
            .iter()
            .find(|(s, _)| *s == w)
    }) else {
        let flash = "Choose how far back to retry failed and retrying deliveries.".to_owned();
        return back(&state, &user, &host, htmx, Some(&e), flash).await;
    };
    let actor = host.actor(&state, &user, &req);
    let n = ops::replay(
        &state,
        &actor,
        &host.owner(),
        &e.id,
        Replay::UndeliveredSince(actor.at - window),
    )
    .await
    .map_err(failed)?;
    let flash = match n {
        0 => format!("No failed or retrying deliveries in the last {label}."),
        1 => format!("1 failed or retrying delivery from the last {label} is sent again now."),
        n => format!("{n} failed or retrying deliveries from the last {label} are sent again now."),
    };
    back(&state, &user, &host, htmx, Some(&e), flash).await
}

/// GET the delete confirmation.
pub async fn delete_form(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let page = DeletePage {
        ctx: host.page(format!("Delete {}", e.url), &user, "webhooks"),
        endpoint: EndpointView::new(&host, &e, state.clock.now()),
        action: host.at(&e.id, "delete"),
        cancel_url: host.at(&e.id, ""),
        list_url: host.base(),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST delete.
pub async fn delete(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (host, e) = endpoint_of(&state, &user, &req).await?;
    let actor = host.actor(&state, &user, &req);
    ops::delete_endpoint(&state, &actor, &host.owner(), &e.id)
        .await
        .map_err(failed)?;
    let flash = format!(
        "Endpoint {} deleted. Its pending deliveries were dropped.",
        e.url
    );
    back(&state, &user, &host, htmx, None, flash).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_pickers_leave_out_agency_only_types() {
        let team: Vec<&str> = event_groups(Audience::Team, &[])
            .iter()
            .flat_map(|g| g.events.iter().map(|e| e.name))
            .collect();
        assert!(team.contains(&"api_key.created"));
        assert!(!team.contains(&"client.suspended"));
        let agency = event_groups(Audience::Agency, &["client.suspended".into()]);
        let clients = agency.iter().find(|g| g.label == "Clients").expect("group");
        assert!(
            clients
                .events
                .iter()
                .any(|e| e.name == "client.suspended" && e.checked)
        );
    }
}

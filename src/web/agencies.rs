//! The agency surface: the clients table with key hygiene, creating / suspending / deleting
//! clients, operators, and the white-label brand. Every URL names the agency (and the client),
//! so nothing depends on an ambient "current client".

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::mail::Sent;
use serde::Deserialize;

use super::agency_context::AgencyCtx;
use super::error::PageError;
use super::form::{FormData, UploadForm};
use super::htmx::Htmx;
use super::layout::{PageCtx, set_flash};
use super::reconfirm::{FormKind, reconfirm};
use super::urls;
use crate::db::with_read;
use crate::domain::brand::{HexColor, mentions_javascript_url, parse_host, sniff_logo};
use crate::domain::ids::UserId;
use crate::domain::inputs::{Email, Name};
use crate::domain::role::AgencyRole;
use crate::models::agency::{Agency, BrandSettings, Hygiene, Operator};
use crate::models::integration::Integration;
use crate::models::invitation::{Invitation, Target};
use crate::models::team::Team;
use crate::models::two_factor;
use crate::ops;
use crate::ops::agency::{BrandError, InviteOperatorError, LogoChange, RemoveOperatorError};
use crate::render;
use crate::state::AppState;
use crate::timefmt::TimeView;
use crate::web::current_user::SignedIn;

fn see_other(url: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.to_owned()))
        .finish()
}

// ----- clients -----------------------------------------------------------------------------

/// `?q=…&sort=…&dir=…` of the clients table.
#[derive(Deserialize, Default)]
pub struct ClientsQuery {
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

/// One client row.
pub struct ClientRow {
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Its key page.
    pub keys_url: String,
    /// Hygiene counts.
    pub h: Hygiene,
    /// Suspended.
    pub suspended: bool,
    /// Created.
    pub created: TimeView,
    /// Suspend or resume target.
    pub toggle_url: String,
    /// Delete confirmation page.
    pub delete_url: String,
    /// Its integrations.
    pub integrations: i64,
    /// Of which the last connection test failed.
    pub failing: i64,
    /// Of which the OAuth connection needs reconnecting.
    pub reconnect: i64,
    /// Its integrations page.
    pub integrations_url: String,
    /// Its key list filtered to each hygiene count: expiring, unused, old, admin.
    pub filtered_urls: [String; 4],
}

/// A sortable column header.
pub struct SortLink {
    /// Header text.
    pub label: &'static str,
    /// Link that sorts by this column (toggling direction when already sorted by it).
    pub url: String,
    /// `aria-sort` value.
    pub aria: &'static str,
    /// Short explanation (`title`).
    pub hint: &'static str,
}

#[derive(Template)]
#[template(path = "agencies/clients.html", blocks = ["content"])]
struct ClientsPage {
    ctx: PageCtx,
    rows: Vec<ClientRow>,
    total: usize,
    q: String,
    columns: Vec<SortLink>,
    create_url: String,
    name: String,
    name_error: Option<&'static str>,
    is_owner: bool,
}

const COLUMNS: [(&str, &str, &str); 8] = [
    ("name", "Client", "Client name"),
    ("active", "Active keys", "Keys that work now"),
    (
        "expiring",
        "Expiring ≤ 7 d",
        "Keys that expire within 7 days",
    ),
    (
        "unused",
        "Unused 30 d+",
        "Active keys without a request for 30 days or more",
    ),
    (
        "old",
        "Older than 90 d",
        "Active keys created more than 90 days ago",
    ),
    ("admin", "Admin scope", "Active keys with the admin scope"),
    (
        "integrations",
        "Integrations",
        "Connected systems, and how many failed their last connection test",
    ),
    ("status", "Status", "Active or suspended"),
];

async fn clients_page(
    state: &AppState,
    user: &SignedIn,
    agency: &AgencyCtx,
    query: &ClientsQuery,
    name: String,
    name_error: Option<&'static str>,
) -> Result<ClientsPage, PageError> {
    let now = state.clock.now();
    let id = agency.agency.agency_id();
    let (teams, hygiene, integrations) = with_read(&state.pool, move |c| {
        let teams = Agency::clients(c, &id)?;
        let ids: Vec<String> = teams.iter().map(|t| t.id.to_string()).collect();
        let integrations = Integration::counts_by_team(c, &ids)?;
        let team_ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        Ok((teams, Agency::hygiene(c, &team_ids, now)?, integrations))
    })
    .await?;
    let total = teams.len();
    let q = query.q.clone().unwrap_or_default().trim().to_owned();
    let needle = q.to_lowercase();
    let slug = agency.slug();
    let mut rows: Vec<ClientRow> = teams
        .into_iter()
        .filter(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle))
        .map(|t| {
            let (count, failing, reconnect) = integrations
                .iter()
                .find(|i| i.team == t.id)
                .map_or((0, 0, 0), |i| (i.total, i.failing, i.needs_reconnecting));
            ClientRow {
                integrations: count,
                failing,
                reconnect,
                integrations_url: urls::integrations(&t.slug),
                h: hygiene.get(t.id.as_str()).cloned().unwrap_or_default(),
                keys_url: urls::api_keys(&t.slug),
                filtered_urls: [
                    ("status", "expiring"),
                    ("hint", "unused"),
                    ("hint", "old"),
                    ("hint", "admin"),
                ]
                .map(|pair| urls::with_query(&urls::api_keys(&t.slug), [pair])),
                suspended: t.suspended_at.is_some(),
                created: TimeView::new(now, t.created_at),
                toggle_url: urls::agency_client_action(
                    slug,
                    &t.slug,
                    if t.suspended_at.is_some() {
                        "resume"
                    } else {
                        "suspend"
                    },
                ),
                delete_url: urls::agency_client_action(slug, &t.slug, "delete"),
                name: t.name,
                slug: t.slug,
            }
        })
        .collect();
    let sort = query
        .sort
        .as_deref()
        .filter(|s| COLUMNS.iter().any(|c| c.0 == *s))
        .unwrap_or("name");
    let desc = query.dir.as_deref() == Some("desc");
    rows.sort_by(|a, b| {
        let key = |r: &ClientRow| match sort {
            "active" => r.h.active,
            "expiring" => r.h.expiring_soon,
            "unused" => r.h.unused,
            "old" => r.h.old,
            "admin" => r.h.admin,
            "integrations" => r.integrations,
            "status" => i64::from(r.suspended),
            _ => 0,
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    if desc {
        rows.reverse();
    }
    let q_part = if q.is_empty() {
        String::new()
    } else {
        format!("&q={}", super::error::urlencode(&q))
    };
    let columns = COLUMNS
        .iter()
        .map(|(key, label, hint)| {
            let current = *key == sort;
            let next_dir = if current && !desc { "desc" } else { "asc" };
            SortLink {
                label,
                hint,
                url: format!("{}?sort={key}&dir={next_dir}{q_part}", urls::agency(slug)),
                aria: match (current, desc) {
                    (false, _) => "none",
                    (true, false) => "ascending",
                    (true, true) => "descending",
                },
            }
        })
        .collect();
    Ok(ClientsPage {
        ctx: PageCtx::for_agency("Clients", user, agency, "clients"),
        rows,
        total,
        q,
        columns,
        create_url: urls::agency_clients(slug),
        name,
        name_error,
        is_owner: agency.role == AgencyRole::Owner,
    })
}

/// GET the agency dashboard.
pub async fn clients(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    query: web::Query<ClientsQuery>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    let page = clients_page(&state, &user, &agency, &query, String::new(), None).await?;
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST a new client.
pub async fn create_client(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    let raw = form.get("name").to_owned();
    let name = match Name::parse(&raw) {
        Ok(n) => n,
        Err(m) => {
            let page = clients_page(
                &state,
                &user,
                &agency,
                &ClientsQuery::default(),
                raw,
                Some(m),
            )
            .await?;
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
    };
    let actor = agency.actor(&state, &user, &req);
    let team = ops::agency::create_client(&state, &actor, &agency.agency.agency_id(), name).await?;
    set_flash(
        &user.session,
        &format!(
            "Client “{}” created. Create its first key or invite its members.",
            team.name
        ),
    );
    Ok(see_other(&urls::agency(agency.slug())))
}

/// The client named in the URL, if it belongs to this agency; another agency's client is 404.
async fn client_of(state: &AppState, agency: &AgencyCtx, slug: &str) -> Result<Team, PageError> {
    let id = agency.agency.agency_id();
    let slug = slug.to_owned();
    with_read(&state.pool, move |c| {
        Ok(Agency::find_client(c, &id, &slug)?)
    })
    .await?
    .ok_or(PageError::NotFound)
}

/// POST suspend or resume a client: a suspended client's keys get 403 `ACCOUNT_SUSPENDED`
/// from the next request on.
pub async fn set_suspended(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String, String)>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (agency_slug, team_slug, action) = path.into_inner();
    let suspend = match action.as_str() {
        "suspend" => true,
        "resume" => false,
        _ => return Err(PageError::NotFound),
    };
    let agency = AgencyCtx::load(&state, &user, &agency_slug).await?;
    let team = client_of(&state, &agency, &team_slug).await?;
    let actor = agency.actor(&state, &user, &req);
    let id = agency.agency.agency_id();
    ops::agency::set_suspended(&state, &actor, &id, &team, suspend).await?;
    set_flash(
        &user.session,
        &if suspend {
            format!(
                "“{}” suspended. Its API keys are refused until you resume it.",
                team.name
            )
        } else {
            format!("“{}” resumed. Its API keys work again.", team.name)
        },
    );
    Ok(see_other(&urls::agency(agency.slug())))
}

#[derive(Template)]
#[template(path = "agencies/suspend_client.html", blocks = ["content"])]
struct SuspendClientPage {
    ctx: PageCtx,
    client: String,
    /// Keys that work now (what the suspension cuts off).
    keys: i64,
    action: String,
    cancel_url: String,
}

/// GET the suspend confirmation (resuming needs none: it takes nothing away).
pub async fn suspend_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (agency_slug, team_slug, action) = path.into_inner();
    if action != "suspend" {
        return Err(PageError::NotFound);
    }
    let agency = AgencyCtx::load(&state, &user, &agency_slug).await?;
    let team = client_of(&state, &agency, &team_slug).await?;
    let now = state.clock.now();
    let team_id = team.id.as_str().to_owned();
    let hygiene = with_read(&state.pool, move |c| {
        Ok(Agency::hygiene(c, &[&team_id], now)?)
    })
    .await?;
    let page = SuspendClientPage {
        ctx: PageCtx::for_agency(format!("Suspend {}", team.name), &user, &agency, "clients"),
        keys: hygiene.get(team.id.as_str()).map_or(0, |h| h.active),
        client: team.name.clone(),
        action: urls::agency_client_action(agency.slug(), &team.slug, "suspend"),
        cancel_url: urls::agency(agency.slug()),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

#[derive(Template)]
#[template(path = "agencies/delete_client.html", blocks = ["content"])]
struct DeleteClientPage {
    ctx: PageCtx,
    client: String,
    action: String,
    cancel_url: String,
    typed: String,
    error: Option<&'static str>,
}

fn delete_page(
    user: &SignedIn,
    agency: &AgencyCtx,
    team: &Team,
    typed: String,
    error: Option<&'static str>,
) -> DeleteClientPage {
    DeleteClientPage {
        ctx: PageCtx::for_agency(format!("Delete {}", team.name), user, agency, "clients"),
        client: team.name.clone(),
        action: urls::agency_client_action(agency.slug(), &team.slug, "delete"),
        cancel_url: urls::agency(agency.slug()),
        typed,
        error,
    }
}

/// GET the delete confirmation.
pub async fn delete_client_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (agency_slug, team_slug) = path.into_inner();
    let agency = AgencyCtx::load(&state, &user, &agency_slug).await?;
    agency.require_owner()?;
    let team = client_of(&state, &agency, &team_slug).await?;
    let page = delete_page(&user, &agency, &team, String::new(), None);
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST delete a client, confirmed by typing its name: its keys, members and data go with it.
pub async fn delete_client(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    mut form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (agency_slug, team_slug) = path.into_inner();
    let agency = AgencyCtx::load(&state, &user, &agency_slug).await?;
    agency.require_owner()?;
    let team = client_of(&state, &agency, &team_slug).await?;
    let typed = form.get("confirm").to_owned();
    if typed.trim() != team.name {
        let page = delete_page(
            &user,
            &agency,
            &team,
            typed,
            Some("Type the client's name exactly as shown to confirm."),
        );
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    }
    if let Some(ask) = reconfirm(&state, &user, &req, htmx, &mut form, FormKind::Urlencoded).await?
    {
        return Ok(ask);
    }
    let actor = agency.actor(&state, &user, &req);
    let id = agency.agency.agency_id();
    ops::agency::delete_client(&state, &actor, &id, &team).await?;
    set_flash(
        &user.session,
        &format!(
            "Client “{}” deleted with its keys, members and data.",
            team.name
        ),
    );
    Ok(see_other(&urls::agency(agency.slug())))
}

// ----- operators ---------------------------------------------------------------------------

/// One operator row.
pub struct OperatorRow {
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// `owner` / `operator`.
    pub role: &'static str,
    /// This is the viewer.
    pub is_self: bool,
    /// Signs in with a second factor.
    pub two_factor: bool,
    /// Removal target, when the viewer (an agency owner) may remove them.
    pub remove_url: Option<String>,
}

#[derive(Template)]
#[template(path = "agencies/operators.html", blocks = ["content"])]
struct OperatorsPage {
    ctx: PageCtx,
    operators: Vec<OperatorRow>,
    pending: Vec<(String, String, TimeView)>,
    is_owner: bool,
    invite_url: String,
    email: String,
    email_error: Option<&'static str>,
    new_invitation: Option<super::members::NewInvitation>,
    policy: super::members::PolicyPanel,
}

async fn operators_page(
    state: &AppState,
    user: &SignedIn,
    agency: &AgencyCtx,
    email: String,
    email_error: Option<&'static str>,
    new_invitation: Option<super::members::NewInvitation>,
) -> Result<OperatorsPage, PageError> {
    let now = state.clock.now();
    let id = agency.agency.agency_id();
    let (operators, pending, enrolled) = with_read(&state.pool, move |c| {
        let target = Target::Agency(id.clone());
        let operators = Agency::operators(c, &id)?;
        let ids: Vec<String> = operators.iter().map(|o| o.user_id.to_string()).collect();
        let enrolled = two_factor::with_second_factor_among(c, &ids)?;
        Ok((operators, Invitation::pending(c, &target, now)?, enrolled))
    })
    .await?;
    let is_owner = agency.role == AgencyRole::Owner;
    let policy = super::members::PolicyPanel {
        required: agency.agency.require_two_factor,
        can_change: is_owner,
        total: operators.len(),
        with: operators
            .iter()
            .filter(|o| enrolled.contains(o.user_id.as_str()))
            .count(),
        url: format!("/agencies/{}/operators/two-factor", agency.slug()),
        error: None,
    };
    let operators = operators
        .into_iter()
        .map(|o: Operator| {
            let is_self = o.user_id == user.user.id;
            OperatorRow {
                two_factor: enrolled.contains(o.user_id.as_str()),
                remove_url: (is_owner && !is_self)
                    .then(|| urls::agency_operator_remove(agency.slug(), &o.user_id)),
                name: o.name,
                email: o.email,
                role: o.role.as_str(),
                is_self,
            }
        })
        .collect();
    Ok(OperatorsPage {
        ctx: PageCtx::for_agency("Operators", user, agency, "operators"),
        operators,
        pending: pending
            .into_iter()
            .map(|i| (i.id.into(), i.email, TimeView::new(now, i.expires_at)))
            .collect(),
        is_owner,
        invite_url: urls::agency_operator_invitations(agency.slug()),
        email,
        email_error,
        new_invitation,
        policy,
    })
}

/// POST require (`required=true`) or stop requiring a second factor of the agency's operators,
/// in its pages and its clients' (agency owners; one without a second factor gets a 422).
pub async fn two_factor_policy(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    agency.require_owner()?;
    let required = super::members::PolicyPanel::required_field(&form)?;
    let actor = agency.actor(&state, &user, &req);
    let owner = crate::domain::audit::Owner::Agency(agency.agency.agency_id());
    let name = agency.agency.name.clone();
    match ops::two_factor::set_required(&state, &actor, &user.id(), owner, name, required).await {
        Ok(()) => {
            set_flash(
                &user.session,
                if required {
                    "Two-factor sign-in is now required of every operator, in the agency and its clients."
                } else {
                    "Two-factor sign-in is no longer required of operators."
                },
            );
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/agencies/{}/operators", agency.slug()),
                ))
                .finish())
        }
        Err(ops::two_factor::PolicyError::OwnSecondFactorFirst) => {
            let mut page =
                operators_page(&state, &user, &agency, String::new(), None, None).await?;
            page.policy.error = Some(super::members::OWN_SECOND_FACTOR_FIRST);
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
        }
        Err(ops::two_factor::PolicyError::Failed(e)) => Err(e.into()),
    }
}

/// GET the operators page.
pub async fn operators(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    let page = operators_page(&state, &user, &agency, String::new(), None, None).await?;
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST invite an operator (agency owners): a one-time link, shown once.
pub async fn invite_operator(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    agency.require_owner()?;
    let raw = form.get("email").trim().to_owned();
    let email = match Email::parse(&raw) {
        Ok(e) => e,
        Err(m) => {
            let page = operators_page(&state, &user, &agency, raw, Some(m), None).await?;
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
    };
    let actor = agency.actor(&state, &user, &req);
    let id = agency.agency.agency_id();
    let base = urls::public_base(&state.config.public_url, agency.brand.host.as_deref());
    let invited =
        match ops::agency::invite_operator(&state, &actor, &id, email.clone(), &base).await {
            Ok(invited) => invited,
            Err(InviteOperatorError::AlreadyOperator) => {
                let page = operators_page(
                    &state,
                    &user,
                    &agency,
                    raw,
                    Some("This person already operates the agency."),
                    None,
                )
                .await?;
                return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
            }
            Err(InviteOperatorError::Failed(e)) => return Err(e.into()),
        };
    let new = super::members::NewInvitation::new(invited, email.as_str());
    let page = operators_page(&state, &user, &agency, String::new(), None, Some(new)).await?;
    Ok(super::htmx::no_store(render!(htmx, StatusCode::OK, page)?))
}

/// POST remove an operator (agency owners; not themselves).
pub async fn remove_operator(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (slug, raw) = path.into_inner();
    let agency = AgencyCtx::load(&state, &user, &slug).await?;
    agency.require_owner()?;
    let target = UserId::parse(&raw).ok_or(PageError::NotFound)?;
    if target == user.id() {
        return Err(PageError::Forbidden);
    }
    let id = agency.agency.agency_id();
    let actor = agency.actor(&state, &user, &req);
    match ops::agency::remove_operator(&state, &actor, &id, &target).await {
        Ok(()) => {}
        Err(RemoveOperatorError::NotOperator) => return Err(PageError::NotFound),
        Err(RemoveOperatorError::Failed(e)) => return Err(e.into()),
    }
    set_flash(
        &user.session,
        "Operator removed. Their next request to any client is refused.",
    );
    Ok(see_other(&urls::agency_operators(&slug)))
}

// ----- brand -------------------------------------------------------------------------------

/// An optional field: empty is `None`, anything else must parse.
fn optional<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Result<Option<T>, &'static str> {
    if raw.is_empty() {
        Ok(None)
    } else {
        parse(raw).map(Some)
    }
}

/// Values and messages of the brand form.
#[derive(Default)]
pub struct BrandForm {
    /// Product name.
    pub product_name: String,
    /// Message.
    pub product_name_error: Option<&'static str>,
    /// `#rrggbb`.
    pub primary_color: String,
    /// Message.
    pub primary_color_error: Option<&'static str>,
    /// Support address.
    pub support_email: String,
    /// Message.
    pub support_email_error: Option<&'static str>,
    /// One host per line.
    pub hosts: String,
    /// Message.
    pub hosts_error: Option<String>,
    /// Opt-in.
    pub powered_by: bool,
    /// Message.
    pub logo_error: Option<&'static str>,
}

impl BrandForm {
    /// Reads and checks the brand form (and logo upload): the values as typed with a message
    /// per wrong field, and what to save when every field is right. `own_host` is this
    /// server's own host name, which no agency may claim.
    fn read(
        upload: &UploadForm,
        own_host: Option<&str>,
    ) -> (Self, Option<(BrandSettings, LogoChange)>) {
        let fields = &upload.fields;
        let mut f = BrandForm {
            product_name: fields.get("product_name").trim().to_owned(),
            primary_color: fields.get("primary_color").trim().to_owned(),
            support_email: fields.get("support_email").trim().to_owned(),
            hosts: fields.get("hosts").to_owned(),
            powered_by: fields.get("powered_by") == "on",
            ..BrandForm::default()
        };
        let product_name = optional(&f.product_name, |raw| {
            if mentions_javascript_url(raw) {
                return Err("The product name cannot contain a javascript: URL.");
            }
            Name::parse(raw).map(|n| n.as_str().to_owned())
        })
        .map_err(|m| f.product_name_error = Some(m));
        let color = optional(&f.primary_color, |raw| {
            HexColor::parse(raw).map(|c| c.css())
        })
        .map_err(|m| f.primary_color_error = Some(m));
        let support = optional(&f.support_email, |raw| {
            if mentions_javascript_url(raw) {
                return Err("Enter an e-mail address, not a URL.");
            }
            Email::parse(raw).map(|e| e.as_str().to_owned())
        })
        .map_err(|m| f.support_email_error = Some(m));
        let mut hosts = vec![];
        for line in f
            .hosts
            .split(['\n', ',', ' '])
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            match parse_host(line) {
                Ok(h) if own_host == Some(h.as_str()) => {
                    f.hosts_error = Some(format!("{h} is this server's own address."));
                }
                Ok(h) => {
                    if !hosts.contains(&h) {
                        hosts.push(h);
                    }
                }
                Err(m) => f.hosts_error = Some(format!("{line}: {m}")),
            }
        }
        if hosts.len() > 10 {
            f.hosts_error = Some("Use at most 10 host names.".to_owned());
        }
        let logo = match &upload.file {
            Some(bytes) => match sniff_logo(bytes) {
                Ok(kind) => LogoChange::Set(bytes.clone(), kind.to_owned()),
                Err(m) => {
                    f.logo_error = Some(m);
                    LogoChange::Keep
                }
            },
            None if fields.get("remove_logo") == "on" => LogoChange::Remove,
            None => LogoChange::Keep,
        };
        let saved = match (product_name, color, support) {
            (Ok(product_name), Ok(primary_color), Ok(support_email)) if !f.has_errors() => {
                let settings = BrandSettings {
                    product_name,
                    primary_color,
                    support_email,
                    powered_by: f.powered_by,
                    hosts,
                };
                Some((settings, logo))
            }
            _ => None,
        };
        (f, saved)
    }

    fn has_errors(&self) -> bool {
        self.product_name_error.is_some()
            || self.primary_color_error.is_some()
            || self.support_email_error.is_some()
            || self.hosts_error.is_some()
            || self.logo_error.is_some()
    }
}

#[derive(Template)]
#[template(path = "agencies/brand.html", blocks = ["content"])]
struct BrandPage {
    ctx: PageCtx,
    form: BrandForm,
    is_owner: bool,
    action: String,
    logo_url: Option<String>,
    agency_name: String,
}

fn brand_page(user: &SignedIn, agency: &AgencyCtx, form: BrandForm) -> BrandPage {
    BrandPage {
        ctx: PageCtx::for_agency("Brand", user, agency, "brand"),
        form,
        is_owner: agency.role == AgencyRole::Owner,
        action: urls::agency_brand(agency.slug()),
        logo_url: agency.agency.logo_type.as_ref().map(|_| {
            format!(
                "/brand/{}/logo?v={}",
                agency.agency.id, agency.agency.brand_version
            )
        }),
        agency_name: agency.agency.name.clone(),
    }
}

/// GET the brand form.
pub async fn brand(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    let a = &agency.agency;
    let id = a.agency_id();
    let hosts = with_read(&state.pool, move |c| Ok(Agency::hosts(c, &id)?)).await?;
    let form = BrandForm {
        product_name: a.product_name.clone().unwrap_or_default(),
        primary_color: a.primary_color.clone().unwrap_or_default(),
        support_email: a.support_email.clone().unwrap_or_default(),
        hosts: hosts.join("\n"),
        powered_by: a.powered_by,
        ..BrandForm::default()
    };
    let page = brand_page(&user, &agency, form);
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST the brand (multipart: the logo is a file). Every field is checked; any error → 422
/// with the form and nothing saved.
pub async fn save_brand(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    mut upload: UploadForm,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let agency = AgencyCtx::load(&state, &user, &path).await?;
    agency.require_owner()?;
    let own_host = urls::public_host(&state.config.public_url);
    let (mut f, saved) = BrandForm::read(&upload, own_host.as_deref());
    let Some((settings, logo)) = saved else {
        let page = brand_page(&user, &agency, f);
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    // Host names decide which addresses wear the brand and where its sessions live: changing
    // them is confirmed like the other most dangerous actions.
    let id = agency.agency.agency_id();
    let mut before = with_read(&state.pool, move |c| Ok(Agency::hosts(c, &id)?)).await?;
    let mut after = settings.hosts.clone();
    before.sort();
    after.sort();
    if before != after {
        let sent = FormKind::Multipart(upload.file.is_some());
        if let Some(ask) = reconfirm(&state, &user, &req, htmx, &mut upload.fields, sent).await? {
            return Ok(ask);
        }
    }
    let actor = agency.actor(&state, &user, &req);
    match ops::agency::save_brand(&state, &actor, &agency.agency, settings, logo).await {
        Ok(()) => {}
        Err(BrandError::HostClaimed(host)) => {
            f.hosts_error = Some(format!("{host} is already used by another agency."));
            let page = brand_page(&user, &agency, f);
            return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
        }
        Err(BrandError::Failed(e)) => return Err(e.into()),
    }
    set_flash(&user.session, "Brand saved.");
    Ok(see_other(&urls::agency_brand(agency.slug())))
}

//! What every dashboard page's frame needs: brand, user, switcher, navigation, breadcrumbs,
//! CSRF token, flash. Team pages and agency pages build it from their contexts.

use actix_session::Session;

use super::agency_context::AgencyCtx;
use super::brand::Brand;
use super::memberships::Memberships;
use super::team_context::TeamCtx;
use super::urls;
use crate::auth::csrf;
use crate::domain::ids::{AgencyId, TeamId};
use crate::web::current_user::SignedIn;

const FLASH: &str = "flash";

/// A link in the switcher or the sidebar.
pub struct NavLink {
    /// Visible text.
    pub label: String,
    /// Target.
    pub url: String,
    /// This is where the user is.
    pub current: bool,
    /// `data-testid`.
    pub testid: String,
}

/// The switcher's list of an agency's clients, on the agency's pages and its clients'.
pub struct ClientSwitch {
    /// "Clients of Acme Agency".
    pub heading: String,
    /// The first clients by name; the one being viewed is current.
    pub links: Vec<NavLink>,
    /// "All 412 clients" on the agency dashboard, when not all are listed.
    pub more: Option<NavLink>,
}

fn client_switch(memberships: &Memberships, current_slug: Option<&str>) -> Option<ClientSwitch> {
    let clients = memberships.clients.as_ref()?;
    let links = clients
        .first
        .iter()
        .map(|(slug, name)| {
            link(
                name,
                urls::api_keys(slug),
                Some(slug.as_str()) == current_slug,
                "switch-client",
            )
        })
        .collect::<Vec<_>>();
    let listed = i64::try_from(links.len()).unwrap_or(i64::MAX);
    Some(ClientSwitch {
        heading: format!("Clients of {}", clients.agency.name),
        more: (clients.total > listed).then(|| {
            link(
                &format!("All {} clients", clients.total),
                urls::agency(&clients.agency.slug),
                false,
                "switch-all-clients",
            )
        }),
        links,
    })
}

/// One step of the breadcrumb (*Agency › Client › API keys*).
pub struct Crumb {
    /// Visible text.
    pub label: String,
    /// Target; `None` for the last step.
    pub url: Option<String>,
}

/// The layout context.
pub struct PageCtx {
    /// `<title>` and `<h1>`.
    pub title: String,
    /// The brand the page wears.
    pub brand: Brand,
    /// Signed-in user's name.
    pub user_name: String,
    /// Signed-in user's e-mail.
    pub user_email: String,
    /// CSRF token for forms and `hx-headers`.
    pub csrf: String,
    /// "Team", "Client" or "Agency".
    pub switcher_label: &'static str,
    /// The team or agency being viewed.
    pub switcher_name: String,
    /// The agency above a client's name, for operators.
    pub switcher_agency: Option<String>,
    /// Teams and agencies to switch to.
    pub switch_to: Vec<NavLink>,
    /// For an agency's operators: its clients to switch between (see [`ClientSwitch`]).
    pub clients: Option<ClientSwitch>,
    /// Sidebar sections.
    pub nav: Vec<NavLink>,
    /// Breadcrumb (empty for a plain team).
    pub crumbs: Vec<Crumb>,
    /// What the user is here ("owner", "operator of Acme Agency"…).
    pub role: String,
    /// Shown on every page of a suspended client.
    pub suspended: bool,
    /// The current team's name (page titles); the agency's on agency pages.
    pub team_name: String,
    /// One-time confirmation message.
    pub flash: Option<String>,
}

fn link(label: &str, url: String, current: bool, testid: &str) -> NavLink {
    NavLink {
        label: label.to_owned(),
        url,
        current,
        testid: testid.to_owned(),
    }
}

/// The switcher's entries: the reader's teams, then agencies; the one being viewed is current.
fn switch_to(
    memberships: &Memberships,
    team: Option<&TeamId>,
    agency: Option<&AgencyId>,
) -> Vec<NavLink> {
    let teams = memberships.teams.iter().map(|t| {
        link(
            &t.team.name,
            urls::api_keys(&t.team.slug),
            Some(&t.team.id) == team,
            "switch-team",
        )
    });
    let agencies = memberships.agencies.iter().map(|a| {
        link(
            &a.name,
            urls::agency(&a.slug),
            Some(&a.id) == agency,
            "switch-agency",
        )
    });
    teams.chain(agencies).collect()
}

impl PageCtx {
    /// What every frame has: the reader, their switcher, the brand, the flash. The
    /// constructors fill in whose page it is (sidebar, breadcrumb, role…) over it.
    fn frame(title: String, user: &SignedIn, brand: Brand, switch_to: Vec<NavLink>) -> Self {
        Self {
            title,
            brand,
            user_name: user.user.name.clone(),
            user_email: user.user.email.clone(),
            csrf: csrf::token(&user.session),
            switcher_label: "",
            switcher_name: String::new(),
            switcher_agency: None,
            switch_to,
            clients: None,
            nav: vec![],
            crumbs: vec![],
            role: String::new(),
            suspended: false,
            team_name: String::new(),
            flash: take_flash(&user.session),
        }
    }

    /// The frame for a page of the team in `team`; `section` highlights the sidebar entry.
    pub fn new(
        title: impl Into<String>,
        user: &SignedIn,
        team: &TeamCtx,
        section: &'static str,
    ) -> Self {
        let current = &team.current;
        let slug = &current.team.slug;
        let mut nav = vec![
            link(
                "API keys",
                urls::api_keys(slug),
                section == "api-keys",
                "nav-api-keys",
            ),
            link(
                "Members",
                urls::members(slug),
                section == "members",
                "nav-members",
            ),
            link(
                "Integrations",
                urls::integrations(slug),
                section == "integrations",
                "nav-integrations",
            ),
            link(
                "API reference",
                urls::api_reference(slug),
                section == "api-reference",
                "nav-api-reference",
            ),
            link(
                "Settings",
                urls::team_settings(slug),
                section == "settings",
                "nav-settings",
            ),
        ];
        // Owners, admins and operators read the audit log; others are not offered it.
        if current.role.can_edit_settings() {
            nav.insert(
                2,
                link(
                    "Audit log",
                    urls::audit_log(slug),
                    section == "audit-log",
                    "nav-audit-log",
                ),
            );
            nav.insert(
                3,
                link(
                    "Webhooks",
                    urls::webhooks_of_team(slug),
                    section == "webhooks",
                    "nav-webhooks",
                ),
            );
        }
        let operating = current.agency.as_ref().filter(|_| current.via_agency);
        let crumbs = match operating {
            Some(agency) => vec![
                Crumb {
                    label: agency.name.clone(),
                    url: Some(urls::agency(&agency.slug)),
                },
                Crumb {
                    label: current.team.name.clone(),
                    url: Some(urls::api_keys(slug)),
                },
                Crumb {
                    label: title_of(section).to_owned(),
                    url: None,
                },
            ],
            None => vec![],
        };
        let switch_to = switch_to(&team.memberships, Some(&current.team.id), None);
        Self {
            switcher_label: if current.agency.is_some() {
                "Client"
            } else {
                "Team"
            },
            switcher_name: current.team.name.clone(),
            switcher_agency: operating.map(|a| a.name.clone()),
            nav,
            crumbs,
            role: match operating {
                Some(a) => format!("operator of {}", a.name),
                None => current.role.as_str().to_owned(),
            },
            suspended: current.team.suspended_at.is_some(),
            team_name: current.team.name.clone(),
            clients: client_switch(&team.memberships, Some(slug)),
            ..Self::frame(title.into(), user, team.brand.clone(), switch_to)
        }
    }

    /// The frame for an agency page.
    pub fn for_agency(
        title: impl Into<String>,
        user: &SignedIn,
        agency: &AgencyCtx,
        section: &'static str,
    ) -> Self {
        let slug = &agency.agency.slug;
        let mut nav = vec![
            link(
                "Clients",
                urls::agency(slug),
                section == "clients",
                "nav-clients",
            ),
            link(
                "Operators",
                urls::agency_operators(slug),
                section == "operators",
                "nav-operators",
            ),
            link(
                "Brand",
                urls::agency_brand(slug),
                section == "brand",
                "nav-brand",
            ),
            link(
                "Audit log",
                urls::agency_audit_log(slug),
                section == "audit-log",
                "nav-audit-log",
            ),
        ];
        // Agency endpoints receive every client's events: the agency's owners manage them.
        if agency.role == crate::domain::role::AgencyRole::Owner {
            nav.push(link(
                "Webhooks",
                urls::agency_webhooks(slug),
                section == "webhooks",
                "nav-webhooks",
            ));
        }
        let switch_to = switch_to(&agency.memberships, None, Some(&agency.agency.id));
        Self {
            switcher_label: "Agency",
            switcher_name: agency.agency.name.clone(),
            nav,
            role: format!("agency {}", agency.role.as_str()),
            team_name: agency.agency.name.clone(),
            clients: client_switch(&agency.memberships, None),
            ..Self::frame(title.into(), user, agency.brand.clone(), switch_to)
        }
    }

    /// The frame for the signed-in user's own pages ("Your account"): no team is current; the
    /// switcher lists their teams and agencies.
    pub fn for_account(
        title: impl Into<String>,
        user: &SignedIn,
        brand: Brand,
        memberships: &Memberships,
    ) -> Self {
        let switch_to = switch_to(memberships, None, None);
        Self {
            switcher_label: "Account",
            switcher_name: user.user.name.clone(),
            nav: vec![link(
                "Your account",
                urls::ACCOUNT.to_owned(),
                true,
                "nav-account",
            )],
            team_name: user.user.name.clone(),
            ..Self::frame(title.into(), user, brand, switch_to)
        }
    }

    /// Sets the message shown at the top of the content.
    pub fn with_flash(mut self, flash: Option<String>) -> Self {
        if flash.is_some() {
            self.flash = flash;
        }
        self
    }
}

fn title_of(section: &str) -> &'static str {
    match section {
        "api-keys" => "API keys",
        "members" => "Members",
        "api-reference" => "API reference",
        "audit-log" => "Audit log",
        "integrations" => "Integrations",
        "webhooks" => "Webhooks",
        _ => "Settings",
    }
}

/// Stores a message for the next page (Post/Redirect/Get).
pub fn set_flash(session: &Session, message: &str) {
    let _ = session.insert(FLASH, message);
}

fn take_flash(session: &Session) -> Option<String> {
    session.remove_as::<String>(FLASH).and_then(Result::ok)
}

/// After a successful change: 303 to `url` with `flash` kept for the next page (no JS), or —
/// for htmx — the page `render`ed with the flash, and `HX-Push-Url: url` so the address bar
/// shows where the user is.
pub async fn back_to<F, Fut>(
    session: &Session,
    htmx: super::htmx::Htmx,
    url: String,
    flash: String,
    render: F,
) -> Result<actix_web::HttpResponse, super::error::PageError>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<actix_web::HttpResponse, super::error::PageError>>,
{
    use actix_web::http::header;
    if !htmx.fragment {
        set_flash(session, &flash);
        return Ok(actix_web::HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url))
            .finish());
    }
    let mut res = render(flash).await?;
    res.headers_mut().insert(
        header::HeaderName::from_static("hx-push-url"),
        header::HeaderValue::from_str(&url)
            .map_err(|_| super::error::PageError::internal("bad url"))?,
    );
    Ok(res)
}

/// The frame of a page about the signed-in account itself ("Your account" and the pages under
/// it): the switcher's entries and the host's brand.
pub async fn account_frame(
    state: &crate::state::AppState,
    user: &SignedIn,
    title: &str,
) -> Result<PageCtx, super::error::PageError> {
    let uid = user.id();
    let memberships =
        crate::db::with_read(&state.pool, move |c| Ok(Memberships::load(c, &uid)?)).await?;
    let brand = Brand::of_host(state, user.host.clone()).await;
    Ok(PageCtx::for_account(title, user, brand, &memberships))
}

/// Back to "Your account" with `flash`.
pub(super) fn back_to_account(user: &SignedIn, flash: &str) -> actix_web::HttpResponse {
    set_flash(&user.session, flash);
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, super::urls::ACCOUNT))
        .finish()
}

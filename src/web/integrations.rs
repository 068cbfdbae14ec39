//! Team settings → Integrations: the team's connections to third-party APIs. Owners and admins
//! manage every integration, developers add them and manage the ones they created, viewers
//! read. A credential is write-only: after it is saved the page shows who set it, when, and its
//! fingerprint — never the value, not even when the form comes back with a message.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::integration_access::{managed, may_manage};
use super::layout::{PageCtx, back_to};
use super::oauth_consent;
use super::team_context::TeamCtx;
use super::urls;
use crate::db::with_read;
use crate::domain::api_key_secret::KeyMode;
use crate::domain::integration::oauth::{self, GrantType, Settings, SettingsInput, Status};
use crate::domain::integration::{
    Credential, CredentialField, Draft, DraftInput, Placement, Problems, Provider, Region,
};
use crate::domain::tenant::Tenant;
use crate::models::integration::Integration;
use crate::models::oauth_connection::OAuthConnection;
use crate::ops::integrations::{self as ops, Edit, IntegrationError};
use crate::render;
use crate::state::AppState;
use crate::timefmt::TimeView;
use crate::web::current_user::SignedIn;

// ----- view models -------------------------------------------------------------------------

/// "Set 3 days ago by Ada · fingerprint 3f9a1c2e".
pub struct CredentialView {
    /// When it was set.
    pub set: TimeView,
    /// By whom.
    pub by: String,
    /// Its fingerprint.
    pub fingerprint: String,
}

/// The last connection test.
pub struct TestView {
    /// `ok`, `failed` or `none` (the status dot).
    pub state: &'static str,
    /// "200 OK · 84 ms", "401 · 31 ms", "Could not connect", "Not tested yet".
    pub text: String,
    /// When.
    pub at: Option<TimeView>,
    /// The scrubbed excerpt of the answer, or why it failed.
    pub summary: Option<String>,
}

/// One row of the integrations table.
pub struct IntegrationRow {
    /// Id (test hooks).
    pub id: String,
    /// Name.
    pub name: String,
    /// "Shopify".
    pub provider: &'static str,
    /// `live` / `test`.
    pub mode: String,
    /// Base URL.
    pub base_url: String,
    /// "Header X-Shopify-Access-Token".
    pub placement: String,
    /// The credential, if one is set.
    pub credential: Option<CredentialView>,
    /// Last call through it.
    pub last_used: Option<TimeView>,
    /// "1,240 calls in 24 h" (none when there were none).
    pub calls: Option<String>,
    /// Last connection test.
    pub test: TestView,
    /// The viewer may test, edit and delete it.
    pub manageable: bool,
    /// Edit page.
    pub edit_url: String,
    /// Delete page.
    pub delete_url: String,
    /// Test action.
    pub test_url: String,
    /// Its OAuth connection, if it connects with OAuth.
    pub oauth: Option<OAuthView>,
}

/// An OAuth connection on the integrations page: where it stands, and Connect when a person
/// must consent (never a token).
pub struct OAuthView {
    /// `connected`, `pending`, `needs_reconnecting` (the status style).
    pub state: &'static str,
    /// "Connected", "Not connected yet", "Needs reconnecting".
    pub text: &'static str,
    /// When its access token was last renewed.
    pub renewed: Option<TimeView>,
    /// The provider's refusal, when it needs reconnecting.
    pub reason: Option<String>,
    /// "Connect" / "Reconnect" (authorization-code connections that need a person).
    pub connect: Option<&'static str>,
    /// Whether a call can get a token now (not while it waits for a consent).
    pub usable: bool,
    /// The Connect action.
    pub connect_url: String,
    /// Who consented, when the provider said ("Connected as …").
    pub account: Option<String>,
    /// "Scopes: …" as the provider granted them, else "Asks for: …" (empty: none asked).
    pub scopes: String,
    /// A person consented and may take it back (Disconnect).
    pub disconnectable: bool,
    /// The Disconnect page.
    pub disconnect_url: String,
}

impl OAuthView {
    fn new(slug: &str, id: &str, c: &OAuthConnection, now: i64) -> Self {
        let status = c.status();
        let consent = c.grant() == GrantType::AuthorizationCode;
        let text = match status {
            Status::Connected => "Connected",
            Status::Pending => "Not connected",
            Status::NeedsReconnecting => "Needs reconnecting",
        };
        Self {
            state: status.slug(),
            text,
            // Pending: whatever tokens there were are forgotten.
            renewed: c
                .refreshed_at
                .filter(|_| status != Status::Pending)
                .map(|at| TimeView::new(now, at)),
            reason: c
                .status_reason
                .clone()
                .filter(|_| status == Status::NeedsReconnecting),
            connect: match status {
                Status::Pending if consent => Some("Connect"),
                Status::NeedsReconnecting if consent => Some("Reconnect"),
                _ => None,
            },
            connect_url: urls::integration_action(slug, id, "connect"),
            usable: status != Status::Pending,
            account: c.account.clone().filter(|_| status == Status::Connected),
            scopes: match c.granted_scopes.as_deref().filter(|s| !s.trim().is_empty()) {
                Some(granted) if status != Status::Pending => {
                    format!("Scopes: {}", short_scopes(granted))
                }
                _ if c.scopes.trim().is_empty() => String::new(),
                _ => format!("Asks for: {}", short_scopes(&c.scopes)),
            },
            disconnectable: c.disconnectable(),
            disconnect_url: urls::integration_action(slug, id, "disconnect"),
        }
    }
}

/// Scopes as people read them: Google's are URLs under one prefix, shown without it
/// (`https://www.googleapis.com/auth/calendar.events` → `calendar.events`).
fn short_scopes(scopes: &str) -> String {
    scopes
        .split_whitespace()
        .map(|s| {
            s.strip_prefix("https://www.googleapis.com/auth/")
                .unwrap_or(s)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "1 call in 24 h", "12,480 calls in 24 h".
fn calls_text(n: i64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{grouped} call{} in 24 h", if n == 1 { "" } else { "s" })
}

fn credential_view(i: &Integration, now: i64) -> Option<CredentialView> {
    i.credential.as_ref()?;
    Some(CredentialView {
        set: TimeView::new(now, i.credential_updated_at.unwrap_or(i.created_at)),
        by: i
            .credential_updated_by
            .clone()
            .unwrap_or_else(|| "someone".into()),
        fingerprint: i.credential_fingerprint.clone().unwrap_or_default(),
    })
}

fn test_view(i: &Integration, now: i64) -> TestView {
    let Some(at) = i.test_at else {
        return TestView {
            state: "none",
            text: "Not tested yet".into(),
            at: None,
            summary: None,
        };
    };
    let ok = i.test_ok == Some(true);
    let text = match (i.test_status, i.test_latency_ms) {
        (Some(status), Some(ms)) if ok => format!("{status} OK · {ms} ms"),
        (Some(status), Some(ms)) => format!("Failed: {status} · {ms} ms"),
        _ => "Failed: no answer".into(),
    };
    TestView {
        state: if ok { "ok" } else { "failed" },
        text,
        at: Some(TimeView::new(now, at)),
        summary: i.test_summary.clone().filter(|s| !s.is_empty()),
    }
}

impl IntegrationRow {
    /// Whether the viewer can send its connection test now: a credential is set and, for an
    /// OAuth connection, it is not waiting for a consent.
    pub fn testable(&self) -> bool {
        self.manageable && self.credential.is_some() && self.oauth.as_ref().is_none_or(|o| o.usable)
    }

    /// Its OAuth connection, if it is one (which also names a custom provider for what it is).
    fn set_oauth(&mut self, i: &Integration, view: Option<OAuthView>) {
        self.provider = i.provider().label_for(view.is_some());
        self.oauth = view;
    }

    fn new(slug: &str, i: &Integration, now: i64) -> Self {
        Self {
            id: i.id.to_string(),
            name: i.name.clone(),
            provider: i.provider().label(),
            mode: i.mode.clone(),
            base_url: i.base_url.clone(),
            placement: i.placement().describe(),
            credential: credential_view(i, now),
            last_used: i.last_used_at.map(|t| TimeView::new(now, t)),
            calls: None,
            test: test_view(i, now),
            manageable: false,
            edit_url: urls::integration_action(slug, &i.id, "edit"),
            delete_url: urls::integration_action(slug, &i.id, "delete"),
            test_url: urls::integration_action(slug, &i.id, "test"),
            oauth: None,
        }
    }
}

/// A provider on the "Add integration" chooser.
pub struct ProviderChoice {
    /// "Shopify".
    pub label: &'static str,
    /// One line about the credential.
    pub hint: String,
    /// The form for it.
    pub url: String,
    /// Test hook.
    pub slug: String,
}

/// Values and messages of the add/edit form. Credential inputs are never echoed back.
#[derive(Default)]
pub struct IntegrationForm {
    /// Provider slug.
    pub provider: String,
    /// Name as typed.
    pub name: String,
    /// `live` / `test`.
    pub mode: String,
    /// Base URL as typed.
    pub base_url: String,
    /// Custom: `bearer`, `basic`, `header`, `query`.
    pub placement: String,
    /// Custom: the header or parameter name.
    pub credential_name: String,
    /// Check path as typed.
    pub check_path: String,
    /// Connects with OAuth 2.0 (the fields below), not a pasted credential.
    pub oauth: bool,
    /// OAuth: the provider's region (Zoho's data centre, Salesforce's org, Microsoft's tenant).
    pub region: String,
    /// OAuth: `authorization_code` / `client_credentials`.
    pub grant: String,
    /// OAuth (custom): authorization endpoint.
    pub authorize_url: String,
    /// OAuth (custom): token endpoint.
    pub token_url: String,
    /// OAuth (custom): revocation endpoint.
    pub revoke_url: String,
    /// OAuth (custom): audience.
    pub audience: String,
    /// OAuth (custom): `basic` / `post`.
    pub client_auth: String,
    /// OAuth: the client id of the app registered at the provider.
    pub client_id: String,
    /// OAuth: scopes, separated by spaces.
    pub scopes: String,
    /// Field messages.
    pub errors: Vec<(&'static str, String)>,
}

impl IntegrationForm {
    /// The message for `field`, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Whether any field has a message.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    fn add(&mut self, problems: Problems) {
        for (field, message) in problems {
            if self.error(field).is_none() {
                self.errors.push((field, message));
            }
        }
    }

    /// The form of a new integration of `provider` connecting with OAuth 2.0, with the preset's
    /// values.
    fn for_oauth(provider: Provider) -> Self {
        let preset = provider.oauth();
        Self {
            oauth: true,
            region: preset
                .as_ref()
                .and_then(|p| p.region)
                .map(|r| r.default.to_owned())
                .unwrap_or_default(),
            grant: GrantType::AuthorizationCode.slug().into(),
            client_auth: preset
                .as_ref()
                .map(|p| p.client_auth.slug().to_owned())
                .unwrap_or_default(),
            scopes: preset.map(|p| p.scopes.to_owned()).unwrap_or_default(),
            base_url: provider.fixed_base_url(None).unwrap_or_default(),
            ..Self::for_provider(provider)
        }
    }

    /// The form of a new integration of `provider`, with the preset's values.
    fn for_provider(provider: Provider) -> Self {
        let preset = provider.preset();
        let fixed = !preset.base_url.contains('{') && provider != Provider::Custom;
        Self {
            provider: provider.slug().into(),
            name: if provider == Provider::Custom {
                String::new()
            } else {
                provider.label().into()
            },
            mode: "live".into(),
            base_url: if fixed {
                preset.base_url.into()
            } else {
                String::new()
            },
            placement: preset.placement.kind().into(),
            check_path: preset.check_path.into(),
            ..Self::default()
        }
    }

    /// The form of an existing integration.
    fn for_integration(i: &Integration) -> Self {
        let placement = i.placement();
        Self {
            provider: i.provider().slug().into(),
            name: i.name.clone(),
            mode: i.mode.clone(),
            base_url: i.base_url.clone(),
            placement: placement.kind().into(),
            credential_name: placement.name().unwrap_or_default().into(),
            check_path: i.check_path.clone(),
            ..Self::default()
        }
    }

    /// Reads the posted settings (not the credential).
    fn read(form: &FormData, provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            name: form.get("name").trim().to_owned(),
            mode: form.get("mode").to_owned(),
            base_url: form.get("base_url").trim().to_owned(),
            placement: form.get("credential_placement").to_owned(),
            credential_name: form.get("credential_name").trim().to_owned(),
            check_path: form.get("check_path").trim().to_owned(),
            oauth: form.get("connect") == "oauth",
            region: form.get("region").trim().to_owned(),
            grant: form.get("grant_type").to_owned(),
            authorize_url: form.get("authorize_url").trim().to_owned(),
            token_url: form.get("token_url").trim().to_owned(),
            revoke_url: form.get("revoke_url").trim().to_owned(),
            audience: form.get("audience").trim().to_owned(),
            client_auth: form.get("client_auth").to_owned(),
            client_id: form.get("client_id").trim().to_owned(),
            scopes: form.get("scopes").trim().to_owned(),
            errors: Vec::new(),
        }
    }

    fn draft(&self) -> DraftInput<'_> {
        DraftInput {
            provider: &self.provider,
            name: &self.name,
            base_url: Some(&self.base_url),
            placement: Some(self.placement.as_str())
                .filter(|_| self.provider == "custom" && !self.oauth),
            credential_name: Some(&self.credential_name),
            check_path: Some(&self.check_path),
            region: Some(self.region.as_str()).filter(|_| self.oauth),
        }
    }

    /// The OAuth settings as entered (a preset fills in what its form does not ask).
    fn oauth_settings(&self) -> SettingsInput<'_> {
        SettingsInput {
            provider: Provider::from_storage(&self.provider),
            region: Some(&self.region),
            grant: &self.grant,
            token_url: &self.token_url,
            authorize_url: Some(&self.authorize_url),
            revoke_url: Some(&self.revoke_url),
            client_id: &self.client_id,
            scopes: &self.scopes,
            audience: Some(&self.audience),
            client_auth: Some(&self.client_auth),
        }
    }

    /// Whether this form asks a person to consent (it sends them to the provider on saving).
    pub fn consents(&self) -> bool {
        self.grant != GrantType::ClientCredentials.slug()
    }
}

/// The credential inputs the form offers for `provider` (custom: a token, and a username and
/// password for basic auth).
fn credential_fields(provider: Provider, placement: &Placement) -> Vec<CredentialField> {
    if provider == Provider::Custom {
        let mut all = provider.fields(&Placement::Bearer).to_vec();
        all.extend_from_slice(provider.fields(&Placement::Basic));
        all
    } else {
        provider.fields(placement).to_vec()
    }
}

/// The credential as entered for `placement`; `None` when every input was left empty (a
/// message on the form when one is `required`) or when it is not valid (messages on the form).
fn entered_credential(
    form: &FormData,
    placement: &Placement,
    f: &mut IntegrationForm,
    required: bool,
) -> Option<Credential> {
    let (token, username, password) = (
        form.get("token"),
        form.get("username"),
        form.get("password"),
    );
    if [token, username, password]
        .iter()
        .all(|v| v.trim().is_empty())
    {
        if required {
            f.add(vec![("credential", "Enter the credential.".into())]);
        }
        return None;
    }
    match Credential::from_fields(placement, Some(token), Some(username), Some(password)) {
        Ok(c) => Some(c),
        Err(problems) => {
            f.add(
                problems
                    .into_iter()
                    .map(|(_, m)| ("credential", m))
                    .collect(),
            );
            None
        }
    }
}

// ----- pages -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "integrations/list.html", blocks = ["content"])]
struct ListPage {
    ctx: PageCtx,
    integrations: Vec<IntegrationRow>,
    can_create: bool,
    can_manage: bool,
    new_url: String,
}

#[derive(Template)]
#[template(path = "integrations/choose.html", blocks = ["content"])]
struct ChoosePage {
    ctx: PageCtx,
    providers: Vec<ProviderChoice>,
    oauth_providers: Vec<ProviderChoice>,
    cancel_url: String,
}

#[derive(Template)]
#[template(path = "integrations/form.html", blocks = ["content"])]
struct FormPage {
    ctx: PageCtx,
    form: IntegrationForm,
    /// `None` when adding; the integration's row when editing.
    editing: Option<IntegrationRow>,
    provider_label: &'static str,
    hint: &'static str,
    /// The preset's base URL with its `{placeholder}`, as an example.
    base_url_example: &'static str,
    custom: bool,
    fields: Vec<CredentialField>,
    /// Editing an integration that connects with OAuth 2.0 (no credential to replace).
    oauth: bool,
    action: String,
    cancel_url: String,
}

/// Adding an integration that connects with OAuth 2.0: the app's client id and secret, the
/// redirect URI to register with it, and (custom) the provider's endpoints.
#[derive(Template)]
#[template(path = "integrations/oauth_form.html", blocks = ["content"])]
struct OAuthFormPage {
    ctx: PageCtx,
    form: IntegrationForm,
    provider_label: &'static str,
    /// Where people sign in ("Google").
    signs_in_at: &'static str,
    custom: bool,
    /// Where to register the app, and the console's address.
    register: &'static str,
    register_url: &'static str,
    /// The exact redirect URI to register.
    redirect_uri: String,
    /// The choice the provider's endpoints depend on.
    region: Option<Region>,
    /// The preset's API base URL is fixed (no input).
    base_url_fixed: bool,
    base_url_example: &'static str,
    /// What the connection test request needs, if anything.
    hint: &'static str,
    /// The endpoints a preset uses, shown for reference (authorize, token, revoke).
    endpoints: Vec<(&'static str, String)>,
    action: String,
    cancel_url: String,
}

#[derive(Template)]
#[template(path = "integrations/disconnect.html", blocks = ["content"])]
struct DisconnectPage {
    ctx: PageCtx,
    integration: IntegrationRow,
    /// Who is asked to revoke: the provider, or for a custom one the integration's own name.
    provider_label: String,
    revokes: bool,
    action: String,
    cancel_url: String,
}

#[derive(Template)]
#[template(path = "integrations/delete.html", blocks = ["content"])]
struct DeletePage {
    ctx: PageCtx,
    integration: IntegrationRow,
    action: String,
    cancel_url: String,
}

// ----- helpers -----------------------------------------------------------------------------

/// `i`'s row with its OAuth connection, if it has one.
async fn row_with_connection(
    state: &AppState,
    team: &TeamCtx,
    i: &Integration,
) -> Result<IntegrationRow, PageError> {
    let id = i.id.to_string();
    let conn = with_read(&state.pool, move |c| Ok(OAuthConnection::find(c, &id)?)).await?;
    let now = state.clock.now();
    let mut row = IntegrationRow::new(team.slug(), i, now);
    row.set_oauth(
        i,
        conn.map(|c| OAuthView::new(team.slug(), i.id.as_str(), &c, now)),
    );
    Ok(row)
}

async fn list_response(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    htmx: Htmx,
    flash: Option<String>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let team_id = team.team_id().to_string();
    // The hour that started 23 hours ago, and every hour since: the last 24 hours.
    let since = now - now.rem_euclid(3600) - 23 * 3600;
    let (rows, calls, connections) = with_read(&state.pool, move |c| {
        let rows = Integration::for_team(c, &team_id)?;
        let ids: Vec<&str> = rows.iter().map(|(i, _)| i.id.as_str()).collect();
        let connections = OAuthConnection::of_integrations(c, &ids)?;
        Ok((
            rows,
            Integration::calls_since(c, &team_id, since)?,
            connections,
        ))
    })
    .await?;
    let slug = team.slug().to_owned();
    let integrations: Vec<IntegrationRow> = rows
        .iter()
        .map(|(i, _creator)| {
            let mut row = IntegrationRow::new(&slug, i, now);
            row.manageable = may_manage(team, user, i);
            row.calls = calls
                .iter()
                .find(|(id, _)| *id == i.id)
                .filter(|(_, n)| *n > 0)
                .map(|(_, n)| calls_text(*n));
            row.set_oauth(
                i,
                connections
                    .iter()
                    .find(|c| c.integration_id == i.id.as_str())
                    .map(|c| OAuthView::new(&slug, i.id.as_str(), c, now)),
            );
            row
        })
        .collect();
    let page = ListPage {
        ctx: PageCtx::new("Integrations", user, team, "integrations").with_flash(flash),
        can_manage: integrations.iter().any(|r| r.manageable),
        integrations,
        can_create: team.current.role.can_create_keys(),
        new_url: urls::integration_new(&slug),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// After a successful action: back to the list, with `flash`.
async fn back_to_list(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    htmx: Htmx,
    flash: String,
) -> Result<HttpResponse, PageError> {
    let url = urls::integrations(team.slug());
    back_to(&user.session, htmx, url, flash, |flash| {
        list_response(state, user, team, htmx, Some(flash))
    })
    .await
}

fn form_page(
    user: &SignedIn,
    team: &TeamCtx,
    form: IntegrationForm,
    editing: Option<IntegrationRow>,
) -> FormPage {
    let provider = Provider::from_storage(&form.provider);
    let preset = provider.preset();
    let placement = if provider == Provider::Custom {
        Placement::parse(&form.placement, &form.credential_name).unwrap_or(Placement::Bearer)
    } else {
        preset.placement.clone()
    };
    let (title, action) = match &editing {
        Some(row) => (
            format!("Edit {}", row.name),
            urls::integration(team.slug(), &row.id),
        ),
        None => (
            format!("Add {}", provider.label()),
            urls::integrations(team.slug()),
        ),
    };
    FormPage {
        ctx: PageCtx::new(title, user, team, "integrations"),
        provider_label: provider.label(),
        hint: preset.hint,
        base_url_example: preset.base_url,
        custom: provider == Provider::Custom,
        fields: credential_fields(provider, &placement),
        oauth: editing.as_ref().is_some_and(|r| r.oauth.is_some()),
        form,
        editing,
        action,
        cancel_url: urls::integrations(team.slug()),
    }
}

fn oauth_form_page(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    form: IntegrationForm,
) -> OAuthFormPage {
    let provider = Provider::from_storage(&form.provider);
    let preset = provider.oauth();
    let region = preset.as_ref().and_then(|p| p.region);
    // A region's endpoints follow the choice made on this form: not listed beforehand.
    let endpoints = match (region, provider.oauth_endpoints("")) {
        (None, Some(e)) => {
            let mut list = vec![("Authorization", e.authorize_url), ("Token", e.token_url)];
            list.extend(e.revoke_url.map(|r| ("Revocation", r)));
            list
        }
        _ => Vec::new(),
    };
    let label = if provider == Provider::Custom {
        "an OAuth 2.0 API"
    } else {
        provider.label()
    };
    OAuthFormPage {
        ctx: PageCtx::new(format!("Connect {label}"), user, team, "integrations"),
        provider_label: label,
        signs_in_at: preset.as_ref().map_or("the provider", |p| p.signs_in_at),
        custom: provider == Provider::Custom,
        register: preset.as_ref().map_or("", |p| p.register),
        register_url: preset.as_ref().map_or("", |p| p.register_url),
        redirect_uri: oauth_consent::redirect_uri(state, team),
        region,
        base_url_fixed: provider.fixed_base_url(None).is_some(),
        base_url_example: provider.preset().base_url,
        hint: preset.as_ref().map_or("", |p| p.check_hint),
        endpoints,
        form,
        action: urls::integrations(team.slug()),
        cancel_url: urls::integrations(team.slug()),
    }
}

/// The form field a message of the operations belongs to.
fn form_field(field: &str) -> &'static str {
    const FIELDS: [&str; 16] = [
        "credential",
        "base_url",
        "check_path",
        "credential_placement",
        "credential_name",
        "oauth",
        "oauth.region",
        "oauth.grant_type",
        "oauth.token_url",
        "oauth.authorize_url",
        "oauth.revoke_url",
        "oauth.client_id",
        "oauth.client_secret",
        "oauth.client_auth",
        "oauth.scopes",
        "oauth.audience",
    ];
    FIELDS.into_iter().find(|k| *k == field).unwrap_or("name")
}

fn refused(htmx: Htmx, mut page: FormPage, e: IntegrationError) -> Result<HttpResponse, PageError> {
    match e {
        IntegrationError::Invalid(fields) => {
            for (field, message) in fields {
                page.form.add(vec![(form_field(&field), message)]);
            }
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
        }
        IntegrationError::NotFound => Err(PageError::NotFound),
        IntegrationError::Failed(e) => Err(e.into()),
    }
}

// ----- handlers ----------------------------------------------------------------------------

/// GET the list.
pub async fn list(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    list_response(&state, &user, &team, htmx, None).await
}

/// Query of the add page: which provider's form, and `connect=oauth` for its OAuth 2.0 one.
#[derive(serde::Deserialize)]
pub struct NewQuery {
    provider: Option<String>,
    connect: Option<String>,
}

/// GET the add page: the provider chooser, or (with `?provider=`) that provider's form.
pub async fn new_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    query: web::Query<NewQuery>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    team.require_key_creator()?;
    let slug = team.slug().to_owned();
    let oauth = query.connect.as_deref() == Some("oauth");
    match query.provider.as_deref().map(Provider::parse) {
        Some(Some(provider))
            if provider.oauth().is_some() && (oauth || !provider.takes_static()) =>
        {
            let page = oauth_form_page(&state, &user, &team, IntegrationForm::for_oauth(provider));
            Ok(render!(htmx, StatusCode::OK, page)?)
        }
        Some(Some(provider)) if !oauth => {
            let page = form_page(&user, &team, IntegrationForm::for_provider(provider), None);
            Ok(render!(htmx, StatusCode::OK, page)?)
        }
        Some(_) => Err(PageError::NotFound),
        None => {
            let new = urls::integration_new(&slug);
            let page = ChoosePage {
                ctx: PageCtx::new("Add integration", &user, &team, "integrations"),
                providers: Provider::STATIC
                    .iter()
                    .map(|p| ProviderChoice {
                        label: p.label(),
                        hint: p.preset().hint.to_owned(),
                        url: format!("{new}?provider={}", p.slug()),
                        slug: p.slug().to_owned(),
                    })
                    .collect(),
                oauth_providers: Provider::OAUTH
                    .iter()
                    .map(|p| ProviderChoice {
                        label: p.label_for(true),
                        hint: if *p == Provider::Custom {
                            "Any provider that speaks OAuth 2.0: authorization code with PKCE, or \
                             client credentials."
                                .into()
                        } else {
                            format!(
                                "Sign in with {} and allow access; {} renews the tokens.",
                                p.oauth().map_or("the provider", |o| o.signs_in_at),
                                team.brand.product
                            )
                        },
                        url: format!("{new}?provider={}&connect=oauth", p.slug()),
                        slug: format!("{}-oauth", p.slug()),
                    })
                    .collect(),
                cancel_url: urls::integrations(&slug),
            };
            Ok(render!(htmx, StatusCode::OK, page)?)
        }
    }
}

/// POST create → 303 to the list, or 422 with the form and messages (credential inputs empty).
pub async fn create(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let team = TeamCtx::load(&state, &user, &path).await?;
    team.require_key_creator()?;
    let provider = form.get("provider").to_owned();
    if Provider::parse(&provider).is_none() {
        let mut f = IntegrationForm::for_provider(Provider::Custom);
        f.add(vec![(
            "provider",
            "Choose a provider from the list.".into(),
        )]);
        let page = form_page(&user, &team, f, None);
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    }
    let mut f = IntegrationForm::read(&form, &provider);
    if f.oauth || !Provider::from_storage(&provider).takes_static() {
        f.oauth = true;
        return create_oauth(&state, &user, &team, htmx, f, &form, &req).await;
    }
    let mode = KeyMode::parse(&f.mode);
    if mode.is_none() {
        f.add(vec![("mode", "Choose live or test.".into())]);
    }
    let draft = Draft::parse(&f.draft()).map_err(|p| f.add(p)).ok();
    let placement = draft
        .as_ref()
        .map_or(Placement::Bearer, |d| d.placement.clone());
    let credential = entered_credential(&form, &placement, &mut f, true);
    let (Some(draft), Some(credential), Some(mode), false) =
        (draft, credential, mode, f.has_errors())
    else {
        let page = form_page(&user, &team, f, None);
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let actor = team.actor(&state, &user, &req);
    let tenant = Tenant {
        team: team.team_id(),
        mode,
    };
    match ops::create(
        &state,
        &actor,
        &tenant,
        draft,
        ops::Secret::Static(credential),
    )
    .await
    {
        Ok(i) => {
            let flash = format!(
                "Integration “{}” added. Its credential is encrypted and will not be shown again.",
                i.name
            );
            back_to_list(&state, &user, &team, htmx, flash).await
        }
        Err(e) => refused(htmx, form_page(&user, &team, f, None), e),
    }
}

/// Creates an integration that connects with OAuth 2.0 → for a consent, the way on to the
/// provider's consent page; for client credentials, back to the list (connected); or 422 with
/// the form and messages (the client secret is never echoed).
async fn create_oauth(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    htmx: Htmx,
    mut f: IntegrationForm,
    form: &FormData,
    req: &HttpRequest,
) -> Result<HttpResponse, PageError> {
    let mode = KeyMode::parse(&f.mode);
    if mode.is_none() {
        f.add(vec![("mode", "Choose live or test.".into())]);
    }
    let settings = Settings::parse(&f.oauth_settings())
        .map_err(|p| f.add(p))
        .ok();
    let client_secret = oauth::parse_client_secret(Some(form.get("client_secret")))
        .map_err(|m| f.add(vec![("oauth.client_secret", m)]))
        .ok();
    let draft = Draft::parse(&f.draft()).map_err(|p| f.add(p)).ok();
    let (Some(mode), Some(settings), Some(client_secret), Some(draft), false) =
        (mode, settings, client_secret, draft, f.has_errors())
    else {
        let page = oauth_form_page(state, user, team, f);
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let consent = settings.grant == GrantType::AuthorizationCode;
    let actor = team.actor(state, user, req);
    let tenant = Tenant {
        team: team.team_id(),
        mode,
    };
    let secret = ops::Secret::OAuth(Box::new(settings), client_secret);
    match ops::create(state, &actor, &tenant, draft, secret).await {
        Ok(i) if consent => oauth_consent::begin(state, user, team, &i, htmx).await,
        Ok(i) => {
            let flash = format!(
                "Integration “{}” added. {} gets its access tokens with the client id and secret, \
                 which are encrypted and will not be shown again.",
                i.name, team.brand.product
            );
            back_to_list(state, user, team, htmx, flash).await
        }
        Err(IntegrationError::Invalid(fields)) => {
            for (field, message) in fields {
                f.add(vec![(form_field(&field), message)]);
            }
            let page = oauth_form_page(state, user, team, f);
            Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
        }
        Err(IntegrationError::NotFound) => Err(PageError::NotFound),
        Err(IntegrationError::Failed(e)) => Err(e.into()),
    }
}

/// GET the edit form.
pub async fn edit_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    let row = row_with_connection(&state, &team, &i).await?;
    let page = form_page(
        &user,
        &team,
        IntegrationForm::for_integration(&i),
        Some(row),
    );
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST update: settings, and the credential when one is entered ("Replace").
pub async fn update(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    let row = row_with_connection(&state, &team, &i).await?;
    let mut f = IntegrationForm::read(&form, i.provider().slug());
    f.mode = i.mode.clone();
    let draft = Draft::parse(&f.draft()).map_err(|p| f.add(p)).ok();
    let placement = draft
        .as_ref()
        .map_or_else(|| i.placement(), |d| d.placement.clone());
    let credential = entered_credential(&form, &placement, &mut f, false);
    let Some(draft) = draft.filter(|_| !f.has_errors()) else {
        let page = form_page(&user, &team, f, Some(row));
        return Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?);
    };
    let edit = Edit {
        name: Some(draft.name),
        base_url: Some(draft.base_url),
        placement: Some(draft.placement),
        check_path: Some(draft.check_path),
        credential,
    };
    let actor = team.actor(&state, &user, &req);
    match ops::update(&state, &actor, &team.team_id(), None, &i.id, edit).await {
        Ok(saved) => {
            let flash = format!("Integration “{}” saved.", saved.name);
            back_to_list(&state, &user, &team, htmx, flash).await
        }
        Err(e) => refused(htmx, form_page(&user, &team, f, Some(row)), e),
    }
}

/// GET the delete confirmation.
pub async fn delete_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    let page = DeletePage {
        ctx: PageCtx::new(format!("Delete {}", i.name), &user, &team, "integrations"),
        action: urls::integration_action(team.slug(), &i.id, "delete"),
        integration: IntegrationRow::new(team.slug(), &i, state.clock.now()),
        cancel_url: urls::integrations(team.slug()),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST delete: the integration and its sealed credential are gone at once.
pub async fn delete(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    let actor = team.actor(&state, &user, &req);
    if !ops::delete(&state, &actor, &team.team_id(), None, &i.id).await? {
        return Err(PageError::NotFound);
    }
    let flash = format!(
        "Integration “{}” deleted. Bot flows calling it now get NOT_FOUND.",
        i.name
    );
    back_to_list(&state, &user, &team, htmx, flash).await
}

/// POST test: sends the check request and comes back to the list with the outcome.
pub async fn test(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    let actor = team.actor(&state, &user, &req);
    let (saved, outcome) = match ops::test_connection(&state, &actor, &team.team_id(), &i.id).await
    {
        Ok(done) => done,
        Err(IntegrationError::NotFound) => return Err(PageError::NotFound),
        Err(IntegrationError::Invalid(fields)) => {
            let why = fields
                .into_iter()
                .next()
                .map(|(_, m)| m)
                .unwrap_or_default();
            let flash = format!("“{}” was not tested. {why}", i.name);
            return back_to_list(&state, &user, &team, htmx, flash).await;
        }
        Err(IntegrationError::Failed(e)) => return Err(e.into()),
    };
    let flash = match (outcome.ok, outcome.status) {
        (true, Some(status)) => format!(
            "Connection test of “{}” passed: {status} in {} ms.",
            saved.name, outcome.latency_ms
        ),
        (false, Some(status)) => format!(
            "Connection test of “{}” failed: the API answered {status} in {} ms.",
            saved.name, outcome.latency_ms
        ),
        _ => format!(
            "Connection test of “{}” failed: {}",
            saved.name, outcome.summary
        ),
    };
    back_to_list(&state, &user, &team, htmx, flash).await
}

/// GET the Disconnect confirmation of an OAuth connection a person consented to.
pub async fn disconnect_form(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    let id = i.id.to_string();
    let conn = with_read(&state.pool, move |c| Ok(OAuthConnection::find(c, &id)?))
        .await?
        .filter(OAuthConnection::disconnectable)
        .ok_or(PageError::NotFound)?;
    let page = DisconnectPage {
        ctx: PageCtx::new(
            format!("Disconnect {}", i.name),
            &user,
            &team,
            "integrations",
        ),
        provider_label: match i.provider() {
            Provider::Custom => i.name.clone(),
            provider => provider.label().to_owned(),
        },
        revokes: conn.revoke_url.is_some(),
        action: urls::integration_action(team.slug(), &i.id, "disconnect"),
        integration: IntegrationRow::new(team.slug(), &i, state.clock.now()),
        cancel_url: urls::integrations(team.slug()),
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// POST Disconnect: the grant is revoked at the provider (where it can be) and its tokens are
/// forgotten; the integration stays, waiting for a Connect.
pub async fn disconnect(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    let actor = team.actor(&state, &user, &req);
    let revoked = match crate::ops::oauth::forget(&state, &actor, &i).await? {
        None => return Err(PageError::NotFound),
        Some(revoked) => revoked,
    };
    let flash = match revoked {
        Some(true) => format!(
            "“{}” is disconnected: {} revoked the grant and forgot its tokens.",
            i.name,
            i.provider().label()
        ),
        Some(false) => format!(
            "“{}” is disconnected and its tokens are forgotten. {} did not confirm the \
             revocation: remove the app's access in your account there too.",
            i.name,
            i.provider().label()
        ),
        None => format!(
            "“{}” is disconnected and its tokens are forgotten. {} offers no revocation \
             endpoint: remove the app's access in your account there too.",
            i.name,
            i.provider().label()
        ),
    };
    back_to_list(&state, &user, &team, htmx, flash).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_counts_read_in_words() {
        assert_eq!(calls_text(1), "1 call in 24 h");
        assert_eq!(calls_text(999), "999 calls in 24 h");
        assert_eq!(calls_text(12_480), "12,480 calls in 24 h");
        assert_eq!(calls_text(1_000_000), "1,000,000 calls in 24 h");
    }

    #[test]
    fn google_scopes_read_without_their_url_prefix() {
        assert_eq!(
            short_scopes("openid email https://www.googleapis.com/auth/calendar.events"),
            "openid email calendar.events"
        );
    }

    #[test]
    fn custom_forms_offer_a_token_and_a_basic_pair() {
        let names: Vec<&str> = credential_fields(Provider::Custom, &Placement::Bearer)
            .iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(names, ["token", "username", "password"]);
        assert_eq!(
            credential_fields(Provider::WooCommerce, &Placement::Basic)[0].label,
            "Consumer key"
        );
    }
}

//! "Your account": the signed-in user's profile (name), password, the sessions signed in to
//! the account (each can be signed out, or every other one at once), and their own security
//! activity, newest first with "Load older".

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::brand::Brand;
use super::error::PageError;
use super::form::FormData;
use super::htmx::Htmx;
use super::layout::{PageCtx, back_to_account};
use super::memberships::Memberships;
use super::reconfirm::{FormKind, reconfirm};
use super::signing::origin;
use super::urls;
use crate::db::with_read;
use crate::domain::audit::SecurityAction;
use crate::domain::inputs::{Name, Password};
use crate::models::{passkey, security_event, session, two_factor};
use crate::ops;
use crate::ops::accounts::PasswordChangeError;
use crate::render;
use crate::state::AppState;
use crate::timefmt::TimeView;
use crate::web::current_user::SignedIn;

/// Events on one page.
const PAGE_SIZE: i64 = 25;

struct ActivityRow {
    when: TimeView,
    what: &'static str,
    warn: bool,
    ip: String,
    browser: String,
}

struct PasskeyRow {
    name: String,
    host: String,
    added: TimeView,
    last_used: Option<TimeView>,
    rename_url: String,
    remove_url: String,
}

struct SessionRow {
    browser: String,
    ip: String,
    signed_in: Option<TimeView>,
    last_active: Option<TimeView>,
    current: bool,
    sign_out_url: String,
}

/// What the forms were given and what was wrong with it (a 422 re-renders them).
#[derive(Default)]
pub(super) struct Forms {
    pub(super) name: Option<String>,
    pub(super) name_error: Option<&'static str>,
    pub(super) email: Option<String>,
    pub(super) email_error: Option<&'static str>,
    pub(super) email_password_error: Option<&'static str>,
    pub(super) current_password_error: Option<&'static str>,
    pub(super) new_password_error: Option<&'static str>,
    pub(super) two_factor_error: Option<String>,
}

#[derive(Template)]
#[template(path = "account/show.html", blocks = ["content"])]
struct AccountPage {
    ctx: PageCtx,
    rows: Vec<ActivityRow>,
    older_url: Option<String>,
    paged: bool,
    sessions: Vec<SessionRow>,
    forms: Forms,
    name_value: String,
    email_value: String,
    /// E-mail is configured (a change is confirmed by a link).
    mail: bool,
    /// Two-factor sign-in is on, with this many recovery codes left.
    two_factor: Option<i64>,
    /// The teams and agencies that require it of the account, by name ("A, B").
    required_by: String,
    passkeys: Vec<PasskeyRow>,
    /// Passkeys can be added on this address (a host name, not an IP address).
    passkeys_here: bool,
    passkeys_unavailable: &'static str,
}

/// GET /account.
pub async fn show(
    state: web::Data<AppState>,
    user: SignedIn,
    query: web::Query<HashMap<String, String>>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let before = query.get("before").cloned().filter(|b| !b.is_empty());
    let page = page(&state, &user, before, Forms::default()).await?;
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// What the account page reads, in one read.
struct Loaded {
    events: Vec<security_event::SecurityEvent>,
    memberships: Memberships,
    sessions: Vec<session::Listed>,
    /// Recovery codes left, with an authenticator app on.
    codes_left: Option<i64>,
    required_by: String,
    passkeys: Vec<passkey::Listed>,
}

async fn page(
    state: &AppState,
    user: &SignedIn,
    before: Option<String>,
    forms: Forms,
) -> Result<AccountPage, PageError> {
    let uid = user.id();
    let paged = before.is_some();
    let now = state.clock.now();
    let loaded = with_read(&state.pool, move |c| {
        let cursor = match &before {
            None => None,
            Some(id) => match security_event::cursor_of(c, &uid, id)? {
                Some(cursor) => Some(cursor),
                None => return Ok(None),
            },
        };
        Ok(Some(Loaded {
            events: security_event::page(c, &uid, cursor, PAGE_SIZE + 1)?,
            memberships: Memberships::load(c, &uid)?,
            sessions: session::of_user(c, uid.as_str(), now)?,
            codes_left: if two_factor::enrolled(c, &uid)? {
                Some(two_factor::codes_left(c, &uid)?)
            } else {
                None
            },
            required_by: two_factor::required_by(c, &uid)?.join(", "),
            passkeys: passkey::of_user(c, &uid)?,
        }))
    })
    .await?;
    let Loaded {
        mut events,
        memberships,
        sessions,
        codes_left: two_factor,
        required_by,
        passkeys: passkey_rows,
    } = loaded.ok_or(PageError::NotFound)?;
    let more = events.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    events.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let brand = Brand::of_host(state, user.host.clone()).await;
    let passkeys_here = user
        .host
        .as_deref()
        .is_some_and(|h| ops::passkeys::work_on(state, h, brand.host.is_some()));
    let mine = user.session_handle();
    let mut sessions: Vec<SessionRow> = sessions
        .into_iter()
        .map(|s| SessionRow {
            browser: s
                .user_agent
                .as_deref()
                .filter(|a| !a.is_empty())
                .map_or_else(|| "Unknown browser".to_owned(), browser_name),
            ip: s.ip.unwrap_or_default(),
            signed_in: s.signed_in_at.map(|t| TimeView::new(now, t)),
            last_active: s.last_seen_at.map(|t| TimeView::new(now, t)),
            current: s.handle.is_some() && s.handle == mine,
            sign_out_url: format!(
                "{}/sessions/{}/sign-out",
                urls::ACCOUNT,
                s.handle.unwrap_or_default()
            ),
        })
        .collect();
    // This session first, then the others by last activity.
    sessions.sort_by_key(|s| !s.current);
    let older_url = events
        .last()
        .filter(|_| more)
        .map(|e| format!("{}?before={}", urls::ACCOUNT, e.id));
    let rows = events
        .into_iter()
        .map(|e| {
            let action = SecurityAction::parse(&e.action);
            ActivityRow {
                when: TimeView::new(now, e.created_at),
                what: action.map_or("Account activity", SecurityAction::describe),
                warn: action.is_some_and(SecurityAction::is_warning),
                ip: e.ip.unwrap_or_default(),
                browser: e.user_agent.map(|a| browser_name(&a)).unwrap_or_default(),
            }
        })
        .collect();
    Ok(AccountPage {
        ctx: PageCtx::for_account("Your account", user, brand, &memberships),
        rows,
        older_url,
        paged,
        sessions,
        name_value: forms.name.clone().unwrap_or_else(|| user.user.name.clone()),
        email_value: forms.email.clone().unwrap_or_default(),
        mail: state.mailer.is_some(),
        forms,
        two_factor,
        required_by,
        passkeys: passkey_rows
            .into_iter()
            .map(|p| PasskeyRow {
                rename_url: format!("{}/passkeys/{}/rename", urls::ACCOUNT, p.id),
                remove_url: format!("{}/passkeys/{}/remove", urls::ACCOUNT, p.id),
                name: p.name,
                host: p.rp_id,
                added: TimeView::new(now, p.created_at),
                last_used: p.last_used_at.map(|t| TimeView::new(now, t)),
            })
            .collect(),
        passkeys_here,
        passkeys_unavailable: ops::passkeys::UNAVAILABLE,
    })
}

/// A 422 of the account page with `forms`' messages.
pub(super) async fn refused(
    state: &AppState,
    user: &SignedIn,
    htmx: Htmx,
    forms: Forms,
) -> Result<HttpResponse, PageError> {
    let page = page(state, user, None, forms).await?;
    Ok(render!(htmx, StatusCode::UNPROCESSABLE_ENTITY, page)?)
}

/// POST /account/name.
pub async fn rename(
    state: web::Data<AppState>,
    user: SignedIn,
    form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let raw = form.get("name").to_owned();
    let name = match Name::parse(&raw) {
        Ok(n) => n,
        Err(m) => {
            let forms = Forms {
                name: Some(raw),
                name_error: Some(m),
                ..Forms::default()
            };
            return refused(&state, &user, htmx, forms).await;
        }
    };
    ops::accounts::rename(&state, &user.id(), name, origin(&state, &req)).await?;
    Ok(back_to_account(&user, "Name saved."))
}

/// POST /account/password: the current password and a new one; every other session ends.
pub async fn change_password(
    state: web::Data<AppState>,
    user: SignedIn,
    mut form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let current = Password::parse_existing(form.take("current_password"));
    let new = Password::parse_new(form.take("new_password"));
    let (current, new) = match (current, new) {
        (Ok(c), Ok(n)) => (c, n),
        (c, n) => {
            let forms = Forms {
                current_password_error: c.err().map(|_| "Enter your current password."),
                new_password_error: n.err(),
                ..Forms::default()
            };
            return refused(&state, &user, htmx, forms).await;
        }
    };
    let keep = user.session_handle();
    match ops::accounts::change_password(
        &state,
        &user.id(),
        current,
        new,
        keep,
        origin(&state, &req),
    )
    .await
    {
        Ok(ended) => Ok(back_to_account(
            &user,
            &match ended {
                0 => "Password changed.".to_owned(),
                1 => "Password changed. Your 1 other session was signed out.".to_owned(),
                n => format!("Password changed. Your {n} other sessions were signed out."),
            },
        )),
        Err(PasswordChangeError::WrongPassword) => {
            let forms = Forms {
                current_password_error: Some("That is not your current password."),
                ..Forms::default()
            };
            refused(&state, &user, htmx, forms).await
        }
        Err(PasswordChangeError::Throttled { retry_after }) => {
            Err(PageError::TooManyRequests { retry_after })
        }
        Err(PasswordChangeError::Failed(e)) => Err(e.into()),
    }
}

/// POST /account/sessions/{handle}/sign-out: ends another session of the account (this one
/// signs out with "Sign out").
pub async fn end_session(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<String>,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let handle = path.into_inner();
    if handle.len() != 20 || !crate::domain::base62::is_base62(&handle) {
        return Err(PageError::NotFound);
    }
    if user.session_handle().as_deref() == Some(handle.as_str()) {
        return Ok(back_to_account(
            &user,
            "This is the session you are using: use Sign out.",
        ));
    }
    if !ops::accounts::end_session(&state, &user.id(), &handle, origin(&state, &req)).await? {
        return Err(PageError::NotFound);
    }
    Ok(back_to_account(&user, "That session is signed out."))
}

/// POST /account/sessions/sign-out-others.
pub async fn end_other_sessions(
    state: web::Data<AppState>,
    user: SignedIn,
    _form: FormData,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let keep = user.session_handle();
    let n =
        ops::accounts::end_other_sessions(&state, &user.id(), keep, origin(&state, &req)).await?;
    Ok(back_to_account(
        &user,
        &match n {
            0 => "You were signed in nowhere else.".to_owned(),
            1 => "Signed out of 1 other session.".to_owned(),
            n => format!("Signed out of {n} other sessions."),
        },
    ))
}

/// A short, readable name for a user agent ("Firefox on Linux"); the raw string otherwise.
pub(crate) fn browser_name(agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(needle, _)| agent.contains(needle))
    .map(|(_, name)| *name);
    let os = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| agent.contains(needle))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        _ => agent.chars().take(60).collect(),
    }
}

/// POST /account/two-factor/disable: needs a current code or a recovery code.
pub async fn disable_two_factor(
    state: web::Data<AppState>,
    user: SignedIn,
    mut form: FormData,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    use crate::ops::two_factor::CodeError;
    if let Some(ask) =
        reconfirm(&state, &user, &req, htmx, &mut form, FormKind::WithOwnCode).await?
    {
        return Ok(ask);
    }
    let origin = origin(&state, &req);
    match ops::two_factor::disable(&state, &user.id(), form.get("code"), origin).await {
        Ok(()) => Ok(back_to_account(
            &user,
            "Two-factor sign-in is off: your password alone signs you in.",
        )),
        Err(CodeError::Wrong) => {
            let forms = Forms {
                two_factor_error: Some(
                    "That code is not right: enter the code your app shows now, or a recovery code."
                        .to_owned(),
                ),
                ..Forms::default()
            };
            refused(&state, &user, htmx, forms).await
        }
        Err(CodeError::Throttled { retry_after }) => {
            Err(PageError::TooManyRequests { retry_after })
        }
        Err(CodeError::RequiredBy(names)) => {
            let forms = Forms {
                two_factor_error: Some(format!(
                    "{names} requires two-factor sign-in of its members: it stays on while you are one."
                )),
                ..Forms::default()
            };
            refused(&state, &user, htmx, forms).await
        }
        Err(CodeError::NotEnrolled) => {
            Ok(back_to_account(&user, "Two-factor sign-in is already off."))
        }
        Err(CodeError::Failed(e)) => Err(e.into()),
    }
}

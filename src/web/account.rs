//! "Your account": the signed-in user's profile and their own security activity (sign-ins,
//! sign-outs, failed and blocked sign-ins), newest first with "Load older".

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::brand::Brand;
use super::error::PageError;
use super::htmx::Htmx;
use super::layout::PageCtx;
use super::memberships::Memberships;
use super::urls;
use crate::db::with_read;
use crate::domain::audit::SecurityAction;
use crate::models::security_event;
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

#[derive(Template)]
#[template(path = "account/show.html", blocks = ["content"])]
struct AccountPage {
    ctx: PageCtx,
    rows: Vec<ActivityRow>,
    older_url: Option<String>,
    paged: bool,
}

/// GET /account.
pub async fn show(
    state: web::Data<AppState>,
    user: SignedIn,
    query: web::Query<HashMap<String, String>>,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let uid = user.id();
    let before = query.get("before").cloned().filter(|b| !b.is_empty());
    let paged = before.is_some();
    let loaded = with_read(&state.pool, move |c| {
        let cursor = match &before {
            None => None,
            Some(id) => match security_event::cursor_of(c, &uid, id)? {
                Some(cursor) => Some(cursor),
                None => return Ok(None),
            },
        };
        let events = security_event::page(c, &uid, cursor, PAGE_SIZE + 1)?;
        let memberships = Memberships::load(c, &uid)?;
        Ok(Some((events, memberships)))
    })
    .await?;
    let (mut events, memberships) = loaded.ok_or(PageError::NotFound)?;
    let more = events.len() > usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    events.truncate(usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX));
    let brand = Brand::of_host(&state, user.host.clone()).await;
    let now = state.clock.now();
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
                warn: matches!(
                    action,
                    Some(SecurityAction::SignInFailed | SecurityAction::SignInThrottled)
                ),
                ip: e.ip.unwrap_or_default(),
                browser: e.user_agent.map(|a| browser_name(&a)).unwrap_or_default(),
            }
        })
        .collect();
    let page = AccountPage {
        ctx: PageCtx::for_account("Your account", &user, brand, &memberships),
        rows,
        older_url,
        paged,
    };
    Ok(render!(htmx, StatusCode::OK, page)?)
}

/// A short, readable name for a user agent ("Firefox on Linux"); the raw string otherwise.
fn browser_name(agent: &str) -> String {
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

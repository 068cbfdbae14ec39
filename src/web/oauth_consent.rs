//! Connecting an integration with OAuth (authorization code + PKCE): **Connect** sends the
//! person to the provider's consent page; the provider sends them back to `/oauth/callback`,
//! on the address they came from (the public URL, or their agency's host). What the callback
//! needs — the `state`, the PKCE verifier, who pressed Connect — waits in their server-side
//! session, taken out once.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use askama::Template;

use super::brand::Brand;
use super::error::PageError;
use super::form::FormData;
use super::htmx::{Htmx, no_store};
use super::integration_access::managed;
use super::layout::set_flash;
use super::team_context::TeamCtx;
use super::urls;
use crate::models::integration::Integration;
use crate::ops::oauth::{self, Callback, ConsentError, Pending};
use crate::state::AppState;
use crate::web::current_user::SignedIn;

/// Session key of the consent on its way.
const CONSENT: &str = "oauth_consent";

/// The path providers send people back to (registered at the provider as the redirect URI).
pub const CALLBACK_PATH: &str = "/oauth/callback";

#[derive(Serialize, Deserialize)]
struct Waiting {
    pending: Pending,
    /// The team's slug (its pages, and the person's role in it, are read again on return).
    team: String,
}

/// POST /teams/{team}/settings/integrations/{integration}/connect → the provider's consent page.
pub async fn connect(
    state: web::Data<AppState>,
    user: SignedIn,
    path: web::Path<(String, String)>,
    htmx: Htmx,
    _form: FormData,
    _req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (team, i) = managed(&state, &user, path.into_inner()).await?;
    begin(&state, &user, &team, &i, htmx).await
}

/// The redirect URI to register at the provider: the callback on the address the team's pages
/// are served from (the public URL, or the agency's brand host).
pub fn redirect_uri(state: &AppState, team: &TeamCtx) -> String {
    format!(
        "{}{CALLBACK_PATH}",
        crate::links::public_base(&state.config.public_url, team.brand.host.as_deref())
    )
}

/// Starts a consent for `i` by `user`: the way on to the provider's consent page. 404 for an
/// integration without a connection that waits for a person's consent.
pub async fn begin(
    state: &AppState,
    user: &SignedIn,
    team: &TeamCtx,
    i: &Integration,
    htmx: Htmx,
) -> Result<HttpResponse, PageError> {
    let redirect_uri = redirect_uri(state, team);
    // Only a connection that waits for a person's consent has a Connect.
    let (url, pending) = oauth::start_consent(state, i, user.id().as_str(), &redirect_uri)
        .await?
        .ok_or(PageError::NotFound)?;
    let waiting = Waiting {
        pending,
        team: team.slug().to_owned(),
    };
    user.session
        .insert(CONSENT, waiting)
        .map_err(|_| PageError::internal("session insert failed"))?;
    // The dashboard's pages allow forms to post only to themselves (CSP form-action 'self'),
    // and browsers hold a form's redirect to another site to that: so the answer is a page
    // that goes on to the provider itself (htmx: a whole-page visit, not a swap).
    if htmx.fragment {
        return Ok(HttpResponse::Ok()
            .insert_header(("HX-Redirect", url.as_str()))
            .finish());
    }
    let page = ContinuePage {
        brand: team.brand.clone(),
        host: url.host_str().unwrap_or_default().to_owned(),
        url: url.to_string(),
        name: i.name.clone(),
    };
    Ok(no_store(
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page.render()?),
    ))
}

#[derive(Template)]
#[template(path = "integrations/connect.html")]
struct ContinuePage {
    brand: Brand,
    host: String,
    url: String,
    name: String,
}

/// Query of the callback.
#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    state: String,
    code: Option<String>,
    error: Option<String>,
}

/// GET /oauth/callback?state=…&code=… (or &error=…) → back to the integrations page, connected
/// or saying why not.
pub async fn callback(
    state: web::Data<AppState>,
    user: SignedIn,
    query: web::Query<CallbackQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let waiting = user.session.get::<Waiting>(CONSENT).ok().flatten();
    user.session.remove(CONSENT);
    let Some(Waiting { pending, team }) = waiting else {
        return Err(PageError::NotFound);
    };
    // Still a member who may manage it (a role can change while a consent page is open).
    let team = TeamCtx::load(&state, &user, &team).await?;
    let actor = team.actor(&state, &user, &req);
    let q = query.into_inner();
    let outcome = oauth::finish_consent(
        &state,
        &actor,
        user.id().as_str(),
        pending,
        Callback {
            state: q.state,
            code: q.code,
            error: q.error,
        },
    )
    .await;
    let flash = match outcome {
        Ok(i) => format!(
            "“{}” is connected: Latchkey renews its tokens from now on.",
            i.name
        ),
        Err(ConsentError::Mismatch) => return Err(PageError::NotFound),
        Err(ConsentError::Declined(why)) => {
            format!("Not connected: the provider answered “{why}”. Nothing changed.")
        }
        Err(ConsentError::Token(oauth::TokenError::Failed(e))) => return Err(e.into()),
        // The code was not exchanged (a wrong PKCE verifier, an expired or used code): the
        // connection is as it was, and Connect can be tried again.
        Err(ConsentError::Token(oauth::TokenError::Refused(why))) => format!(
            "Not connected: the provider refused to exchange the code ({why}). Nothing \
             changed; try Connect again."
        ),
        Err(ConsentError::Token(e)) => format!("Not connected: {}", e.for_people()),
    };
    set_flash(&user.session, &flash);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, urls::integrations(team.slug())))
        .finish())
}

//! The webhook guide (`docs/webhooks.md`, compiled in) as a dashboard page, so a binary's
//! user can read it: `…/settings/webhooks/guide` of a team, `…/webhooks/guide` of an agency.

use std::sync::LazyLock;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use pulldown_cmark::{Event, Options, Parser, html};

use super::WebhookHost;
use crate::render;
use crate::state::AppState;
use crate::web::current_user::SignedIn;
use crate::web::error::PageError;
use crate::web::htmx::Htmx;
use crate::web::layout::PageCtx;
use crate::web::owner_context::OwnerCtx;

/// The webhook guide's Markdown, as committed.
const WEBHOOKS_MD: &str = include_str!("../../../docs/webhooks.md");

/// The guide as HTML, rendered once. The Markdown is ours, but raw HTML in it is shown as
/// text all the same: the page's markup comes from templates and this renderer only.
static WEBHOOKS_HTML: LazyLock<String> = LazyLock::new(|| to_html(WEBHOOKS_MD));

fn to_html(markdown: &str) -> String {
    // The title is the page header's; the guide starts below it.
    let body = markdown
        .strip_prefix("# Webhooks")
        .map_or(markdown, str::trim_start);
    let events = Parser::new_ext(body, Options::ENABLE_TABLES).map(|e| match e {
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut out = String::with_capacity(body.len() * 2);
    html::push_html(&mut out, events);
    out
}

#[derive(Template)]
#[template(path = "guides/webhooks.html", blocks = ["content"])]
struct GuidePage {
    ctx: PageCtx,
    /// Rendered from our own Markdown with raw HTML escaped (see [`WEBHOOKS_HTML`]).
    guide: &'static str,
    webhooks_url: String,
}

/// GET the webhook guide (anyone in the team or agency: developers verify deliveries).
pub async fn show(
    state: web::Data<AppState>,
    user: SignedIn,
    htmx: Htmx,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let host = OwnerCtx::load_reading(&state, &user, &req).await?;
    let page = GuidePage {
        ctx: host.page("Webhook guide", &user, "webhooks"),
        guide: WEBHOOKS_HTML.as_str(),
        webhooks_url: host.base(),
    };
    Ok(render!(htmx, actix_web::http::StatusCode::OK, page)?)
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn the_guide_renders_and_raw_html_stays_text() {
        let html = to_html("# Webhooks\n\n## Verifying\n\nA <script>x</script> and `code`.\n");
        assert!(html.starts_with("<h2>Verifying</h2>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("<code>code</code>"));
        let whole = to_html(super::WEBHOOKS_MD);
        assert!(whole.contains("<h2>Verifying</h2>"));
        assert!(whole.contains("verifySignature"));
    }
}

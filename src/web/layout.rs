//! What every dashboard page's frame needs: user, teams, current team, CSRF token, flash.

use actix_session::Session;

use crate::auth::csrf;
use crate::auth::current_user::SignedIn;
use crate::models::team::MemberTeam;

const FLASH: &str = "flash";

/// A link in the team switcher.
pub struct TeamLink {
    /// Display name.
    pub name: String,
    /// Its API keys page.
    pub url: String,
    /// This is the team being viewed.
    pub current: bool,
}

/// The layout context.
pub struct PageCtx {
    /// `<title>` and `<h1>`.
    pub title: String,
    /// Signed-in user's name.
    pub user_name: String,
    /// Signed-in user's e-mail.
    pub user_email: String,
    /// CSRF token for forms and `hx-headers`.
    pub csrf: String,
    /// Teams to switch to.
    pub teams: Vec<TeamLink>,
    /// Current team's name.
    pub team_name: String,
    /// Current user's role in it.
    pub role: &'static str,
    /// Sidebar section to highlight.
    pub section: &'static str,
    /// Current team's API keys URL.
    pub keys_url: String,
    /// Current team's settings URL.
    pub settings_url: String,
    /// The API reference URL.
    pub reference_url: String,
    /// One-time confirmation message.
    pub flash: Option<String>,
}

impl PageCtx {
    /// The frame for a page of `current` team.
    pub fn new(
        title: impl Into<String>,
        user: &SignedIn,
        teams: &[MemberTeam],
        current: &MemberTeam,
        section: &'static str,
    ) -> Self {
        Self {
            title: title.into(),
            user_name: user.user.name.clone(),
            user_email: user.user.email.clone(),
            csrf: csrf::token(&user.session),
            teams: teams
                .iter()
                .map(|t| TeamLink {
                    name: t.team.name.clone(),
                    url: super::urls::api_keys(&t.team.slug),
                    current: t.team.id == current.team.id,
                })
                .collect(),
            team_name: current.team.name.clone(),
            role: current.role.as_str(),
            section,
            keys_url: super::urls::api_keys(&current.team.slug),
            settings_url: super::urls::team_settings(&current.team.slug),
            reference_url: super::urls::api_reference(&current.team.slug),
            flash: take_flash(&user.session),
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

/// Stores a message for the next page (Post/Redirect/Get).
pub fn set_flash(session: &Session, message: &str) {
    let _ = session.insert(FLASH, message);
}

fn take_flash(session: &Session) -> Option<String> {
    session.remove_as::<String>(FLASH).and_then(Result::ok)
}

//! The mails Latchkey sends, written once each as plain text and HTML (askama templates under
//! `templates/mail/`, escaped in the HTML part) from the facts an operation gathered.

use askama::Template;

use super::Mail;
use crate::timefmt;

/// Whose name and colour a mail wears: Latchkey's, or the agency's for its clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Brand {
    /// The product name ("Latchkey", or the agency's).
    pub name: String,
    /// `#rrggbb`, for the HTML part's header rule and button.
    pub colour: String,
    /// Where replies go (an agency's support address).
    pub support: Option<String>,
}

impl Brand {
    /// Latchkey's own look (`sender` is the configured sender's display name).
    pub fn latchkey(sender: &str) -> Self {
        Self {
            name: sender.to_owned(),
            colour: DEFAULT_COLOUR.to_owned(),
            support: None,
        }
    }
}

/// The dashboard's own brand colour (`--brand` in `static/app.css`).
pub const DEFAULT_COLOUR: &str = "#4f46e5";

/// An invitation to a team or an agency.
#[derive(Clone, Debug)]
pub struct Invitation {
    /// The invited address.
    pub to: String,
    /// Who invited them (display name).
    pub inviter: String,
    /// The inviter's address, so the invitee can tell it is expected.
    pub inviter_email: String,
    /// The team's or agency's name.
    pub place: String,
    /// "admin", "developer"…, or "operator".
    pub role: String,
    /// The one-time link.
    pub link: String,
    /// When the link stops working (Unix seconds).
    pub expires_at: i64,
    /// The look.
    pub brand: Brand,
}

/// A key about to expire, or just expired.
#[derive(Clone, Debug)]
pub struct KeyExpiry {
    /// The key's name.
    pub key_name: String,
    /// Its masked form (`sk_live_AbCd…wxYz`), never more.
    pub masked: String,
    /// `live` or `test`.
    pub mode: String,
    /// The team's name.
    pub team: String,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// Whole days left (7, 1) or `None` once expired.
    pub days_left: Option<i64>,
    /// Its page.
    pub link: String,
    /// The look.
    pub brand: Brand,
}

/// A password reset link, asked for on the sign-in page.
#[derive(Clone, Debug)]
pub struct PasswordReset {
    /// The account's address.
    pub to: String,
    /// The one-time link.
    pub link: String,
    /// When it stops working (Unix seconds).
    pub expires_at: i64,
    /// The address the request came from, if known.
    pub requested_from: Option<String>,
    /// The look.
    pub brand: Brand,
}

#[derive(Template)]
#[template(path = "mail/password_reset.txt")]
struct PasswordResetText<'a> {
    m: &'a PasswordReset,
    expires: String,
}

#[derive(Template)]
#[template(path = "mail/password_reset.html")]
struct PasswordResetHtml<'a> {
    m: &'a PasswordReset,
    expires: String,
    brand: &'a Brand,
}

impl PasswordReset {
    /// The mail.
    pub fn mail(&self) -> Result<Mail, askama::Error> {
        let expires = timefmt::human(self.expires_at);
        Ok(Mail {
            to: self.to.clone(),
            sender_name: self.brand.name.clone(),
            reply_to: self.brand.support.clone(),
            subject: format!("Reset your {} password", self.brand.name),
            text: PasswordResetText {
                m: self,
                expires: expires.clone(),
            }
            .render()?,
            html: PasswordResetHtml {
                m: self,
                expires,
                brand: &self.brand,
            }
            .render()?,
        })
    }
}

/// A link confirming an account's new e-mail address, sent to that address.
#[derive(Debug)]
pub struct EmailChange {
    /// The new address (the mail goes there).
    pub to: String,
    /// The account's current address.
    pub from: String,
    /// The one-time link.
    pub link: String,
    /// When it stops working (Unix seconds).
    pub expires_at: i64,
    /// The look.
    pub brand: Brand,
}

#[derive(Template)]
#[template(path = "mail/email_change.txt")]
struct EmailChangeText<'a> {
    m: &'a EmailChange,
    expires: String,
}

#[derive(Template)]
#[template(path = "mail/email_change.html")]
struct EmailChangeHtml<'a> {
    m: &'a EmailChange,
    expires: String,
    brand: &'a Brand,
}

impl EmailChange {
    /// The mail.
    pub fn mail(&self) -> Result<Mail, askama::Error> {
        let expires = timefmt::human(self.expires_at);
        Ok(Mail {
            to: self.to.clone(),
            sender_name: self.brand.name.clone(),
            reply_to: self.brand.support.clone(),
            subject: format!("Confirm your new {} e-mail address", self.brand.name),
            text: EmailChangeText {
                m: self,
                expires: expires.clone(),
            }
            .render()?,
            html: EmailChangeHtml {
                m: self,
                expires,
                brand: &self.brand,
            }
            .render()?,
        })
    }
}

/// The notice to an account's old address once its new one is confirmed (as GitHub and Stripe
/// send): the one mail a hijacker who changed the address cannot stop.
#[derive(Debug)]
pub struct EmailChanged {
    /// The old address (the mail goes there).
    pub to: String,
    /// The address the account signs in with now.
    pub new: String,
    /// When it changed (Unix seconds).
    pub at: i64,
    /// The look.
    pub brand: Brand,
}

#[derive(Template)]
#[template(path = "mail/email_changed.txt")]
struct EmailChangedText<'a> {
    m: &'a EmailChanged,
    at: String,
}

#[derive(Template)]
#[template(path = "mail/email_changed.html")]
struct EmailChangedHtml<'a> {
    m: &'a EmailChanged,
    at: String,
    brand: &'a Brand,
}

impl EmailChanged {
    /// The mail.
    pub fn mail(&self) -> Result<Mail, askama::Error> {
        let at = timefmt::human(self.at);
        Ok(Mail {
            to: self.to.clone(),
            sender_name: self.brand.name.clone(),
            reply_to: self.brand.support.clone(),
            subject: format!("Your {} e-mail address was changed", self.brand.name),
            text: EmailChangedText {
                m: self,
                at: at.clone(),
            }
            .render()?,
            html: EmailChangedHtml {
                m: self,
                at,
                brand: &self.brand,
            }
            .render()?,
        })
    }
}

#[derive(Template)]
#[template(path = "mail/invitation.txt")]
struct InvitationText<'a> {
    m: &'a Invitation,
    expires: String,
}

#[derive(Template)]
#[template(path = "mail/invitation.html")]
struct InvitationHtml<'a> {
    m: &'a Invitation,
    expires: String,
    brand: &'a Brand,
}

#[derive(Template)]
#[template(path = "mail/key_expiry.txt")]
struct KeyExpiryText<'a> {
    m: &'a KeyExpiry,
    when: String,
    headline: String,
}

#[derive(Template)]
#[template(path = "mail/key_expiry.html")]
struct KeyExpiryHtml<'a> {
    m: &'a KeyExpiry,
    when: String,
    headline: String,
    brand: &'a Brand,
}

impl Invitation {
    /// The mail.
    pub fn mail(&self) -> Result<Mail, askama::Error> {
        let expires = timefmt::human(self.expires_at);
        Ok(Mail {
            to: self.to.clone(),
            sender_name: self.brand.name.clone(),
            reply_to: self.brand.support.clone(),
            subject: format!(
                "{} invited you to {} on {}",
                self.inviter, self.place, self.brand.name
            ),
            text: InvitationText {
                m: self,
                expires: expires.clone(),
            }
            .render()?,
            html: InvitationHtml {
                m: self,
                expires,
                brand: &self.brand,
            }
            .render()?,
        })
    }
}

impl KeyExpiry {
    /// One mail per recipient in `to`.
    pub fn mails(&self, to: &[String]) -> Result<Vec<Mail>, askama::Error> {
        let headline = match self.days_left {
            Some(1) => format!("The API key “{}” expires tomorrow", self.key_name),
            Some(d) => format!("The API key “{}” expires in {d} days", self.key_name),
            None => format!("The API key “{}” has expired", self.key_name),
        };
        let when = timefmt::human(self.expires_at);
        let text = KeyExpiryText {
            m: self,
            when: when.clone(),
            headline: headline.clone(),
        }
        .render()?;
        let html = KeyExpiryHtml {
            m: self,
            when,
            headline: headline.clone(),
            brand: &self.brand,
        }
        .render()?;
        Ok(to
            .iter()
            .map(|addr| Mail {
                to: addr.clone(),
                sender_name: self.brand.name.clone(),
                reply_to: self.brand.support.clone(),
                subject: format!("{headline} — {}", self.team),
                text: text.clone(),
                html: html.clone(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> Brand {
        Brand {
            name: "Northwind <Keys>".into(),
            colour: "#0f766e".into(),
            support: Some("help@northwind.test".into()),
        }
    }

    #[test]
    fn an_invitation_reads_the_same_in_both_parts_and_escapes_html() {
        let m = Invitation {
            to: "grace@example.com".into(),
            inviter: "Ada <script>".into(),
            inviter_email: "ada@acme.test".into(),
            place: "Acme & Co".into(),
            role: "developer".into(),
            link: "https://keys.example.com/invitations?token=abc".into(),
            expires_at: 1_768_384_800,
            brand: brand(),
        }
        .mail()
        .expect("renders");
        assert_eq!(
            m.subject,
            "Ada <script> invited you to Acme & Co on Northwind <Keys>"
        );
        assert!(
            m.text
                .contains("https://keys.example.com/invitations?token=abc")
        );
        assert!(m.text.contains("as developer"), "{}", m.text);
        assert!(m.text.contains("14 Jan 2026, 10:00 UTC"), "{}", m.text);
        assert!(m.html.contains("Ada &#60;script&#62;") || m.html.contains("Ada &lt;script&gt;"));
        assert!(!m.html.contains("<script>"));
        assert!(m.html.contains("#0f766e"));
        assert_eq!(m.reply_to.as_deref(), Some("help@northwind.test"));
    }

    #[test]
    fn expiry_notices_say_how_long_is_left() {
        let k = KeyExpiry {
            key_name: "Deploy bot".into(),
            masked: "sk_live_AbCd…wxYz".into(),
            mode: "live".into(),
            team: "Acme Labs".into(),
            expires_at: 1_768_384_800,
            days_left: Some(1),
            link: "https://keys.example.com/teams/acme/settings/api-keys/k1".into(),
            brand: Brand::latchkey("Latchkey"),
        };
        let mails = k
            .mails(&["a@x.test".into(), "b@x.test".into()])
            .expect("renders");
        assert_eq!(mails.len(), 2);
        assert_eq!(
            mails[0].subject,
            "The API key “Deploy bot” expires tomorrow — Acme Labs"
        );
        assert!(mails[1].text.contains("sk_live_AbCd…wxYz"));
        let gone = KeyExpiry {
            days_left: None,
            ..k
        };
        assert!(
            gone.mails(&["a@x.test".into()]).expect("renders")[0]
                .subject
                .starts_with("The API key “Deploy bot” has expired")
        );
    }
}

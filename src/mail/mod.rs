//! E-mail, when an operator sets `LATCHKEY_SMTP_URL` (it is optional: without it every flow
//! works through links shown in the dashboard). One [`Mailer`] sends what [`compose`] writes —
//! invitations and key-expiry notices, plain text and HTML, in the agency's brand where there
//! is one — and never a secret: a mail carries a one-time invitation link or a masked key, no
//! key, password, token or vault secret.
//!
//! The SMTP server is the operator's own (its URL is configuration, not user input), so it is
//! reached directly, not through the guarded outbound client, which exists to keep *user*
//! supplied URLs off private networks.

pub mod compose;

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{Address, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How long one SMTP exchange may take in all (connect, greeting, every command).
const SEND_TIMEOUT: Duration = Duration::from_secs(15);
/// Each SMTP command's own timeout, inside [`SEND_TIMEOUT`].
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// One message, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    /// The display name it comes from ("Latchkey", or the agency's product name).
    pub sender_name: String,
    /// Where replies go (an agency's support address), if anywhere.
    pub reply_to: Option<String>,
    /// Subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (same words).
    pub html: String,
}

/// Why a mail did not leave. The words are safe to show and log: never the server's
/// credentials, never the message.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The recipient or sender address is not one SMTP accepts.
    #[error("the address is not valid for e-mail: {0}")]
    Address(String),
    /// The mail server refused or failed the exchange.
    #[error("the mail server refused the message: {0}")]
    Refused(String),
    /// Nothing answered in time.
    #[error("the mail server did not answer within {} seconds", SEND_TIMEOUT.as_secs())]
    Timeout,
}

/// What happened to a mail sent while a page waits (an invitation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// E-mail is not configured; the link is handed over in the page only.
    Off,
    /// The mail server accepted it.
    Sent,
    /// It could not be sent (the reason, safe to show).
    Failed(String),
}

/// The configured SMTP server and sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
    from_name: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds the SMTP credentials.
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// A mailer for `url` (`smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`) sending as `from` (`Name <address>` or an address); the
    /// default sender is `Latchkey <latchkey@{public host}>`. Errors are start-up messages.
    pub fn new(url: &SecretString, from: Option<&str>, public_host: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| {
                format!(
                    "LATCHKEY_SMTP_URL is not an SMTP URL this server can use ({}); use \
                     smtp://host:25, smtp://user:password@host:587?tls=required or \
                     smtps://user:password@host:465",
                    without_url(&e.to_string())
                )
            })?
            .timeout(Some(COMMAND_TIMEOUT))
            .build();
        let default_from = format!("Latchkey <latchkey@{public_host}>");
        let raw = from.map(str::trim).filter(|f| !f.is_empty());
        let mailbox: Mailbox = raw
            .unwrap_or(&default_from)
            .parse()
            .map_err(|_| match raw {
                Some(f) => format!("LATCHKEY_MAIL_FROM is not an e-mail address: {f}"),
                None => format!(
                    "the default sender {default_from} is not an address mail servers accept; set \
                 LATCHKEY_MAIL_FROM, e.g. \"Latchkey <keys@example.com>\""
                ),
            })?;
        Ok(Self {
            transport,
            from_name: mailbox.name.clone().unwrap_or_else(|| "Latchkey".into()),
            from: mailbox.email,
        })
    }

    /// The sender's display name when a mail carries no brand of its own.
    pub fn default_sender_name(&self) -> &str {
        &self.from_name
    }

    /// Sends `mail` (multipart: plain text and HTML), waiting at most 15 seconds.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = self.message(mail)?;
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Err(_) => Err(MailError::Timeout),
            Ok(Err(e)) if e.is_timeout() => Err(MailError::Timeout),
            Ok(Err(e)) => Err(MailError::Refused(without_url(&e.to_string()))),
            Ok(Ok(_)) => Ok(()),
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        let to: Address = mail
            .to
            .parse()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        let mut builder = Message::builder()
            .from(Mailbox::new(
                Some(mail.sender_name.clone()),
                self.from.clone(),
            ))
            .to(Mailbox::new(None, to))
            .subject(mail.subject.clone());
        if let Some(reply) = mail.reply_to.as_deref().and_then(|r| r.parse().ok()) {
            builder = builder.reply_to(Mailbox::new(None, reply));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| MailError::Refused(e.to_string()))
    }
}

/// An error's text without anything that looks like a URL (which could carry credentials).
fn without_url(text: &str) -> String {
    text.split_whitespace()
        .map(|w| if w.contains("://") { "<url>" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer(from: Option<&str>) -> Result<Mailer, String> {
        Mailer::new(
            &SecretString::from("smtp://user:hunter2@127.0.0.1:2525"),
            from,
            "keys.example.com",
        )
    }

    #[test]
    fn the_sender_defaults_to_latchkey_at_the_public_host() {
        let m = mailer(None).expect("mailer");
        assert_eq!(m.from.to_string(), "latchkey@keys.example.com");
        assert_eq!(m.default_sender_name(), "Latchkey");
        let m = mailer(Some("Key Desk <desk@acme.test>")).expect("mailer");
        assert_eq!(
            (m.from.to_string(), m.default_sender_name()),
            ("desk@acme.test".to_owned(), "Key Desk")
        );
    }

    #[test]
    fn bad_settings_are_refused_at_start_without_echoing_credentials() {
        let e = mailer(Some("not an address")).expect_err("refused");
        assert!(e.contains("LATCHKEY_MAIL_FROM"), "{e}");
        let e = Mailer::new(
            &SecretString::from("http://user:hunter2@mail.test"),
            None,
            "keys.example.com",
        )
        .expect_err("refused");
        assert!(e.contains("LATCHKEY_SMTP_URL"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(format!("{:?}", mailer(None).expect("mailer")).contains("keys.example.com"));
        assert!(!format!("{:?}", mailer(None).expect("mailer")).contains("hunter2"));
    }
}

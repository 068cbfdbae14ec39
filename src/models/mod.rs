//! Tables and their queries. Handlers call these inside `web::block`; nothing else builds SQL.

pub mod agency;
pub mod agent_loop;
pub mod api_key;
pub mod api_key_list;
pub mod audit;
pub mod bot;
pub mod channel;
pub mod cluster;
pub mod conversation;
pub mod email_change;
pub mod integration;
pub mod invitation;
pub mod key_address;
pub mod key_notice;
pub mod mail_queue;
pub mod oauth_connection;
pub mod outbox;
pub mod passkey;
pub mod password_reset;
pub mod retention;
pub mod security_event;
pub mod session;
pub mod setup;
pub mod team;
pub mod tenant;
pub mod throttle;
pub mod two_factor;
pub mod usage;
pub mod user;
pub mod vault_check;
pub mod webhook;

/// Digests of stored secrets; re-exported here for the models that key rows by them.
pub use crate::domain::sha256_hex;

/// `%`, `_` and `\` taken literally in a LIKE pattern (with `ESCAPE '\'`).
pub(crate) fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The plaintext token of a one-time link (a password reset, an e-mail change): in the mail or
/// on the operator's console only; the database keeps its SHA-256.
pub struct LinkToken(String);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(…)")
    }
}

impl LinkToken {
    /// A new random token (32 base62 characters, about 190 bits).
    pub fn draw() -> Self {
        Self(crate::domain::base62::random(32))
    }

    /// The token, for the link.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the database keeps of it.
    pub fn digest(&self) -> String {
        sha256_hex(&self.0)
    }
}

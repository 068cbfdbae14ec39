//! Background work that runs inside the server process.

pub mod key_notices;
pub mod mail;
pub mod oauth_keepalive;
pub mod retention;
pub mod webhooks;

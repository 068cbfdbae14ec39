//! Background work that runs inside the server process.

pub mod retention;
pub mod webhooks;

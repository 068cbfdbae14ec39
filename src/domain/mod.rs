//! Parsed, valid values. Once a value has one of these types it needs no further checks.

pub mod api_key_secret;
pub mod base62;
pub mod ids;
pub mod inputs;
pub mod role;
pub mod scope;

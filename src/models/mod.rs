//! Tables and their queries. Handlers call these inside `web::block`; nothing else builds SQL.

pub mod agent_loop;
pub mod api_key;
pub mod audit;
pub mod bot;
pub mod channel;
pub mod conversation;
pub mod integration;
pub mod session;
pub mod setup;
pub mod team;
pub mod tenant;
pub mod throttle;
pub mod user;

use sha2::{Digest, Sha256};

/// Hex SHA-256, for values stored only as digests (session keys, tokens, e-mail throttles).
pub fn sha256_hex(input: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(64);
    for byte in Sha256::digest(input.as_bytes()) {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

//! Parsed, valid values. Once a value has one of these types it needs no further checks.

pub mod agent_loop;
pub mod api_key_secret;
pub mod audit;
pub mod base62;
pub mod brand;
pub mod ids;
pub mod inputs;
pub mod integration;
pub mod key_hygiene;
pub mod key_list;
pub mod key_notice;
pub mod limits;
pub mod local_path;
pub mod net;
pub mod role;
pub mod scope;
pub mod tenant;
pub mod two_factor;
pub mod webhook;

/// Hex SHA-256: the only form in which secrets (API keys, session keys, tokens) are stored.
pub fn sha256_hex(input: &str) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(input.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        hex.push(HEX[usize::from(byte >> 4)] as char);
        hex.push(HEX[usize::from(byte & 0xf)] as char);
    }
    hex
}

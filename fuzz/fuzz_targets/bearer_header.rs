//! The `Authorization` parser: never panics; whatever it accepts is `Bearer`, spaces, and a
//! token of 1–255 bytes with no whitespace or control bytes.
#![no_main]

use latchkey::api::auth::{MAX_TOKEN_LEN, parse_bearer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(token) = parse_bearer(value) {
        assert!(value.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("bearer ")));
        assert!(!token.is_empty() && token.len() <= MAX_TOKEN_LEN);
        assert!(!token.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()));
        assert!(value.ends_with(token));
    }
});

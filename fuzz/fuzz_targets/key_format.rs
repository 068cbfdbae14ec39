//! The key format: the hot path's borrowed check (`KeyDigest::of_presented`) and the owned
//! parser (`ApiKeySecret::parse`) agree on every input, never panic, and an accepted key
//! matches the published scanner pattern and hashes to the digest that is stored.
#![no_main]

use latchkey::domain::api_key_secret::{ApiKeySecret, KeyDigest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let borrowed = KeyDigest::of_presented(raw);
    let owned = ApiKeySecret::parse(raw);
    assert_eq!(borrowed.is_ok(), owned.is_ok(), "{raw:?}");
    if let (Ok(digest), Ok(secret)) = (borrowed, owned) {
        assert_eq!(digest.to_hex(), secret.digest());
        assert_eq!(secret.expose(), raw);
        let body_start = raw.rfind('_').map_or(0, |i| i + 1);
        assert_eq!(raw.len() - body_start, 38);
        assert!(raw.starts_with("sk_live_") || raw.starts_with("sk_test_"));
        assert!(raw[body_start..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }
});

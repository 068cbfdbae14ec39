//! `next=` after sign-in: whatever survives `LocalPath::parse`, resolved by the WHATWG URL
//! parser against our origin as a browser would resolve a `Location` header, stays on it.
#![no_main]

use latchkey::domain::local_path::LocalPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Some(path) = LocalPath::parse(raw) else {
        return;
    };
    let base = url::Url::parse("https://latchkey.example/teams/acme").expect("base");
    let resolved = base.join(path.as_str()).expect("a local path always resolves");
    assert_eq!(resolved.origin(), base.origin(), "{raw:?} leaves the site: {resolved}");
    // And it is a valid header value (no CR/LF to split the response).
    assert!(path.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)));
});

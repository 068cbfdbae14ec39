//! The body decoders: urlencoded forms (the dashboard) and JSON object bodies with their field
//! validation (the API) never panic on any input, and every accepted single-line string obeys
//! the documented rules (length, no control or invisible formatting characters).
#![no_main]

use latchkey::api::request::{Fields, JsonObject};
use latchkey::web::form::FormData;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let form = FormData::parse(data);
    let _ = (form.get("name"), form.all("scopes"));
    if let Ok(body) = JsonObject::parse(data) {
        let mut f = Fields::new(body.0, &["name", "limit", "bot_id"]);
        if let Some(name) = f.string("name", false, 1, 64) {
            assert!(!name.is_empty() && name.chars().count() <= 64);
            assert!(!name.chars().any(char::is_control));
            assert!(!latchkey::domain::inputs::has_invisible_formatting(&name));
        }
        let _ = f.integer("limit", false, 1, 100);
        let _ = f.finish();
    }
});

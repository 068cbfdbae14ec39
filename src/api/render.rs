//! JSON shapes shared by the API's objects.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::timefmt;

/// `2026-01-15T10:00:00Z`, or null.
pub fn time(unix: Option<i64>) -> Value {
    unix.map_or(Value::Null, |t| json!(timefmt::iso(t)))
}

/// `value` as the JSON body, serialized into one buffer sized for a typical object (actix's
/// `json()` starts small and regrows several times for every response).
pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    let mut body = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => HttpResponse::build(status)
            .content_type(actix_web::http::header::ContentType::json())
            .body(body),
        // Our shapes have string keys only; serde_json cannot fail on them.
        Err(e) => actix_web::ResponseError::error_response(
            &super::error::ApiError::ServiceUnavailable(e.to_string()),
        ),
    }
}

/// A JSON document written piece by piece: literal syntax and field names as given, string
/// values escaped exactly as serde_json escapes them. Only for `/v1/me`, which clients poll as
/// a key health check: with serde's derive, escaping the field names on every call was most of
/// the endpoint's own cost (measured with callgrind, docs/benchmarks.md).
pub struct JsonWriter(Vec<u8>);

impl Default for JsonWriter {
    fn default() -> Self {
        Self(Vec::with_capacity(512))
    }
}

impl JsonWriter {
    /// Literal JSON — punctuation and field names, `'static` so it is never request data.
    pub fn raw(&mut self, json: &'static str) -> &mut Self {
        self.0.extend_from_slice(json.as_bytes());
        self
    }

    /// A string value.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.joined(&[s])
    }

    /// One string value made of `parts` (a masked key), without joining them first.
    pub fn joined(&mut self, parts: &[&str]) -> &mut Self {
        // Most values (ids, modes, times, scopes, masked keys) need no escaping at all.
        let plain = |s: &&str| s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
        if parts.iter().all(plain) {
            self.0.push(b'"');
            for part in parts {
                self.0.extend_from_slice(part.as_bytes());
            }
            self.0.push(b'"');
        } else if serde_json::to_writer(&mut self.0, &parts.concat()).is_err() {
            // Writing to a Vec cannot fail; keep the document valid regardless.
            self.0.extend_from_slice(b"null");
        }
        self
    }

    /// A time as an ISO 8601 UTC string, or `null`.
    pub fn time(&mut self, unix: Option<i64>) -> &mut Self {
        let Some(t) = unix else {
            return self.raw("null");
        };
        match crate::timefmt::iso_bytes(t) {
            // Digits and separators: nothing to escape.
            Some(iso) => {
                self.0.push(b'"');
                self.0.extend_from_slice(&iso);
                self.0.push(b'"');
                self
            }
            None => self.str(&crate::timefmt::iso(t)),
        }
    }

    /// A string value or `null`.
    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => self.raw("null"),
        }
    }

    /// The document's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// A JSON document already written, as a `200 OK` response.
pub fn ok_json(body: impl actix_web::body::MessageBody + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderValue::from_static("application/json"),
        ))
        .body(body)
}

/// `{"object":"list","data":[…],"has_more":…}`.
pub fn list(data: Vec<Value>, has_more: bool) -> HttpResponse {
    json(
        StatusCode::OK,
        &json!({ "object": "list", "data": data, "has_more": has_more }),
    )
}

/// A single object with a status.
pub fn object(status: StatusCode, body: Value) -> HttpResponse {
    json(status, &body)
}

/// `{"id":…,"object":…,"deleted":true}`.
pub fn deleted(object: &str, id: &str) -> HttpResponse {
    json(
        StatusCode::OK,
        &json!({ "id": id, "object": object, "deleted": true }),
    )
}

/// A response that carries a secret shown once (a key, a signing secret): never cached.
pub fn shown_once(status: StatusCode, body: Value) -> HttpResponse {
    let mut res = object(status, body);
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonWriter)) -> String {
        let mut w = JsonWriter::default();
        f(&mut w);
        String::from_utf8(w.0).expect("utf-8")
    }

    #[test]
    fn times_and_joined_strings_are_json_whatever_they_hold() {
        assert_eq!(
            written(|w| {
                w.time(Some(1_768_471_200));
            }),
            r#""2026-01-15T10:00:00Z""#
        );
        assert_eq!(
            written(|w| {
                w.time(None);
            }),
            "null"
        );
        // Before year 0 the general formatter answers (and the JSON stays valid).
        let far = written(|w| {
            w.time(Some(-62_200_000_000));
        });
        assert!(far.starts_with("\"-") && far.ends_with("Z\""), "{far}");
        assert_eq!(
            written(|w| {
                w.joined(&["sk_live_", "AbCd", "…", "wxyz"]);
            }),
            r#""sk_live_AbCd…wxyz""#
        );
        let escaped = written(|w| {
            w.joined(&["a\"b", "\\", "\n"]);
        });
        assert_eq!(
            serde_json::from_str::<String>(&escaped).expect("valid JSON"),
            "a\"b\\\n"
        );
    }
}

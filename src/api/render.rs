//! JSON shapes shared by the API's objects.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::{Value, json};

use crate::web::timefmt;

/// `2026-01-15T10:00:00Z`, or null.
pub fn time(unix: Option<i64>) -> Value {
    unix.map_or(Value::Null, |t| json!(timefmt::iso(t)))
}

/// `{"object":"list","data":[…],"has_more":…}`.
pub fn list(data: Vec<Value>, has_more: bool) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "object": "list", "data": data, "has_more": has_more }))
}

/// A single object with a status.
pub fn object(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).json(body)
}

/// `{"id":…,"object":…,"deleted":true}`.
pub fn deleted(object: &str, id: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "id": id, "object": object, "deleted": true }))
}

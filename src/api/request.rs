//! Reading API requests: JSON object bodies (bounded, typed errors), field validation with
//! per-field messages, and list pagination (`limit`, `starting_after`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Largest JSON body accepted.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// A JSON object body.
pub struct JsonObject(pub Map<String, Value>);

impl FromRequest for JsonObject {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        let declared = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let has_type = req.headers().contains_key("content-type");
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > MAX_JSON_BYTES) {
                return Err(ApiError::PayloadTooLarge);
            }
            // No body at all (no type, no length) is an empty object: optional bodies may be
            // left out. A body of another type is refused.
            if !is_json && (has_type || declared.unwrap_or(0) > 0) {
                return Err(ApiError::UnsupportedMediaType);
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    if crate::deadline::is_timeout(&e) {
                        ApiError::RequestTimeout
                    } else {
                        ApiError::field("body", "The body could not be read.")
                    }
                })?;
                if body.len() + chunk.len() > MAX_JSON_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() && !has_type {
                return Ok(JsonObject(Map::new()));
            }
            JsonObject::parse(&body)
        })
    }
}

impl JsonObject {
    /// Decodes a body that must be one JSON object.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(_) => Err(ApiError::field("body", "The body must be a JSON object.")),
            Err(_) => Err(ApiError::field("body", "The body is not valid JSON.")),
        }
    }
}

/// Validates the fields of a JSON object, collecting one message per bad field.
pub struct Fields {
    map: Map<String, Value>,
    errors: Vec<(String, String)>,
}

impl Fields {
    /// Starts validation; any field not in `allowed` is an error.
    pub fn new(map: Map<String, Value>, allowed: &[&str]) -> Self {
        let errors = map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| (k.clone(), "Unknown field.".to_owned()))
            .collect();
        Self { map, errors }
    }

    /// Records a problem with `field`.
    pub fn error(&mut self, field: &str, message: &str) {
        if !self.errors.iter().any(|(f, _)| f == field) {
            self.errors.push((field.to_owned(), message.to_owned()));
        }
    }

    /// True when `field` is present (even as null).
    pub fn has(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// The raw value.
    pub fn raw(&self, field: &str) -> Option<&Value> {
        self.map.get(field)
    }

    /// A single-line string: at most `max` characters as sent, at least `min` after trimming
    /// surrounding whitespace, no control characters. Returned trimmed; `None` when absent
    /// (an error if `required`; `null` counts as absent) or invalid.
    pub fn string(
        &mut self,
        field: &str,
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<String> {
        self.checked_string(field, required, min, max, false)
    }

    /// Like [`Fields::string`], but newlines and tabs are allowed (descriptions, instructions).
    pub fn text(&mut self, field: &str, required: bool, max: usize) -> Option<String> {
        self.checked_string(field, required, 0, max, true)
    }

    fn checked_string(
        &mut self,
        field: &str,
        required: bool,
        min: usize,
        max: usize,
        multiline: bool,
    ) -> Option<String> {
        match self.map.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.error(field, "This field is required.");
                }
                None
            }
            Some(Value::String(s)) => {
                let allowed_control = |c: char| multiline && (c == '\n' || c == '\t');
                let t = s.trim();
                if t.chars().count() < min {
                    self.error(
                        field,
                        if min == 1 {
                            "Must not be empty."
                        } else {
                            "Too short."
                        },
                    );
                    None
                } else if s.chars().count() > max {
                    self.error(field, &format!("Must be at most {max} characters."));
                    None
                } else if s.chars().any(|c| c.is_control() && !allowed_control(c)) {
                    self.error(field, "Must not contain control characters.");
                    None
                } else if !multiline && crate::domain::inputs::has_invisible_formatting(s) {
                    self.error(
                        field,
                        "Must not contain invisible formatting characters (direction marks or zero-width spaces).",
                    );
                    None
                } else {
                    Some(t.to_owned())
                }
            }
            Some(_) => {
                self.error(field, "Must be a string.");
                None
            }
        }
    }

    /// A string that must be one of `options`.
    pub fn one_of(&mut self, field: &str, required: bool, options: &[&str]) -> Option<String> {
        let value = self.string(field, required, 1, 64)?;
        if options.contains(&value.as_str()) {
            Some(value)
        } else {
            self.error(field, &format!("Must be one of: {}.", options.join(", ")));
            None
        }
    }

    /// An integer in `min..=max`.
    pub fn integer(&mut self, field: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        match self.map.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.error(field, "This field is required.");
                }
                None
            }
            // JSON Schema's "integer" includes 5.0; so does the API.
            Some(v) => match v.as_i64().or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            }) {
                Some(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    self.error(field, &format!("Must be an integer from {min} to {max}."));
                    None
                }
            },
        }
    }

    /// An array of strings.
    pub fn strings(&mut self, field: &str, max_items: usize) -> Option<Vec<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.len() <= max_items => {
                let strings: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect();
                if strings.is_none() {
                    self.error(field, "Must be an array of strings.");
                }
                strings
            }
            Some(_) => {
                self.error(
                    field,
                    &format!("Must be an array of at most {max_items} strings."),
                );
                None
            }
        }
    }

    /// Takes a field's raw value out.
    pub fn take(&mut self, field: &str) -> Option<Value> {
        self.map.remove(field)
    }

    /// Ok when every field was valid.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// List parameters.
pub struct Page {
    /// 1–100, default 20.
    pub limit: i64,
    /// An object id to continue after.
    pub starting_after: Option<String>,
}

impl Page {
    /// Reads `limit` and `starting_after` from the query string.
    pub fn from_query(query: &web::Query<HashMap<String, String>>) -> Result<Self, ApiError> {
        let limit = match query.get("limit") {
            None => 20,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    return Err(ApiError::field(
                        "limit",
                        "Must be an integer from 1 to 100.",
                    ));
                }
            },
        };
        let starting_after = query
            .get("starting_after")
            .filter(|s| !s.is_empty())
            .cloned();
        Ok(Self {
            limit,
            starting_after,
        })
    }
}

impl Page {
    /// This page of a list held whole in memory (`rows`, in list order): the rows after the
    /// `starting_after` one, cut to `limit`, and whether more follow. A cursor that names none
    /// of them is a 422 "No such {noun}.".
    pub fn of_all<T>(
        &self,
        mut rows: Vec<T>,
        id: impl Fn(&T) -> &str,
        noun: &str,
    ) -> Result<(Vec<T>, bool), ApiError> {
        if let Some(after) = &self.starting_after {
            let at = rows
                .iter()
                .position(|r| id(r) == after)
                .ok_or_else(|| ApiError::field("starting_after", &format!("No such {noun}.")))?;
            rows.drain(..=at);
        }
        Ok(paginate(rows, self.limit))
    }
}

/// Cuts a `limit + 1` result down to `limit`, reporting whether more exist.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let has_more = rows.len() > limit;
    rows.truncate(limit);
    (rows, has_more)
}

//! The dashboard's form extractor: urlencoded body (bounded), CSRF token checked against the
//! session. Every unsafe dashboard route takes one, so none can forget the check. Parsing is
//! lenient (repeated keys allowed, unknown fields ignored): what the fields mean is decided by
//! the handler, which answers bad values with a 422 page.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::StreamExt;

use super::error::PageError;
use crate::auth::csrf;

/// Largest form body accepted.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A verified form post.
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// The first value of `key`, or "".
    pub fn get(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key` (checkbox groups).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Takes ownership of the first value of `key` (passwords), or "".
    pub fn take(&mut self, key: &str) -> String {
        self.pairs
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| std::mem::take(v))
            .unwrap_or_default()
    }
}

impl FromRequest for FormData {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let header_token = req
            .headers()
            .get(csrf::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_type_ok = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(PageError::BadRequest(
                    "Forms must be sent as application/x-www-form-urlencoded.",
                ));
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|_| PageError::BadRequest("The form could not be read."))?;
                if body.len() + chunk.len() > MAX_FORM_BYTES {
                    return Err(PageError::BadRequest("The form is too large."));
                }
                body.extend_from_slice(&chunk);
            }
            let pairs: Vec<(String, String)> = form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let form = FormData { pairs };
            let presented = header_token.as_deref().or(Some(form.get(csrf::FIELD)));
            if !csrf::verify(&session, presented) {
                return Err(PageError::CsrfRejected);
            }
            Ok(form)
        })
    }
}

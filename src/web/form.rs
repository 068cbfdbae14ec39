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

/// What both extractors read from the request before the body: the session, the CSRF token
/// of an htmx header (if any), and whether the body has the expected content type.
struct Preamble {
    session: actix_session::Session,
    header_token: Option<String>,
    content_type_ok: bool,
}

impl Preamble {
    fn read(req: &HttpRequest, content_type: &str) -> Self {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        Self {
            session: req.get_session(),
            header_token: header(csrf::HEADER).map(str::to_owned),
            content_type_ok: header("content-type").is_some_and(|ct| ct.starts_with(content_type)),
        }
    }

    /// The token of the htmx header, else of the form's hidden field, must match the session.
    fn verify(&self, form: &FormData) -> Result<(), PageError> {
        let presented = self.header_token.as_deref().or(Some(form.get(csrf::FIELD)));
        if csrf::verify(&self.session, presented) {
            Ok(())
        } else {
            Err(PageError::CsrfRejected)
        }
    }
}

impl FromRequest for FormData {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let pre = Preamble::read(req, "application/x-www-form-urlencoded");
        let mut payload = payload.take();
        Box::pin(async move {
            if !pre.content_type_ok {
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
            pre.verify(&form)?;
            Ok(form)
        })
    }
}

/// Largest multipart body read. Files are kept only up to `MAX_FILE_BYTES` + 1 (enough to say
/// "too large" with a 422 and the form); the rest is read and dropped, up to this limit.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// Largest file kept (the logo limit); anything larger is reported, not stored.
pub const MAX_FILE_BYTES: usize = crate::domain::brand::LOGO_MAX_BYTES;

/// A verified `multipart/form-data` post: its text fields and at most one file.
pub struct UploadForm {
    /// Text fields.
    pub fields: FormData,
    /// The file field's bytes, if a file was chosen (empty file inputs are skipped); a file
    /// over `MAX_FILE_BYTES` is cut at `MAX_FILE_BYTES + 1` bytes.
    pub file: Option<Vec<u8>>,
}

impl FromRequest for UploadForm {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let pre = Preamble::read(req, "multipart/form-data");
        let mut multipart = actix_multipart::Multipart::new(req.headers(), payload.take());
        Box::pin(async move {
            if !pre.content_type_ok {
                return Err(PageError::BadRequest(
                    "This form must be sent as multipart/form-data.",
                ));
            }
            let unreadable = || PageError::BadRequest("The form could not be read.");
            let too_large = || PageError::BadRequest("The upload is too large (8 MB at most).");
            let mut pairs = vec![];
            let mut file = None;
            let mut total = 0usize;
            while let Some(field) = multipart.next().await {
                let mut field = field.map_err(|_| unreadable())?;
                let name = field.name().unwrap_or_default().to_owned();
                let is_file = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .is_some();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|_| unreadable())?;
                    total += chunk.len();
                    if total > MAX_UPLOAD_BYTES {
                        return Err(too_large());
                    }
                    let keep = if is_file {
                        (MAX_FILE_BYTES + 1)
                            .saturating_sub(bytes.len())
                            .min(chunk.len())
                    } else {
                        chunk.len()
                    };
                    bytes.extend_from_slice(&chunk[..keep]);
                }
                if is_file {
                    if !bytes.is_empty() {
                        file = Some(bytes);
                    }
                } else {
                    if bytes.len() > MAX_FORM_BYTES {
                        return Err(PageError::BadRequest("The form is too large."));
                    }
                    let value = String::from_utf8(bytes).map_err(|_| unreadable())?;
                    pairs.push((name, value));
                }
            }
            let fields = FormData { pairs };
            pre.verify(&fields)?;
            Ok(UploadForm { fields, file })
        })
    }
}

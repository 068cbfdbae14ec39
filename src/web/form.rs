//! The dashboard's form extractor: urlencoded body (bounded), CSRF token checked against the
//! session. Every unsafe dashboard route takes one, so none can forget the check. Parsing is
//! lenient (repeated keys allowed, unknown fields ignored): what the fields mean is decided by
//! the handler, which answers bad values with a 422 page.

use std::future::Future;
use std::pin::Pin;

use actix_session::SessionExt;
use actix_web::error::PayloadError;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;

use super::error::PageError;
use crate::auth::csrf::{self, HostToConfirm};
use crate::models::agency::Agency;
use crate::state::AppState;

/// Largest form body accepted.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A verified form post.
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// Decodes an `application/x-www-form-urlencoded` body (lenient: repeated keys kept in
    /// order, invalid percent-escapes and UTF-8 replaced, never an error).
    pub fn parse(body: &[u8]) -> Self {
        let pairs = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { pairs }
    }

    /// The first value of `key`, or "".
    pub fn get(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether the form carries `key` at all (a field left out keeps its stored value).
    pub fn has(&self, key: &str) -> bool {
        !self.all(key).is_empty()
    }

    /// Every value of `key` (checkbox groups).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every field in order, repeated keys included.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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
    /// The post came from this host's origin, which counts only if an agency claimed it.
    host_to_confirm: Option<HostToConfirm>,
    state: Option<web::Data<AppState>>,
}

impl Preamble {
    fn read(req: &HttpRequest, content_type: &str) -> Self {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        Self {
            session: req.get_session(),
            header_token: header(csrf::HEADER).map(str::to_owned),
            content_type_ok: header("content-type").is_some_and(|ct| ct.starts_with(content_type)),
            host_to_confirm: req.extensions().get::<HostToConfirm>().cloned(),
            state: req.app_data::<web::Data<AppState>>().cloned(),
        }
    }

    /// The token of the htmx header, else of the form's hidden field, must match the session;
    /// an origin that is an agency host name must really be one.
    async fn verify(&self, form: &FormData) -> Result<(), PageError> {
        let presented = self.header_token.as_deref().or(Some(form.get(csrf::FIELD)));
        if !csrf::verify(&self.session, presented) {
            return Err(PageError::CsrfRejected);
        }
        if let Some(HostToConfirm(host)) = &self.host_to_confirm {
            let state = self
                .state
                .as_ref()
                .ok_or_else(|| PageError::internal("app state missing"))?;
            let host = host.clone();
            let claimed = crate::db::with_read(&state.pool, move |c| {
                Ok(Agency::find_by_host(c, &host)?.is_some())
            })
            .await?;
            if !claimed {
                return Err(PageError::CsrfRejected);
            }
        }
        Ok(())
    }
}

/// A body that could not be read: too slow (408), or broken off.
fn unreadable(e: &PayloadError) -> PageError {
    if crate::deadline::is_timeout(e) {
        PageError::RequestTimeout
    } else {
        PageError::BadRequest("The form could not be read.")
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
                let chunk = chunk.map_err(|e| unreadable(&e))?;
                if body.len() + chunk.len() > MAX_FORM_BYTES {
                    return Err(PageError::PayloadTooLarge("The form is too large."));
                }
                body.extend_from_slice(&chunk);
            }
            let form = FormData::parse(&body);
            pre.verify(&form).await?;
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
            let too_large =
                || PageError::PayloadTooLarge("The upload is too large (8 MB at most).");
            let mut pairs = vec![];
            let mut file = None;
            let mut total = 0usize;
            while let Some(field) = multipart.next().await {
                let mut field = field.map_err(|e| match e {
                    actix_multipart::MultipartError::Payload(p) => unreadable(&p),
                    _ => PageError::BadRequest("The form could not be read."),
                })?;
                let name = field.name().unwrap_or_default().to_owned();
                let is_file = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .is_some();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| match e {
                        actix_multipart::MultipartError::Payload(p) => unreadable(&p),
                        _ => PageError::BadRequest("The form could not be read."),
                    })?;
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
                        return Err(PageError::PayloadTooLarge("The form is too large."));
                    }
                    let value = String::from_utf8(bytes)
                        .map_err(|_| PageError::BadRequest("The form could not be read."))?;
                    pairs.push((name, value));
                }
            }
            let fields = FormData { pairs };
            pre.verify(&fields).await?;
            Ok(UploadForm { fields, file })
        })
    }
}

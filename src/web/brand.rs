//! The brand a page wears: Latchkey's, or — on an agency's host name, or inside an agency's
//! client or agency pages — the agency's own (name, logo, colour). Brand colours are served as
//! a stylesheet (`/brand/{agency}/brand.css`) so the CSP never needs inline styles.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::QueryResult;

use crate::db::DbConnection;
use crate::db::with_read;
use crate::domain::brand::{HexColor, palette};
use crate::models::agency::Agency;
use crate::state::AppState;

pub use crate::domain::brand::{Brand, HostBrands, PRODUCT};

impl Brand {
    /// An agency's brand.
    pub fn of(agency: &Agency) -> Self {
        let product = agency.product().to_owned();
        let v = agency.brand_version;
        Self {
            initial: product
                .chars()
                .find(|c| c.is_alphanumeric())
                .map(|c| c.to_uppercase().collect())
                .unwrap_or_else(|| "·".to_owned()),
            logo_url: agency
                .logo_type
                .as_ref()
                .map(|_| format!("/brand/{}/logo?v={v}", agency.id)),
            css_url: agency
                .primary_color
                .as_ref()
                .map(|_| format!("/brand/{}/brand.css?v={v}", agency.id)),
            powered_by: agency.powered_by,
            support_email: agency.support_email.clone(),
            agency_id: Some(agency.id.to_string()),
            host: None,
            demo: false,
            product,
        }
    }

    /// The brand for a request: the agency that claimed the request's host wins; otherwise
    /// the agency the page belongs to (a client team's or the agency's own pages); otherwise
    /// Latchkey's.
    pub fn resolve(
        conn: &mut DbConnection,
        host: Option<&str>,
        agency_id: Option<&str>,
    ) -> QueryResult<Self> {
        if let Some(host) = host
            && let Some(agency) = Agency::find_by_host(conn, host)?
        {
            return Ok(Self {
                host: Some(host.to_owned()),
                ..Self::of(&agency)
            });
        }
        if let Some(id) = agency_id
            && let Some(agency) = Agency::find(conn, id)?
        {
            return Ok(Self::of(&agency));
        }
        Ok(Self::default())
    }

    /// The brand for a page without a team (sign-in, set-up, invitations, errors): by host only.
    /// When the database cannot be asked, the brand this host showed last (an agency's client
    /// must not see another product's name on an outage page).
    pub async fn for_host(state: &AppState, req: &HttpRequest) -> Self {
        Self::of_host(state, request_host(req)).await
    }

    /// [`Brand::for_host`] for a host name already read from the request.
    pub async fn of_host(state: &AppState, host: Option<String>) -> Self {
        let Some(host) = host else {
            return Self::default().for_state(state);
        };
        let h = host.clone();
        let brand =
            match with_read(&state.pool, move |c| Ok(Self::resolve(c, Some(&h), None)?)).await {
                Ok(brand) => {
                    state.host_brands.remember(&host, &brand);
                    brand
                }
                Err(_) => return Self::last_known(state, Some(&host)),
            };
        brand.for_state(state)
    }

    /// Learns the brand of every agency host name now, so that this node draws an outage page
    /// in the right brand even for a host it has not served yet (several nodes behind one
    /// load balancer each learn on their own). Run at start and every few minutes.
    pub async fn learn_all(state: &AppState) -> Result<usize, crate::error::AppError> {
        let limit = i64::try_from(HostBrands::MAX).unwrap_or(i64::MAX);
        let hosts = with_read(&state.pool, move |c| Ok(Agency::all_hosts(c, limit)?)).await?;
        for (host, agency) in &hosts {
            let brand = Self {
                host: Some(host.clone()),
                ..Self::of(agency)
            };
            state.host_brands.remember(host, &brand);
        }
        Ok(hosts.len())
    }

    /// The brand `host` was last drawn in (Latchkey's if none or unknown), without asking the
    /// database: for pages drawn while it cannot be asked.
    pub fn last_known(state: &AppState, host: Option<&str>) -> Self {
        host.and_then(|h| state.host_brands.recall(h))
            .unwrap_or_default()
            .for_state(state)
    }

    /// Marks the brand of a demo server (the banner).
    pub fn for_state(mut self, state: &AppState) -> Self {
        self.demo = state.config.demo;
        self
    }
}

/// The request's host name, lower case, without port (from `Host`, never from forwarded
/// headers a client could set).
pub fn request_host(req: &HttpRequest) -> Option<String> {
    let raw = req.headers().get(header::HOST)?.to_str().ok()?;
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => raw,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty() && host.len() <= 253).then_some(host)
}

/// GET /brand/{agency}/brand.css — the agency colour as custom properties.
pub async fn stylesheet(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, super::error::PageError> {
    let id = path.into_inner();
    if id.len() > 64 {
        return Err(super::error::PageError::NotFound);
    }
    let agency = with_read(&state.pool, move |c| Ok(Agency::find(c, &id)?)).await?;
    let color = agency
        .and_then(|a| a.primary_color)
        .and_then(|c| HexColor::parse(&c).ok())
        .ok_or(super::error::PageError::NotFound)?;
    let mut css = String::from(":root {\n");
    for (name, value) in palette(color) {
        css.push_str(&format!("  {name}: {value};\n"));
    }
    css.push_str("}\n");
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(css))
}

/// GET /brand/{agency}/logo — the uploaded logo, with the type judged at upload.
pub async fn logo(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, super::error::PageError> {
    let id = path.into_inner();
    if id.len() > 64 {
        return Err(super::error::PageError::NotFound);
    }
    let (bytes, kind) = with_read(&state.pool, move |c| Ok(Agency::logo(c, &id)?))
        .await?
        .ok_or(super::error::PageError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, kind))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::CONTENT_DISPOSITION, "inline; filename=\"logo\""))
        .body(bytes))
}

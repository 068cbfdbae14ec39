//! build_app: the ONE place where routes and middleware are assembled.

use std::time::Instant;

use actix_session::SessionMiddleware;
use actix_session::config::{PersistentSession, TtlExtensionPolicy};
use actix_web::body::MessageBody;
use actix_web::cookie::SameSite;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, ResponseError, web};
use futures_util::future::Either;

use crate::auth::session_store::DbSessionStore;
use crate::state::AppState;
use crate::web::error::PageError;

/// The whole application: dashboard, static assets, health check.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sessions = SessionMiddleware::builder(
        DbSessionStore::new(state.pool.clone(), state.clock.clone()),
        state.cookie_key.clone(),
    )
    .cookie_name(state.session_cookie_name().to_owned())
    .cookie_secure(state.config.cookie_secure)
    .cookie_http_only(true)
    .cookie_same_site(SameSite::Lax)
    .session_lifecycle(
        PersistentSession::default()
            .session_ttl(actix_web::cookie::time::Duration::seconds(
                state.config.session_idle_secs,
            ))
            .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
    )
    .build();

    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PathConfig::default().error_handler(|_, _| PageError::NotFound.into()))
        .app_data(web::QueryConfig::default().error_handler(|_, _| PageError::NotFound.into()))
        .route("/healthz", web::get().to(crate::operator::healthz))
        .route("/readyz", web::get().to(crate::operator::readyz))
        .service(
            // No session middleware here: /v1 ignores cookies; keys are the only credential.
            web::scope("/v1").configure(crate::api::routes),
        )
        .configure(crate::web::public_routes)
        .service(
            web::scope("")
                .wrap(sessions)
                .wrap_fn(|req, srv| {
                    let host = crate::web::brand::request_host(req.request());
                    let state = req.app_data::<web::Data<AppState>>().cloned();
                    let fut = srv.call(req);
                    async move {
                        let res = match fut.await {
                            Ok(res) => res.map_into_boxed_body(),
                            // Only the session middleware fails here (handlers' errors are
                            // responses by now), and only when its store could not reach the
                            // database: a 503 page, like any other outage. (An error, as the
                            // request is gone; the page carries its own security headers.)
                            Err(e) => {
                                let page = session_store_failed(&e);
                                let brand = match &state {
                                    Some(state) => {
                                        crate::web::brand::Brand::last_known(state, host.as_deref())
                                    }
                                    None => Default::default(),
                                };
                                return Err(crate::web::error::BrandedPageError(page, brand).into());
                            }
                        };
                        let parts = res
                            .response()
                            .extensions()
                            .get::<crate::web::error::ErrorPageParts>()
                            .copied();
                        match (parts, state) {
                            (Some(parts), Some(state)) if host.is_some() || state.config.demo => {
                                Ok(rebrand_error_page(res, parts, host, state).await)
                            }
                            _ => Ok(res),
                        }
                    }
                })
                .configure(crate::web::routes)
                .default_service(web::to(|| async { PageError::NotFound.error_response() })),
        )
        .wrap_fn(|mut req, srv| {
            let started = Instant::now();
            let method = req.method().clone();
            // The path only: query strings may carry one-time tokens.
            let path = req.path().to_owned();
            let state = req.app_data::<web::Data<AppState>>().cloned();
            let checked = match &state {
                Some(state) => crate::edge::before(&mut req, state),
                None => crate::edge::Checked::Pass(crate::edge::Surface::of(&path)),
            };
            let outcome = match checked {
                crate::edge::Checked::Refuse(res) => Either::Left(req.into_response(res)),
                crate::edge::Checked::Pass(surface) => Either::Right((surface, srv.call(req))),
            };
            async move {
                let (mut res, surface) = match outcome {
                    Either::Left(early) => {
                        (early.map_into_right_body(), crate::edge::Surface::of(&path))
                    }
                    Either::Right((surface, fut)) => match fut.await {
                        Ok(res) => (res.map_into_left_body(), surface),
                        Err(e) => {
                            let status = e.as_response_error().status_code().as_u16();
                            tracing::info!(%method, %path, status, "request");
                            return Err(e);
                        }
                    },
                };
                if let Some(state) = &state {
                    crate::edge::after(&mut res, surface, state);
                    let route = res.request().match_pattern();
                    let status = res.status();
                    let metrics = &state.metrics;
                    metrics
                        .requests
                        .with_label_values(&[
                            surface.as_str(),
                            route.as_deref().unwrap_or("unmatched"),
                            status.as_str(),
                        ])
                        .inc();
                    metrics.request_took(surface.as_str(), started.elapsed().as_secs_f64());
                }
                let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                tracing::info!(%method, %path, status = res.status().as_u16(), ms, "request");
                Ok(res)
            }
        })
}

/// The page for a request whose session could not be loaded or saved.
fn session_store_failed(e: &actix_web::Error) -> PageError {
    // actix-session hides its store's error behind its own words; the debug form keeps ours.
    let text = format!("{e:?}");
    let outage =
        crate::db::Outage::from_error_text(&text).unwrap_or(crate::db::Outage::Unreachable);
    PageError::Unavailable(format!("session store: {text}"), Some(outage))
}

/// Redraws an error page in the brand of the agency that claimed the request's host (and with
/// the demo banner on a demo server).
async fn rebrand_error_page(
    res: ServiceResponse<actix_web::body::BoxBody>,
    parts: crate::web::error::ErrorPageParts,
    host: Option<String>,
    state: web::Data<AppState>,
) -> ServiceResponse<actix_web::body::BoxBody> {
    let brand = crate::web::brand::Brand::of_host(&state, host).await;
    if brand.agency_id.is_none() && !state.config.demo {
        return res;
    }
    match parts.render(brand) {
        Some(html) => res.map_body(|_, _| actix_web::body::BoxBody::new(html)),
        None => res,
    }
}

//! What load balancers and operators call: `/healthz` and `/readyz` on the main address, and
//! `/metrics` (Prometheus text format) on its own address, `LATCHKEY_METRICS_BIND`, so it is
//! never exposed where the API is.

use actix_web::http::header;
use actix_web::{App, HttpResponse, web};
use prometheus::core::Collector;
use prometheus::{Encoder, IntGauge, Registry, TextEncoder};

use crate::state::AppState;

/// GET /healthz — 200 while the process runs.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// GET /readyz — 200 when the database answers, 503 when it does not (for load balancers:
/// take the node out of rotation). `/healthz` only says the process is alive. Redis, when
/// configured, is reported on its own line but never makes a node unready: without it every
/// node still authenticates and limits on its own, and taking every node out of rotation
/// because Redis is down would turn a degradation into an outage.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let checked = crate::db::with_read(&state.pool, |c| {
        use diesel::connection::SimpleConnection;
        Ok(c.batch_execute("SELECT 1")?)
    })
    .await;
    let redis = match &state.shared_limits {
        None => "",
        Some(shared) => match shared.ping().await {
            Ok(()) => "redis: ok\n",
            Err(e) => {
                tracing::warn!(error = %e, "readiness: Redis does not answer");
                "redis: unavailable (rate limits are counted by each node alone)\n"
            }
        },
    };
    let mut res = match &checked {
        Ok(()) => HttpResponse::Ok(),
        Err(_) => HttpResponse::ServiceUnavailable(),
    };
    res.content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match checked {
        Ok(()) => res.body(format!("ready\ndatabase: ok\n{redis}")),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            res.insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_UNAVAILABLE))
                .body(format!(
                    "not ready: {}\n{redis}",
                    e.outage().map_or("internal error", |o| o.as_str())
                ))
        }
    }
}

/// The app served on `LATCHKEY_METRICS_BIND`: `GET /metrics` only.
pub fn metrics_app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(state))
        .route("/metrics", web::get().to(metrics))
}

fn gauge(name: &str, help: &str, value: i64) -> Option<IntGauge> {
    let gauge = IntGauge::new(name, help).ok()?;
    gauge.set(value);
    Some(gauge)
}

/// GET /metrics — every metric of this node, in the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut collectors: Vec<Box<dyn Collector>> = state.metrics.collectors();
    let settled = state.cluster.settle_counts();
    collectors.push(Box::new(settled.acknowledged.clone()));
    collectors.push(Box::new(settled.lease_bound.clone()));
    collectors.push(Box::new(settled.wait_seconds.clone()));
    collectors.push(Box::new(state.pool.wait_histogram()));
    collectors.push(Box::new(state.connections.refused().clone()));
    // Values read now, as gauges.
    let cache = &state.key_cache;
    let (open, idle) = state.pool.connections();
    let queues = crate::db::with_read(&state.pool, |c| {
        Ok((
            crate::models::outbox::waiting(c)?,
            crate::models::webhook::pending_deliveries(c)?,
        ))
    })
    .await;
    let mut gauges = vec![
        gauge(
            "latchkey_key_cache_entries",
            "Key records in this node's cache",
            i64::try_from(cache.len()).unwrap_or(i64::MAX),
        ),
        gauge(
            "latchkey_key_cache_trusted",
            "1 while this node may use its key cache (it holds a lease, or is alone on SQLite)",
            i64::from(cache.is_trusted()),
        ),
        gauge(
            "latchkey_db_pool_connections",
            "Database connections open in this node's pool",
            i64::from(open),
        ),
        gauge(
            "latchkey_db_pool_idle_connections",
            "Idle database connections in this node's pool",
            i64::from(idle),
        ),
        gauge(
            "latchkey_database_up",
            "1 when the database answered this scrape",
            i64::from(queues.is_ok()),
        ),
    ];
    if let Ok((events, deliveries)) = queues {
        gauges.push(gauge(
            "latchkey_outbox_pending_events",
            "Changes whose webhook events are not fanned out to deliveries yet",
            events,
        ));
        gauges.push(gauge(
            "latchkey_webhook_deliveries_pending",
            "Webhook deliveries not yet succeeded or given up (due or waiting to retry)",
            deliveries,
        ));
    }
    if let Some(shared) = &state.shared_limits {
        collectors.push(Box::new(shared.fallbacks().clone()));
        gauges.push(gauge(
            "latchkey_redis_degraded",
            "1 while Redis is unavailable and this node limits alone",
            i64::from(shared.is_degraded()),
        ));
    }
    collectors.extend(
        gauges
            .into_iter()
            .flatten()
            .map(|g| Box::new(g) as Box<dyn Collector>),
    );
    let registry = Registry::new();
    for c in collectors {
        if let Err(e) = registry.register(c) {
            tracing::warn!(error = %e, "a metric could not be registered");
        }
    }
    let mut body = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&registry.gather(), &mut body) {
        tracing::warn!(error = %e, "metrics could not be encoded");
        return HttpResponse::InternalServerError().finish();
    }
    HttpResponse::Ok()
        .content_type(TextEncoder::new().format_type())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

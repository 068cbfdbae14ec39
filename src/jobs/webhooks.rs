//! Webhook delivery (DESIGN §10): outbox events are fanned out into one delivery per endpoint
//! that wants them; due deliveries are claimed (a lease, and `SKIP LOCKED` on PostgreSQL, so
//! several nodes share the work) and sent through the guarded outbound client with both
//! signatures, signed at send time over the outbox's exact bytes; failures are retried on the
//! schedule of `domain::webhook::RETRY_DELAYS` with jitter, `Retry-After` honoured; a `410`
//! disables the endpoint. At least once: a delivery is marked done only after its answer.

use std::time::Duration;

use futures_util::StreamExt;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use crate::db::write_tx;
use crate::db::{with_read, with_write};
use crate::domain::ids::{AttemptId, DeliveryId, OutboxEventId};
use crate::domain::webhook::{chatbot_signature, event_type, retry_delay, standard_signature};
use crate::error::AppError;
use crate::models::outbox;
use crate::models::webhook::{self, Attempt, Delivery, WebhookEndpoint};
use crate::ops::webhooks::{FAILING_DISABLES_AFTER, disable_for};
use crate::outbound::Request;
use crate::state::AppState;

/// Events fanned out per transaction.
const FAN_OUT_BATCH: i64 = 200;
/// Deliveries claimed per round.
const SEND_BATCH: i64 = 64;
/// Attempts of a round in flight at once.
const SEND_CONCURRENCY: usize = 16;
/// How long a claimed delivery is held beyond the outbound client's total timeout before
/// another worker may take it (a worker killed mid-delivery delays it by no more than this).
const LEASE_MARGIN_SECONDS: i64 = 15;
/// The longest `Retry-After` honoured.
const RETRY_AFTER_MAX: i64 = 86_400;
/// Characters of an answer kept with the attempt.
const EXCERPT_MAX: usize = 200;

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries created from new events.
    pub fanned_out: usize,
    /// Attempts made.
    pub attempted: usize,
    /// Of which succeeded.
    pub succeeded: usize,
}

/// Turns new outbox events into deliveries, then sends what is due.
pub async fn run_once(state: &AppState) -> Result<Round, AppError> {
    let now = state.clock.now();
    if !with_read(&state.pool, move |c| Ok(webhook::has_work(c, now)?)).await? {
        return Ok(Round::default());
    }
    let fanned_out = fan_out(state).await?;
    let mut round = Round {
        fanned_out,
        ..Round::default()
    };
    let now = state.clock.now();
    let lease =
        i64::try_from(state.config.outbound_timeout_secs).unwrap_or(60) + LEASE_MARGIN_SECONDS;
    let due = with_write(&state.pool, move |c| {
        Ok(write_tx(c, |c| {
            Delivery::claim_due(c, now, SEND_BATCH, lease)
        })?)
    })
    .await?;
    // The batch is sent concurrently (each attempt waits on its receiver, not on the others),
    // and its outcomes are written in one transaction: one commit per batch, not per attempt.
    let outcomes: Vec<Result<Option<Outcome>, AppError>> = futures_util::stream::iter(due)
        .map(|d| attempt(state, d))
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
    let mut made = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        if let Some(o) = o? {
            round.attempted += 1;
            round.succeeded += usize::from(o.ok);
            made.push(o);
        }
    }
    if !made.is_empty() {
        with_write(&state.pool, move |c| Ok(write_tx(c, |c| record(c, &made))?)).await?;
    }
    Ok(round)
}

async fn fan_out(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    with_write(&state.pool, move |c| {
        Ok(write_tx(c, |c| {
            let events = outbox::claim_events(c, FAN_OUT_BATCH)?;
            let mut rows = Vec::new();
            // Only the catalogue's event types are delivered (not, say, team.updated).
            for e in events
                .iter()
                .filter(|e| event_type(&e.event_type).is_some())
            {
                let endpoints =
                    webhook::endpoints_for(c, e.team_id.as_deref(), e.agency_id.as_deref(), &e.id)?;
                for ep in endpoints.iter().filter(|ep| ep.wants(&e.event_type)) {
                    rows.push(Delivery::pending(
                        DeliveryId::generate_ordered(),
                        &ep.id,
                        &e.id,
                        &e.event_type,
                        now,
                    ));
                }
            }
            let ids: Vec<OutboxEventId> = events.iter().map(|e| e.id.clone()).collect();
            let created = Delivery::insert_new(c, &rows)?;
            outbox::mark_fanned_out(c, &ids, now)?;
            Ok::<_, diesel::result::Error>(created)
        })?)
    })
    .await
}

/// The headers of one attempt: `X-Chatbot-Signature` with the secret the seed's verifier
/// holds (the previous one until a rotation's overlap ends), the Standard Webhooks trio with
/// every live secret.
fn headers(
    state: &AppState,
    endpoint: &WebhookEndpoint,
    event_id: &str,
    body: &[u8],
    now: i64,
) -> Result<HeaderMap, AppError> {
    let (current, previous) = crate::ops::webhooks::secrets(&state.vault, endpoint, now)?;
    let chatbot = chatbot_signature(previous.as_ref().unwrap_or(&current), body);
    let mut standard = standard_signature(&current, event_id, now, body);
    if let Some(old) = &previous {
        standard.push(' ');
        standard.push_str(&standard_signature(old, event_id, now, body));
    }
    let mut h = HeaderMap::new();
    let value = |s: &str| {
        HeaderValue::from_str(s).map_err(|_| AppError::Internal("bad header value".into()))
    };
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        HeaderName::from_static("x-chatbot-signature"),
        value(&chatbot)?,
    );
    h.insert(HeaderName::from_static("webhook-id"), value(event_id)?);
    h.insert(
        HeaderName::from_static("webhook-timestamp"),
        value(&now.to_string())?,
    );
    h.insert(
        HeaderName::from_static("webhook-signature"),
        value(&standard)?,
    );
    Ok(h)
}

/// Seconds of a `Retry-After` given in seconds (the HTTP-date form is treated as absent).
fn retry_after(headers: &[(String, String)]) -> Option<i64> {
    headers
        .iter()
        .find(|(n, _)| n == "retry-after")
        .and_then(|(_, v)| v.trim().parse::<i64>().ok())
        .map(|s| s.clamp(0, RETRY_AFTER_MAX))
}

/// What one attempt came to, to be written with the rest of its batch.
struct Outcome {
    delivery: Delivery,
    endpoint: WebhookEndpoint,
    attempt: Attempt,
    status: &'static str,
    next: Option<i64>,
    ok: bool,
    gone: bool,
}

/// Makes one attempt of `d`; `None` when there is nothing to send (the endpoint or event is
/// gone, or the endpoint was disabled after the claim: its lease is released and it waits).
async fn attempt(state: &AppState, d: Delivery) -> Result<Option<Outcome>, AppError> {
    let (endpoint_id, event_id) = (d.endpoint_id.clone(), d.outbox_event_id.clone());
    let (endpoint, payload) = with_read(&state.pool, move |c| {
        Ok((
            WebhookEndpoint::find(c, &endpoint_id)?,
            outbox::payload(c, &event_id)?,
        ))
    })
    .await?;
    let now = state.clock.now();
    let attempt_no = d.attempts + 1;
    let (Some(endpoint), Some(payload)) = (endpoint, payload) else {
        return Ok(None);
    };
    if !endpoint.enabled {
        let id = d.id.clone();
        with_write(&state.pool, move |c| Ok(Delivery::release(c, &id)?)).await?;
        return Ok(None);
    }
    let url = url::Url::parse(&endpoint.url)
        .map_err(|_| AppError::Internal("stored webhook URL does not parse".into()))?;
    let result = state
        .outbound
        .send(Request {
            method: reqwest::Method::POST,
            url,
            headers: headers(
                state,
                &endpoint,
                &d.outbox_event_id,
                payload.as_bytes(),
                now,
            )?,
            body: payload.into_bytes(),
            response_cap: 4096,
        })
        .await;
    let mut attempt = Attempt {
        id: AttemptId::generate_ordered(),
        delivery_id: d.id.clone(),
        attempt: attempt_no,
        at: now,
        status_code: None,
        latency_ms: 0,
        error: None,
        excerpt: None,
    };
    let mut wait = None;
    let mut gone = false;
    let ok = match &result {
        Ok(r) => {
            attempt.status_code = Some(i32::from(r.status));
            attempt.latency_ms = i64::try_from(r.elapsed.as_millis()).unwrap_or(i64::MAX);
            let text = String::from_utf8_lossy(&r.body);
            attempt.excerpt = Some(text.chars().take(EXCERPT_MAX).collect());
            if matches!(r.status, 429 | 503) {
                wait = retry_after(&r.headers);
            }
            gone = r.status == 410;
            (200..300).contains(&r.status)
        }
        Err(e) => {
            attempt.error = Some(e.to_string());
            false
        }
    };
    let mut random = [0u8; 4];
    crate::domain::base62::fill_random(&mut random);
    let random = u32::from_le_bytes(random);
    let next = match (ok, gone) {
        (true, _) | (false, true) => None,
        (false, false) => {
            retry_delay(attempt_no, random).map(|delay| now + wait.unwrap_or(0).max(delay))
        }
    };
    let status = match (ok, next) {
        (true, _) => "succeeded",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    Ok(Some(Outcome {
        delivery: d,
        endpoint,
        attempt,
        status,
        next,
        ok,
        gone,
    }))
}

/// Writes a batch's attempts and their consequences: the deliveries' new state, each
/// endpoint's run of failures, and an endpoint disabled by a `410` or five days of failures.
fn record(c: &mut crate::db::DbConnection, batch: &[Outcome]) -> diesel::QueryResult<()> {
    let mut disabled: Vec<&str> = Vec::new();
    for o in batch {
        if !Delivery::record_attempt(c, &o.delivery, &o.attempt, o.status, o.next)? {
            continue; // its endpoint was deleted while it was in flight
        }
        let failing_since = WebhookEndpoint::note_outcome(c, &o.endpoint.id, o.ok, o.attempt.at)?;
        if disabled.contains(&o.endpoint.id.as_str()) {
            continue;
        }
        let reason = if o.gone {
            Some("The endpoint answered 410 Gone.")
        } else if failing_since.is_some_and(|t| o.attempt.at - t >= FAILING_DISABLES_AFTER) {
            Some("Every delivery failed for five days.")
        } else {
            None
        };
        if let Some(reason) = reason {
            disable_for(c, &o.endpoint, reason, o.attempt.at)?;
            disabled.push(&o.endpoint.id);
        }
    }
    Ok(())
}

/// Runs rounds in the background: woken after every change (the outbox insert), and every
/// second for retries that come due.
pub fn spawn(state: AppState) {
    actix_web::rt::spawn(async move {
        // During an outage every round fails: say so once a minute, not once a second.
        let mut last_warning: Option<std::time::Instant> = None;
        loop {
            match run_once(&state).await {
                Ok(r) if r.attempted == SEND_BATCH as usize => continue,
                Ok(_) => last_warning = None,
                Err(e) => {
                    if last_warning.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                        tracing::warn!(error = %e, "webhook delivery round failed; will retry");
                        last_warning = Some(std::time::Instant::now());
                    }
                }
            }
            let _ =
                tokio::time::timeout(Duration::from_secs(1), state.webhook_wake.notified()).await;
        }
    });
}

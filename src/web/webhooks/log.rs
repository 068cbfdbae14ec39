//! An endpoint's delivery log: its filters (status, event type), a page of deliveries with
//! their attempts, the link to older ones (keyset, by delivery id), and the last day's
//! success rate.

use crate::db::with_read;
use crate::domain::ids::DeliveryId;
use crate::models::webhook::{Attempt, Delivery, DeliveryFilter, WebhookEndpoint};
use crate::state::AppState;
use crate::timefmt::TimeView;
use crate::web::error::PageError;

/// Deliveries per page of the log.
const LOG_PAGE: i64 = 25;

/// Query of an endpoint's page: the log's filters and page.
#[derive(Default, serde::Deserialize)]
pub struct LogQuery {
    status: Option<String>,
    event: Option<String>,
    before: Option<String>,
}

/// One attempt in the log.
pub struct AttemptView {
    /// 1, 2, …
    pub number: i64,
    /// When.
    pub at: TimeView,
    /// `ok` or `failed` (the dot).
    pub state: &'static str,
    /// "200 · 84 ms", "500 · 31 ms", "Timed out after 15 s".
    pub result: String,
    /// The first characters of the answer, or why there was none.
    pub excerpt: Option<String>,
}

fn attempt_result(status: Option<i32>, latency_ms: i64, error: Option<&str>) -> String {
    match status {
        Some(code) => format!("{code} · {latency_ms} ms"),
        None => error.unwrap_or("No answer").to_owned(),
    }
}

/// One delivery in the log.
pub struct DeliveryView {
    /// Id (test hooks).
    pub id: String,
    /// `api_key.created`.
    pub event_type: String,
    /// The event id (`webhook-id`).
    pub event_id: String,
    /// `pending`, `succeeded`, `failed`.
    pub status: String,
    /// "Succeeded", "Failed", "Retrying", "Queued".
    pub status_text: &'static str,
    /// When it was created.
    pub created: TimeView,
    /// The last attempt, in words.
    pub last: Option<String>,
    /// When it is tried next.
    pub next: Option<TimeView>,
    /// Its attempts, newest first.
    pub attempts: Vec<AttemptView>,
    /// Replay (POST).
    pub replay_url: String,
    /// The body every attempt sends, byte for byte.
    pub body: String,
    /// In an agency's log: the client an event is about ("Harbor Coffee").
    pub client: Option<String>,
}

/// "98 % of 120 attempts in 24 h".
pub fn success_text(ok: i64, all: i64) -> Option<String> {
    (all > 0).then(|| {
        let percent = ok * 100 / all;
        let noun = if all == 1 { "attempt" } else { "attempts" };
        format!("{percent} % of {all} {noun} succeeded in 24 h")
    })
}

/// One page of the log, as the endpoint's page shows it.
pub struct Log {
    /// The deliveries, newest first.
    pub deliveries: Vec<DeliveryView>,
    /// A filter is applied.
    pub filtered: bool,
    /// The status filter ("" for any).
    pub status: String,
    /// The event type filter ("" for any).
    pub event: String,
    /// The next (older) page, with the same filters.
    pub older_url: Option<String>,
    /// The last day's success rate, in words.
    pub success: Option<String>,
}

/// The page of `e`'s log that `query` asks for; `show` is the endpoint page's address.
pub async fn load(
    state: &AppState,
    e: &WebhookEndpoint,
    query: &LogQuery,
    show: &str,
    now: i64,
) -> Result<Log, PageError> {
    let status = query
        .status
        .clone()
        .filter(|s| crate::models::webhook::DELIVERY_STATUSES.contains(&s.as_str()));
    let event = query
        .event
        .clone()
        .filter(|t| crate::domain::webhook::event_type(t).is_some());
    let filter = DeliveryFilter {
        status: status.clone(),
        event_type: event.clone(),
        before: query
            .before
            .clone()
            .filter(|b| DeliveryId::parse(b).is_some()),
    };
    let id = e.id.clone();
    let (rows, attempts, (ok, all)) = with_read(&state.pool, move |c| {
        let rows = Delivery::log(c, &id, &filter, LOG_PAGE + 1)?;
        let ids: Vec<DeliveryId> = rows.iter().map(|d| d.id.clone()).collect();
        let events: Vec<&str> = rows.iter().map(|d| d.outbox_event_id.as_str()).collect();
        let shown = crate::models::outbox::shown(c, &events)?;
        Ok((
            rows,
            (Attempt::of_deliveries(c, &ids)?, shown),
            Attempt::outcomes_since(c, &id, now - 86_400)?,
        ))
    })
    .await?;
    let (attempts, mut shown) = attempts;
    let more = rows.len() > usize::try_from(LOG_PAGE).unwrap_or(usize::MAX);
    let deliveries: Vec<DeliveryView> = rows
        .into_iter()
        .take(usize::try_from(LOG_PAGE).unwrap_or(usize::MAX))
        .map(|d| DeliveryView {
            status_text: match (d.status.as_str(), d.attempts) {
                ("succeeded", _) => "Succeeded",
                ("failed", _) => "Failed",
                (_, 0) => "Queued",
                _ => "Retrying",
            },
            last: d.last_attempt_at.map(|_| {
                attempt_result(
                    d.last_status_code,
                    d.last_latency_ms.unwrap_or(0),
                    d.last_error.as_deref(),
                )
            }),
            next: d
                .next_attempt_at
                .filter(|_| d.status == "pending")
                .map(|t| TimeView::new(now, t)),
            attempts: attempts
                .iter()
                .filter(|a| a.delivery_id == d.id)
                .map(|a| AttemptView {
                    number: a.attempt,
                    at: TimeView::new(now, a.at),
                    state: if a.status_code.is_some_and(|c| (200..300).contains(&c)) {
                        "ok"
                    } else {
                        "failed"
                    },
                    result: attempt_result(a.status_code, a.latency_ms, a.error.as_deref()),
                    excerpt: a
                        .excerpt
                        .clone()
                        .filter(|x| !x.is_empty())
                        .or_else(|| a.error.clone()),
                })
                .collect(),
            replay_url: format!("{show}/deliveries/{}/replay", d.id),
            body: shown
                .get(d.outbox_event_id.as_str())
                .map(|(body, _)| body.clone())
                .unwrap_or_default(),
            // Agency events are about a client (`client.suspended`…): say which.
            client: shown
                .remove(d.outbox_event_id.as_str())
                .and_then(|(_, target)| target)
                .filter(|(kind, _)| kind == "client")
                .map(|(_, label)| label),
            created: TimeView::new(now, d.created_at),
            id: d.id.into(),
            event_type: d.event_type,
            event_id: d.outbox_event_id.into(),
            status: d.status,
        })
        .collect();
    let older_url = more.then(|| {
        let last = deliveries.last().map(|d| d.id.as_str()).unwrap_or_default();
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &status {
            q.append_pair("status", s);
        }
        if let Some(t) = &event {
            q.append_pair("event", t);
        }
        q.append_pair("before", last);
        format!("{show}?{}", q.finish())
    });
    Ok(Log {
        deliveries,
        filtered: status.is_some() || event.is_some(),
        status: status.unwrap_or_default(),
        event: event.unwrap_or_default(),
        older_url,
        success: success_text(ok, all),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_reads_as_a_share_of_attempts() {
        assert_eq!(success_text(0, 0), None);
        assert_eq!(
            success_text(1, 1).as_deref(),
            Some("100 % of 1 attempt succeeded in 24 h")
        );
        assert_eq!(
            success_text(2, 3).as_deref(),
            Some("66 % of 3 attempts succeeded in 24 h")
        );
    }
}

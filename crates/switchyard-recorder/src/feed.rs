//! [`EventFeed`]: a live feed of exchanges as JSON events, for consoles.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::hooks::{OnRecord, Started};
use crate::record::Record;

/// One event of the feed, as JSON text with its SSE event name.
#[derive(Clone, Debug)]
pub struct FeedEvent {
    /// `start`, `routed`, `first_token` or `complete`.
    pub kind: &'static str,
    /// The event's JSON.
    pub json: Arc<str>,
}

/// Broadcasts `start`, `routed`, `first_token` and `complete` events to every
/// subscriber. Serialises each event once, and only while someone listens; a
/// subscriber that falls more than the capacity behind loses the oldest
/// events (its receiver reports how many).
///
/// `complete` carries the fields of a listed record (`/admin/records`): the
/// record without its bodies, candidates and attempt details.
#[derive(Clone, Debug)]
pub struct EventFeed {
    tx: broadcast::Sender<FeedEvent>,
}

impl EventFeed {
    /// A feed keeping up to `capacity` events per subscriber.
    pub fn new(capacity: usize) -> Self {
        EventFeed {
            tx: broadcast::Sender::new(capacity.max(1)),
        }
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.tx.subscribe()
    }

    /// How many subscribers listen.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    fn send(&self, kind: &'static str, value: &impl Serialize) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        match serde_json::to_string(value) {
            Ok(json) => {
                let _ = self.tx.send(FeedEvent {
                    kind,
                    json: json.into(),
                });
            }
            Err(e) => tracing::debug!(error = %e, "feed event not serialisable"),
        }
    }
}

#[derive(Serialize)]
struct Routed<'a> {
    id: &'a str,
    provider: Option<&'a str>,
    model: Option<&'a str>,
    attempts: usize,
}

#[derive(Serialize)]
struct FirstToken<'a> {
    id: &'a str,
    ttft_ms: f64,
}

/// A record without its bodies, for the feed.
#[derive(Serialize)]
struct Complete<'a> {
    #[serde(flatten)]
    record: Lean<'a>,
}

#[derive(Serialize)]
struct Lean<'a> {
    id: &'a str,
    time: &'a str,
    ts_ms: i64,
    endpoint: &'a str,
    protocol: &'a str,
    stream: bool,
    key_id: &'a Option<String>,
    team: &'a Option<String>,
    source: &'a Option<String>,
    project: &'a Option<String>,
    tags: &'a [String],
    route: &'a Option<String>,
    requested_model: &'a Option<String>,
    provider: &'a Option<String>,
    model: &'a Option<String>,
    response_model: &'a Option<String>,
    attempts: usize,
    status: u16,
    outcome: &'static str,
    error_type: Option<&'static str>,
    finish_reason: &'a Option<String>,
    usage: &'a Option<crate::record::UsageRecord>,
    cost_usd: Option<f64>,
    duration_ms: f64,
    ttfb_ms: Option<f64>,
    ttft_ms: Option<f64>,
    overhead_us: Option<u64>,
    tokens_per_second: Option<f64>,
    chunks: u64,
    response_bytes: u64,
}

impl OnRecord for EventFeed {
    fn on_start(&self, started: &Started) {
        self.send("start", started);
    }

    fn on_routed(&self, id: &str, provider: Option<&str>, model: Option<&str>, attempts: usize) {
        self.send(
            "routed",
            &Routed {
                id,
                provider,
                model,
                attempts,
            },
        );
    }

    fn on_first_token(&self, id: &str, ttft: Duration) {
        self.send(
            "first_token",
            &FirstToken {
                id,
                ttft_ms: ttft.as_secs_f64() * 1000.0,
            },
        );
    }

    fn wants_first_token(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    fn on_complete(&self, r: &Arc<Record>) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        self.send(
            "complete",
            &Complete {
                record: Lean {
                    id: &r.id,
                    time: &r.time,
                    ts_ms: r.ts_ms,
                    endpoint: r.endpoint,
                    protocol: r.protocol,
                    stream: r.stream,
                    key_id: &r.key_id,
                    team: &r.team,
                    source: &r.source,
                    project: &r.project,
                    tags: &r.tags,
                    route: &r.route,
                    requested_model: &r.requested_model,
                    provider: &r.provider,
                    model: &r.model,
                    response_model: &r.response_model,
                    attempts: r.attempts.len(),
                    status: r.status,
                    outcome: r.outcome.as_str(),
                    error_type: r.error_type,
                    finish_reason: &r.finish_reason,
                    usage: &r.usage,
                    cost_usd: r.cost_usd,
                    duration_ms: r.duration_ms,
                    ttfb_ms: r.ttfb_ms,
                    ttft_ms: r.ttft_ms,
                    overhead_us: r.overhead_us,
                    tokens_per_second: r.tokens_per_second,
                    chunks: r.chunks,
                    response_bytes: r.response_bytes,
                },
            },
        );
    }
}

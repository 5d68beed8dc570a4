//! RecorderLayer of the Switchyard LLM gateway: sees every exchange from
//! start to end of stream, without buffering, and hands a [`Record`] of it to
//! hooks: the journal, the metrics, the live event feed.
//!
//! - [`RecorderLayer`] stamps the start, measures the gateway's own overhead
//!   (answered as `x-switchyard-overhead-us`), wraps the response body and
//!   finishes exactly once: at the end of the stream, on an error, or when
//!   the client goes away.
//! - [`Record`] is one exchange: identity, attribution, route, attempts,
//!   status and [`ErrorClass`](switchyard_core::ErrorClass), usage and cost,
//!   latency figures, capped bodies.
//! - [`OnRecord`] hooks receive `start`, `routed`, `first_token` and
//!   `complete`; a closure over `&Arc<Record>` is one, and a tuple of hooks
//!   fans out. [`MetricsHook`] exports Prometheus-friendly metrics named after
//!   the OpenTelemetry GenAI conventions; [`EventFeed`] broadcasts JSON events.
//!
//! # Example
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use switchyard_core::ParseLayer;
//! use switchyard_recorder::{Record, RecorderLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let seen: Arc<Mutex<Vec<Arc<Record>>>> = Arc::default();
//! let sink = seen.clone();
//! let svc = ServiceBuilder::new()
//!     .layer(ParseLayer::new())
//!     .layer(RecorderLayer::new().hooks(move |r: &Arc<Record>| sink.lock().unwrap().push(r.clone())))
//!     .service_fn(|_req: http::Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from("{}"))))
//!     });
//! let req = http::Request::post("/v1/chat/completions")
//!     .header("x-project", "demo")
//!     .body(Full::new(Bytes::from_static(br#"{"model":"m","messages":[]}"#)))
//!     .unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert!(res.headers().contains_key("x-switchyard-overhead-us"));
//! res.into_body().collect().await.unwrap();
//! let records = seen.lock().unwrap();
//! assert_eq!(records.len(), 1);
//! assert_eq!(records[0].status, 200);
//! assert_eq!(records[0].project.as_deref(), Some("demo"));
//! # });
//! ```
//!
//! # Behavior
//!
//! - Frames pass unchanged; the recorder counts them and their bytes, and
//!   keeps (by reference, up to the limit) only non-streamed answer bodies.
//! - Usage, cost, finish reason, first-token time and the answer's text come
//!   from the [`Exchange`](switchyard_core::Exchange) that inner layers (the
//!   usage layer) fill; without them the record has none.
//! - A stream the client drops is recorded as `client_disconnected`; one the
//!   upstream breaks as `stream_error` with error type `stream_truncated`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod classify;
mod defer;
mod feed;
mod future;
mod hooks;
mod layer;
pub mod metrics;
mod record;
mod service;
mod time;

pub use body::RecordedBody;
pub use classify::classify;
pub use feed::{EventFeed, FeedEvent};
pub use future::ResponseFuture;
pub use hooks::{OnRecord, Started};
pub use layer::RecorderLayer;
pub use metrics::MetricsHook;
pub use record::FindingRecord;
pub use record::{AttemptRecord, Outcome, Record, UsageRecord, lossy_text, scrub_secrets};
pub use service::Recorder;
pub use time::rfc3339;

/// Response header: microseconds the gateway spent on the request before
/// the answer's head, not counting the wait for the upstream.
pub const OVERHEAD_HEADER: &str = "x-switchyard-overhead-us";

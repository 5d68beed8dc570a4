//! UsageLayer of the Switchyard LLM gateway: every token and cent of an
//! exchange, from the provider's own figures, without buffering a stream.
//!
//! - [`UsageLayer`] reads usage from each answer as it passes, in the wire
//!   format of the endpoint ([`WireFormat`]: OpenAI chat, completions,
//!   embeddings and Responses; Anthropic Messages), prices it with a
//!   [`Pricing`] and writes tokens, cost, finish reason, first-token time and
//!   the answer's text into the request's [`Exchange`](switchyard_core::Exchange).
//! - [`ModelCatalog`] holds prices per million tokens, context windows and
//!   capabilities of the common models (`config/models.toml`), overridable and
//!   extendable.
//! - [`estimate`] counts tokens offline with a real BPE tokenizer when a
//!   provider reports none.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use switchyard_core::{Candidate, ParseLayer, RequestExt, RouteDecision};
//! use switchyard_usage::{ModelCatalog, Pricing, UsageLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let pricing = Pricing::new(ModelCatalog::builtin());
//! let svc = ServiceBuilder::new()
//!     .layer(ParseLayer::new())
//!     .map_request(|mut req: http::Request<Full<Bytes>>| {
//!         // What a RouteLayer would decide.
//!         req.context_mut().unwrap().set_route(RouteDecision {
//!             requested_model: "gpt-4o-mini".into(),
//!             rule: "openai".into(),
//!             candidates: vec![Candidate::new("openai", "gpt-4o-mini")],
//!         });
//!         req
//!     })
//!     .layer(UsageLayer::new(Arc::new(pricing)))
//!     .service_fn(|_req: http::Request<Full<Bytes>>| async {
//!         let answer = r#"{"choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}],
//!                          "usage":{"prompt_tokens":1000,"completion_tokens":100}}"#;
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(answer))))
//!     });
//! let req = http::Request::post("/v1/chat/completions")
//!     .body(Full::new(Bytes::from_static(br#"{"model":"gpt-4o-mini","messages":[]}"#)))
//!     .unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.headers()["x-switchyard-input-tokens"], "1000");
//! assert_eq!(res.headers()["x-switchyard-output-tokens"], "100");
//! // gpt-4o-mini: $0.15 / M input, $0.60 / M output
//! assert_eq!(res.headers()["x-switchyard-cost-usd"], "0.00021");
//! # });
//! ```
//!
//! # Behavior
//!
//! - Non-streamed answers (up to a size limit) are read whole before the head
//!   goes out, so they carry `x-switchyard-input-tokens`,
//!   `x-switchyard-output-tokens` and `x-switchyard-cost-usd`. Larger ones
//!   pass on as they come and are accounted from the `usage` at their end.
//! - Streams pass frame by frame. For OpenAI-format streams the layer sets
//!   `stream_options.include_usage` when the client did not decide, and then
//!   removes the extra usage-only chunk from what the client sees.
//! - A stream the client cancels is charged for what was produced: the
//!   provider's figures if any came, else the text seen, counted.
//! - Figures the provider did not report are estimated with a BPE tokenizer
//!   and the usage is marked `estimated`.
//! - Upstream errors (non-2xx) pass through untouched and cost nothing.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod catalog;
pub mod estimate;
mod future;
mod layer;
mod observe;
mod pricing;
mod service;
mod tail;
pub mod wire;

pub use body::UsageBody;
pub use catalog::{ModelCatalog, ModelInfo};
pub use future::ResponseFuture;
pub use layer::UsageLayer;
pub use observe::Observation;
pub use pricing::Pricing;
pub use service::UsageService;
pub use wire::{EventKind, WireFormat};

/// Response header: the answer's input tokens (non-streamed answers).
pub const INPUT_TOKENS_HEADER: &str = "x-switchyard-input-tokens";
/// Response header: the answer's output tokens (non-streamed answers).
pub const OUTPUT_TOKENS_HEADER: &str = "x-switchyard-output-tokens";
/// Response header: the answer's cost in USD (non-streamed answers with a known price).
pub const COST_HEADER: &str = "x-switchyard-cost-usd";
/// Response header: present (`true`) when the token figures are estimates.
pub const ESTIMATED_HEADER: &str = "x-switchyard-usage-estimated";

//! LimitLayer of the Switchyard LLM gateway: rate limits and budgets per key,
//! team and model, in memory or shared across instances through Redis.
//!
//! - [`LimitLayer`] admits or refuses each request before it goes upstream:
//!   requests and tokens per minute per key (the auth layer's
//!   [`Identity::quota`](switchyard_core::Identity)), per team and per model,
//!   and USD budgets per UTC day and month per key and team ([`LimitsConfig`]).
//! - [`Limiter`] holds the counters and outlives configuration reloads: in
//!   memory ([`Limiter::in_memory`]), or leased from Redis
//!   ([`Limiter::redis`], see [`Leases`]) so several instances share one limit.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use switchyard_core::{Candidate, ParseLayer, RequestExt, RouteDecision};
//! use switchyard_limit::{LimitLayer, Limiter, LimitsConfig};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let config: LimitsConfig = toml::from_str(r#"models."gpt-4o*".rpm = 2"#).unwrap();
//! let mut svc = ServiceBuilder::new()
//!     .layer(ParseLayer::new())
//!     .map_request(|mut req: http::Request<Full<Bytes>>| {
//!         // What a RouteLayer would decide.
//!         req.context_mut().unwrap().set_route(RouteDecision {
//!             requested_model: "gpt-4o".into(),
//!             rule: "openai".into(),
//!             candidates: vec![Candidate::new("openai", "gpt-4o")],
//!         });
//!         req
//!     })
//!     .layer(LimitLayer::new(Limiter::in_memory(), config.policy().unwrap()))
//!     .service_fn(|_req: http::Request<Full<Bytes>>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from("{}"))))
//!     });
//! let call = || http::Request::post("/v1/chat/completions")
//!     .body(Full::new(Bytes::from_static(br#"{"model":"gpt-4o","messages":[]}"#)))
//!     .unwrap();
//! for _ in 0..2 {
//!     let res = svc.ready().await.unwrap().call(call()).await.unwrap();
//!     assert_eq!(res.status(), 200);
//! }
//! let res = svc.ready().await.unwrap().call(call()).await.unwrap();
//! assert_eq!(res.status(), 429);
//! // Seconds until one of the two has slid out of the last minute.
//! assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() <= 90);
//! # });
//! ```
//!
//! # Behavior
//!
//! - **Rates** count over a sliding minute (the current minute's count plus
//!   the previous minute's, weighted by how much of it is still inside the
//!   last 60 s, rounded up). **Budgets** count per UTC day and month.
//! - **Reserve, then settle**: a request reserves its estimated input tokens
//!   plus its `max_tokens` / `max_completion_tokens` / `max_output_tokens`
//!   (else `default_max_tokens`), priced with the [`PriceList`]. When its
//!   answer's body is done (end, error or client gone), the reservation is
//!   replaced with the usage and cost the usage layer recorded in the
//!   exchange: unused tokens and dollars come back, overruns are charged.
//! - **Refusals** are 429s in the client's error shape with `Retry-After`
//!   (seconds until the request would fit) and `x-ratelimit-limit-*`,
//!   `-remaining-*`, `-reset-*`. A budget refusal has code
//!   `insufficient_quota` and `x-should-retry: false` (so SDKs do not retry a
//!   budget that resets tomorrow). The exchange is marked `rate_limited` or
//!   `budget`. Admitted answers carry `x-ratelimit-limit-*` / `-remaining-*`
//!   of the tightest request and token limits.
//! - **Stream cutoff** (`cutoff_streams`): the answer's text is counted as it
//!   streams; when its estimated cost passes the budget left at admission,
//!   the stream ends at an event boundary with one error event in the
//!   client's protocol (OpenAI: an error chunk and no `[DONE]`).
//! - **Shared limits** ([`Leases`]): Redis is asked for slices, not per
//!   request; instances together never hold more than a limit allows.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod answer;
mod body;
mod check;
mod config;
mod layer;
mod lease;
mod limiter;
pub mod metrics;
mod period;
mod plan;
mod price;
mod redis;
mod service;
mod store;

pub use body::LimitBody;
pub use check::{Check, Scope, Unit};
pub use config::{LimitsConfig, OnStoreError, Policy, QuotaConfig, RateConfig};
pub use layer::LimitLayer;
pub use lease::{LeaseOptions, Leases};
pub use limiter::Limiter;
pub use period::Period;
pub use price::{NoPrices, PriceList};
pub use redis::RedisStore;
pub use service::{LimitService, ResponseFuture};
pub use store::{Limit, LimitKey, MemoryStore, Remote, StoreError, Taken};

//! Core types of the Switchyard LLM gateway, shared by every layer crate.
//!
//! - [`ParseLayer`] reads a request body once and inserts a [`ParsedRequest`]
//!   (client protocol, raw `Bytes`, lazily parsed JSON) and a [`RequestContext`]
//!   (id, timing, attribution, identity, tags, route decision, and the shared
//!   [`Exchange`] handle that outer layers read after the response).
//! - [`CatchLayer`] is the edge: it turns any [`Error`] into a `gateway_error`
//!   response in the client's protocol, so the stack's error is `Infallible`.
//! - [`Rejection`] builds refusals (400, 401, 404, 413, 429 ...) in the
//!   client's own error shape.
//! - [`SseParser`] parses event streams incrementally, for observers that
//!   look at frames as they pass.
//! - [`Body`] is the type-erased streaming response body providers answer with.
//! - [`Prompt`] is a request's text, images and tools, read once for
//!   classifiers and routes; [`TargetHealth`] / [`HealthBoard`] the health
//!   signal health-aware routes read and failover writes.
//!
//! Layer crates depend on this crate and never on each other.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod catch;
mod context;
mod doc;
mod error;
mod ext;
mod future;
mod headers;
mod health;
mod json;
mod outcome;
mod parse;
mod parsed;
mod prompt;
mod protocol;
mod sse;
mod stream_error;

pub use body::{Body, BoxError};
pub use catch::{Catch, CatchFuture, CatchLayer};
pub use context::{
    AnswerDigest, AnswerStart, Attempt, Attribution, Candidate, Exchange, ExchangeState,
    GuardFinding, Identity, ProviderKeys, Quota, RequestContext, RequestId, RouteDecision,
    TextRedactor, Usage,
};
pub use doc::{Doc, DocRef, Items, JsonRef, Members};
pub use error::{Error, ErrorKind, ErrorType, Rejection};
pub use ext::RequestExt;
pub use future::LayerFuture;
pub use headers::remove_headers;
pub use health::{AlwaysHealthy, HealthBoard, TargetHealth};
pub use json::{from_json, json_field, json_get};
pub use outcome::{Cost, ErrorClass};
pub use parse::{Parse, ParseLayer, ResponseFuture};
pub use parsed::ParsedRequest;
pub use prompt::Prompt;
pub use protocol::{Endpoint, Protocol};
pub use sse::{SseEvent, SseParser, count_data_fields};
pub use stream_error::ErrorEvent;

/// Response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-switchyard-request-id";
/// Response header naming the provider that served the request.
pub const PROVIDER_HEADER: &str = "x-switchyard-provider";
/// Response header naming the model sent to the provider.
pub const MODEL_HEADER: &str = "x-switchyard-model";
/// Response header counting the attempts made.
pub const ATTEMPTS_HEADER: &str = "x-switchyard-attempts";

//! ClassifyLayer of the Switchyard LLM gateway: tags each request before
//! routing, and each answer as it passes.
//!
//! - [`Classifier`]: one request test and the tag it gives: keyword lists
//!   (whole-word, any case), a regex on the prompt, prompt length ranges
//!   (characters or estimated tokens), `vision` (image parts), `tools`,
//!   `code` (fences or code-like lines), `long_context`.
//! - [`ResponseClassifiers`]: `refusal` (the answer opens with a refusal, or
//!   the provider flags one), `truncated` (it stopped at its token limit), and
//!   `content_filter`.
//! - [`ClassifyLayer`]: the tower layer. Request tags go into the
//!   `RequestContext` for route rules and back to the client in
//!   `x-switchyard-request-tags`; response tags go into the `Exchange` and
//!   back in `x-switchyard-response-tags` (a header for whole answers, a
//!   trailer for streams).
//!
//! # Behavior
//!
//! - The prompt is read once per request (`ParsedRequest::prompt`) from the
//!   body as the client sent it, in any protocol's shape.
//! - Bodies are never changed. Streams are observed frame by frame and never
//!   held back; a non-streamed answer is read whole, up to
//!   [`ResponseClassifiers::max_buffer`], so its tags can go in a header.
//! - Error answers (non-2xx) are not classified.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod future;
mod layer;
mod request;
mod response;

pub use body::ClassifyBody;
pub use future::ResponseFuture;
pub use layer::{Classifiers, Classify, ClassifyLayer, DEFAULT_LONG_CONTEXT_TOKENS};
pub use request::{Classifier, LengthRange, Scope};
pub use response::{DEFAULT_REFUSAL_PHRASES, ResponseClassifiers};

/// Response header (and stream trailer) listing the request's tags.
pub const REQUEST_TAGS_HEADER: &str = "x-switchyard-request-tags";
/// Response header (or stream trailer) listing the answer's tags.
pub const RESPONSE_TAGS_HEADER: &str = "x-switchyard-response-tags";

/// [`REQUEST_TAGS_HEADER`] as a `HeaderName`, built at compile time (not per request).
pub(crate) const REQUEST_TAGS_NAME: http::HeaderName =
    http::HeaderName::from_static(REQUEST_TAGS_HEADER);
/// [`RESPONSE_TAGS_HEADER`] as a `HeaderName`, built at compile time (not per request).
pub(crate) const RESPONSE_TAGS_NAME: http::HeaderName =
    http::HeaderName::from_static(RESPONSE_TAGS_HEADER);

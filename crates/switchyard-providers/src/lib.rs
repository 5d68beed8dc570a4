//! Provider services of the Switchyard LLM gateway: the bottom of the stack.
//!
//! Each provider is a `tower::Service<http::Request<B>>` answering
//! `http::Response<switchyard_core::Body>`. It reads the [`ParsedRequest`] and
//! [`RequestContext`] that `ParseLayer` put in the request extensions, sends
//! the body to the candidate the route (or failover) layer picked, and streams
//! the answer back frame by frame.
//!
//! - [`OpenAi`]: any OpenAI-compatible server, over a shared [`HttpClient`]
//!   built by [`http_client`]. An unchanged body is forwarded byte for byte;
//!   the first body frame is the commit point (see [`OpenAiConfig::first_byte_timeout`]).
//! - [`Mock`]: a built-in provider answering in the OpenAI format with no
//!   network, deterministic, with streaming, embeddings and error injection.
//! - [`Anthropic`]: the Anthropic Messages API (`x-api-key`, `anthropic-version`,
//!   `anthropic-beta` passed through).
//! - [`Native`] providers that speak their own wire format: [`Azure`],
//!   [`Gemini`], [`Vertex`] (Gemini and Claude, Application Default
//!   Credentials), [`Ollama`] (native `/api/chat`) and [`OpenResponses`].
//! - [`TranslateLayer`]: gives a provider that serves one chat format (an
//!   OpenAI-compatible server, the mock) clients of every other format.
//!
//! Where the client's format and the provider's differ, the request is
//! converted through `switchyard-protocol`'s intermediate representation
//! and the answer converted back: streams frame by frame by a
//! [`TranslateBody`], never buffered; upstream error bodies re-shaped into
//! the client's error format with the status and headers kept. Same format
//! on both sides: the body passes untouched.
//!
//! - [`ProviderSet`]: the dispatcher that sends each attempt to the provider its
//!   target candidate names, records the [`Attempt`], and tags the response with
//!   the provider and model headers.
//!
//! # Behavior
//!
//! - Rejections (an endpoint the provider does not serve, a body the mock cannot
//!   read) are responses in the client's protocol, not errors.
//! - Upstream HTTP errors (4xx, 5xx) are passed through with their status,
//!   headers (`Retry-After` included) and body.
//! - Infrastructure failures (connect, timeout before the first body frame) are
//!   [`switchyard_core::Error`]s with the matching kind, so failover can retry them.
//! - Secrets (API keys) never appear in messages, errors or `Debug` output.
//!
//! [`ParsedRequest`]: switchyard_core::ParsedRequest
//! [`RequestContext`]: switchyard_core::RequestContext
//! [`Attempt`]: switchyard_core::Attempt
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod anthropic;
mod client;
mod dialect;
mod forward;
pub mod mock;
mod native;
mod openai;
mod request;
pub mod set;
mod translate;

pub use anthropic::{ANTHROPIC_VERSION, Anthropic, AnthropicConfig};
pub use client::{ClientOptions, HttpClient, http_client};
pub use dialect::{
    Azure, AzureConfig, Gemini, GeminiConfig, Native, Ollama, OllamaConfig, OpenResponses,
    OpenResponsesConfig, VERTEX_ANTHROPIC_VERSION, Vertex, VertexConfig,
};
pub use mock::{Mock, MockConfig};
pub use openai::{OpenAi, OpenAiConfig};
pub use set::ProviderSet;
pub use translate::{Translate, TranslateBody, TranslateLayer};

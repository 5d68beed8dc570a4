//! Test support for Switchyard: a fake OpenAI-compatible upstream.
//!
//! [`FakeUpstream::start`] serves on `127.0.0.1` and a random port. It
//! records every request ([`Recorded`]) before answering, answers from a
//! FIFO script of [`Reply`]s, and when the script is empty it is a
//! validating OpenAI echo server.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use switchyard_testkit::{FakeUpstream, Reply};
//!
//! let upstream = FakeUpstream::start().await;
//! upstream.push(Reply::Status {
//!     status: 429,
//!     body: r#"{"error":{"message":"slow down"}}"#.into(),
//!     headers: vec![("retry-after".into(), "1".into())],
//! });
//! let client = reqwest::Client::new();
//! let url = format!("{}/chat/completions", upstream.base_url());
//! let body = serde_json::json!({
//!     "model": "gpt-4o-mini",
//!     "messages": [{"role": "user", "content": "hi there"}],
//! });
//!
//! // The scripted reply first ...
//! let res = client.post(&url).json(&body).send().await.unwrap();
//! assert_eq!(res.status(), 429);
//! // ... then the default echo.
//! let res: serde_json::Value = client.post(&url).json(&body).send().await.unwrap()
//!     .json().await.unwrap();
//! assert_eq!(res["choices"][0]["message"]["content"], "echo: hi there");
//! assert_eq!(upstream.requests().len(), 2);
//! # }
//! ```
//!
//! # Default behaviour
//!
//! Errors are OpenAI-shaped (`{"error":{"message","type","param","code"}}`,
//! type `invalid_request_error`): a body that is not a JSON object, a
//! missing or empty `model`, or a chat request without a non-empty
//! `messages` array get a 400 naming the field; an unknown path gets a 404.
//!
//! - `POST …/chat/completions` answers `"echo: " + <last message's text>`
//!   with `finish_reason: "stop"`; usage counts whitespace words (prompt:
//!   every message's text; completion: the reply). With `"stream": true` it
//!   streams, 5 ms apart: a role chunk, one chunk per word, a finish chunk,
//!   a usage chunk (`"choices": []`) if `stream_options.include_usage`, and
//!   `[DONE]`.
//! - `POST …/completions` answers `"echo: " + prompt` as a `text_completion`
//!   (streamed the same way, without the role chunk).
//! - `POST …/embeddings` answers one deterministic 8-float vector per input
//!   (`dimensions` changes the width), as floats or, with
//!   `encoding_format: "base64"`, as base64 of little-endian `f32`s.
//! - `GET …/models` lists [`FakeUpstream::set_models`] (by default
//!   `gpt-4o-mini` and `text-embedding-3-small`); `GET …/models/{id}`
//!   retrieves one or answers 404.
//!
//! Paths match on their suffix and requests may use absolute-form URIs, so
//! the fake works as the target of an HTTP proxy or an Azure-style prefix.
//!
//! # Streams
//!
//! Streamed bodies are produced as they are polled, never buffered. A
//! stream dropped before its end (the client or the gateway went away)
//! counts in [`FakeUpstream::streams_dropped`]; await
//! [`FakeUpstream::wait_stream_dropped`] instead of sleeping. A
//! [`Reply::Gated`] stream holds everything after its first event until
//! the test opens the [`Gate`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod anthropic;
mod brain;
mod formats;
mod gemini;
mod google;
mod ollama;
mod openai;
mod openai_chat;
mod record;
mod reply;
mod responses;
mod server;
mod shapes;
mod stream;

pub use google::SERVICE_ACCOUNT;
pub use record::Recorded;
pub use reply::{Gate, Reply};
pub use server::FakeUpstream;

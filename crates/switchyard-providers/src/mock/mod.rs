//! [`Mock`]: a built-in provider that answers in the OpenAI format with no network.
//!
//! Replies are deterministic and derived from the prompt, so tests and demos
//! can assert them: `"Mock reply to: "` and the first 24 words of the last
//! user message, one word per token and per stream chunk.

mod body;
mod chat;
mod embed;
mod prompt;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use switchyard_core::{Body, Endpoint, Error};
use tower::Service;

use crate::request;

/// Configuration of a [`Mock`] provider.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// The provider's id, as routes name it.
    pub id: String,
    /// The models `GET /v1/models` lists.
    pub models: Vec<String>,
    /// The pause between two stream chunks (none before the first).
    pub chunk_delay: Duration,
    /// The status of injected failures (default 500).
    pub error_status: Option<u16>,
    /// `0`: never fail; `N`: every Nth completion or embeddings request fails
    /// with `error_status`.
    pub error_every: u32,
    /// The length of embedding vectors, unless the request sets `dimensions`.
    pub embedding_dims: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            id: "mock".to_owned(),
            models: vec!["mock-1".to_owned()],
            chunk_delay: Duration::from_millis(20),
            error_status: None,
            error_every: 0,
            embedding_dims: 16,
        }
    }
}

/// A provider answering chat completions, completions, embeddings and the
/// model list in OpenAI's format, without a network.
///
/// # Behavior
///
/// - The model echoed is the target candidate's model.
/// - `"stream": true` answers `text/event-stream`, one chunk per word, paced by
///   [`chunk_delay`](MockConfig::chunk_delay); `stream_options.include_usage`
///   adds the usage chunk.
/// - `max_tokens` / `max_completion_tokens` cap the words (`finish_reason: "length"`).
/// - Failures on demand: every [`error_every`](MockConfig::error_every)th
///   request, or a prompt containing `[mock-error:429]` (any status 400-599),
///   answer an OpenAI error body; 429 comes with `retry-after: 1`.
/// - Other endpoints (Responses, Messages) get a 404 in the client's protocol.
///
/// Clones share the request counter.
#[derive(Clone, Debug)]
pub struct Mock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: MockConfig,
    requests: AtomicU64,
}

/// What every answer of one request shares.
struct Meta<'a> {
    /// The request's number, counting from 1.
    n: u64,
    /// Unix seconds.
    created: u64,
    model: &'a str,
}

impl Mock {
    /// A mock provider.
    pub fn new(config: MockConfig) -> Self {
        Mock {
            inner: Arc::new(Inner {
                config,
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// The provider's id.
    pub fn id(&self) -> &str {
        &self.inner.config.id
    }

    /// The models it lists.
    pub fn models(&self) -> Vec<String> {
        self.inner.config.models.clone()
    }

    fn answer<B>(&self, req: &Request<B>) -> Result<Response<Body>, Error> {
        let config = &self.inner.config;
        let (parsed, candidate) = request::target(req)?;
        let endpoint = parsed.endpoint();
        match endpoint {
            Endpoint::Models => return Ok(self.model_list()),
            Endpoint::ChatCompletions | Endpoint::Completions | Endpoint::Embeddings => {}
            _ => return Ok(request::unsupported(endpoint, &config.id, "mock")),
        }
        let n = self.inner.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let every = u64::from(config.error_every);
        if every > 0 && n.is_multiple_of(every) {
            let status = config
                .error_status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = format!("mock error (every {} request)", ordinal(every));
            return Ok(error_response(status, &message));
        }
        let meta = Meta {
            n,
            created: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            model: &candidate.model,
        };
        let json = parsed.json();
        let stream = parsed.is_stream().then_some(config.chunk_delay);
        let (kind, prompt) = match endpoint {
            Endpoint::Embeddings => {
                return Ok(embed::answer(json, &meta, config.embedding_dims));
            }
            Endpoint::Completions => (chat::Kind::Text, prompt::completion_prompt(json)),
            _ => (chat::Kind::Chat, prompt::last_user_text(json)),
        };
        if let Some(status) = prompt::trigger(&prompt) {
            let message = format!("mock error triggered by [mock-error:{}]", status.as_u16());
            return Ok(error_response(status, &message));
        }
        let prompt_chars = match kind {
            chat::Kind::Chat => prompt::message_chars(json),
            chat::Kind::Text => prompt.chars().count(),
        };
        let reply = chat::Reply::new(&prompt, prompt::max_tokens(json), prompt_chars);
        Ok(chat::answer(kind, &reply, &meta, json, stream))
    }

    fn model_list(&self) -> Response<Body> {
        let data: Vec<_> = self
            .inner
            .config
            .models
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m,
                    "object": "model",
                    "created": 0,
                    "owned_by": "switchyard-mock",
                })
            })
            .collect();
        json_response(
            StatusCode::OK,
            &serde_json::json!({ "object": "list", "data": data }),
        )
    }
}

impl<B> Service<Request<B>> for Mock {
    type Response = Response<Body>;
    type Error = Error;
    type Future = std::future::Ready<Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        std::future::ready(self.answer(&req))
    }
}

/// A JSON response.
fn json_response(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut res = Response::new(Body::from(value.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// An OpenAI error body with the `type` an upstream would give `status`.
fn error_response(status: StatusCode, message: &str) -> Response<Body> {
    let error_type = match status.as_u16() {
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    };
    let body = serde_json::json!({
        "error": {
            "message": message,
            "type": error_type,
            "param": null,
            "code": "mock_error",
        }
    });
    let mut res = json_response(status, &body);
    if status == StatusCode::TOO_MANY_REQUESTS {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

/// `data: <json>\n\n`
fn sse_event(value: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st` ...
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::ordinal;

    #[test]
    fn ordinals() {
        let got: Vec<_> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }
}

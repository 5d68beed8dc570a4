//! `openresponses`: a Responses-API server (OpenAI's `/v1/responses`, or any OpenResponses server).

use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_core::{Endpoint, Error};
use switchyard_protocol::Format;

use super::{AuthFuture, Call, Dialect, Native};
use crate::HttpClient;
use crate::native::secret;

/// Configuration of an [`OpenResponses`] provider.
#[derive(Clone)]
pub struct OpenResponsesConfig {
    /// The provider's id.
    pub id: String,
    /// The API root including the version: `https://api.openai.com/v1`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer`; unset forwards the client's own.
    pub api_key: Option<String>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bound on the time until the first body frame.
    pub first_byte_timeout: Duration,
}

impl std::fmt::Debug for OpenResponsesConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenResponsesConfig")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A Responses-API provider: Responses clients pass through untouched; Chat
/// Completions and Anthropic clients are translated (stateless, `store: false`).
pub type OpenResponses = Native<ResponsesDialect>;

/// The [`Dialect`] of [`OpenResponses`].
#[derive(Debug)]
pub struct ResponsesDialect {
    base_url: String,
    key: Option<HeaderValue>,
}

impl Native<ResponsesDialect> {
    /// An OpenResponses provider.
    pub fn openresponses(config: OpenResponsesConfig, client: HttpClient) -> Result<Self, Error> {
        let key = config
            .api_key
            .as_deref()
            .map(|k| secret(&config.id, &format!("Bearer {k}")))
            .transpose()?;
        let dialect = ResponsesDialect {
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            key,
        };
        Ok(Native::build(
            config.id,
            dialect,
            client,
            config.headers,
            config.first_byte_timeout,
            None,
        ))
    }
}

impl Dialect for ResponsesDialect {
    fn kind(&self) -> &'static str {
        "openresponses"
    }

    fn format(&self, _model: &str) -> Format {
        Format::Responses
    }

    fn url(&self, call: &Call<'_>) -> Option<String> {
        match call.endpoint {
            Endpoint::Responses | Endpoint::ChatCompletions | Endpoint::Messages => {
                Some(format!("{}/responses", self.base_url))
            }
            _ => None,
        }
    }

    fn auth(&self, client: &HeaderMap) -> AuthFuture {
        let v = self
            .key
            .clone()
            .or_else(|| client.get(AUTHORIZATION).cloned());
        Box::pin(std::future::ready(Ok(v
            .map(|v| vec![(AUTHORIZATION, v)])
            .unwrap_or_default())))
    }
}

//! `gemini`: Google AI Studio's Gemini API.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_core::Error;
use switchyard_protocol::Format;

use super::{AuthFuture, Call, Dialect, Native, key_or_client};
use crate::HttpClient;
use crate::native::secret;

/// Configuration of a [`Gemini`] provider.
#[derive(Clone)]
pub struct GeminiConfig {
    /// The provider's id.
    pub id: String,
    /// The API root: `https://generativelanguage.googleapis.com/v1beta`.
    pub base_url: String,
    /// Sent as `x-goog-api-key`; unset forwards the client's own `x-goog-api-key`.
    pub api_key: Option<String>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bound on the time until the first body frame.
    pub first_byte_timeout: Duration,
}

impl GeminiConfig {
    /// A config for `id` against the public API.
    pub fn new(id: impl Into<String>) -> Self {
        GeminiConfig {
            id: id.into(),
            base_url: "https://generativelanguage.googleapis.com/v1beta".into(),
            api_key: None,
            headers: Vec::new(),
            first_byte_timeout: Duration::from_secs(300),
        }
    }
}

impl std::fmt::Debug for GeminiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiConfig")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// A Gemini provider: every client format is translated to `generateContent`
/// (`streamGenerateContent?alt=sse` for streams); the key goes in a header,
/// never the URL. `count_tokens` is estimated.
pub type Gemini = Native<GeminiDialect>;

/// The [`Dialect`] of [`Gemini`] (also used by Vertex AI for Gemini models).
#[derive(Debug)]
pub struct GeminiDialect {
    base_url: String,
    key: Option<HeaderValue>,
    id: String,
}

impl Native<GeminiDialect> {
    /// A Gemini provider.
    pub fn gemini(config: GeminiConfig, client: HttpClient) -> Result<Self, Error> {
        let key = config
            .api_key
            .as_deref()
            .map(|k| secret(&config.id, k))
            .transpose()?;
        let dialect = GeminiDialect {
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            key,
            id: config.id.clone(),
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

/// `{base}/models/{model}:generateContent` or `:streamGenerateContent?alt=sse`.
pub(crate) fn gemini_url(base: &str, model: &str, stream: bool) -> String {
    gemini_method_url(base, model, if stream { "stream" } else { "generate" })
}

/// `{base}/models/{model}:{generateContent|streamGenerateContent?alt=sse|countTokens}`.
pub(crate) fn gemini_method_url(base: &str, model: &str, method: &str) -> String {
    if method == "count" {
        format!("{base}/models/{model}:countTokens")
    } else if method == "stream" {
        format!("{base}/models/{model}:streamGenerateContent?alt=sse")
    } else {
        format!("{base}/models/{model}:generateContent")
    }
}

impl Dialect for GeminiDialect {
    fn kind(&self) -> &'static str {
        "gemini"
    }

    fn format(&self, _model: &str) -> Format {
        Format::Gemini
    }

    fn url(&self, call: &Call<'_>) -> Option<String> {
        let model = call.model.strip_prefix("models/").unwrap_or(call.model);
        if call.endpoint == switchyard_core::Endpoint::CountTokens {
            return Some(gemini_method_url(&self.base_url, model, "count"));
        }
        Some(gemini_url(&self.base_url, model, call.stream))
    }

    fn caller_key_header(&self) -> Option<(HeaderName, &'static str)> {
        Some((HeaderName::from_static("x-goog-api-key"), ""))
    }

    fn auth(&self, client: &HeaderMap) -> AuthFuture {
        key_or_client(&self.id, &self.key, client, "x-goog-api-key")
    }
}

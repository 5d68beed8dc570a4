//! `ollama`: Ollama's native `/api/chat`.

use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_core::Error;
use switchyard_protocol::Format;

use super::{AuthFuture, Call, Dialect, Native};
use crate::HttpClient;
use crate::native::secret;

/// Configuration of an [`Ollama`] provider.
#[derive(Clone, Debug)]
pub struct OllamaConfig {
    /// The provider's id.
    pub id: String,
    /// The server root (no `/api`): `http://127.0.0.1:11434`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer` (hosted Ollama); a local server needs none.
    pub api_key: Option<String>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bound on the time until the first body frame (model loading counts).
    pub first_byte_timeout: Duration,
}

/// An Ollama provider: every client format is translated to `/api/chat`,
/// sampling parameters into `options`, streams read as NDJSON.
pub type Ollama = Native<OllamaDialect>;

/// The [`Dialect`] of [`Ollama`].
#[derive(Debug)]
pub struct OllamaDialect {
    base_url: String,
    key: Option<HeaderValue>,
}

impl Native<OllamaDialect> {
    /// An Ollama provider.
    pub fn ollama(config: OllamaConfig, client: HttpClient) -> Result<Self, Error> {
        let key = config
            .api_key
            .as_deref()
            .map(|k| secret(&config.id, &format!("Bearer {k}")))
            .transpose()?;
        let base = config.base_url.trim_end_matches('/');
        let base = base.strip_suffix("/api").unwrap_or(base).to_owned();
        Ok(Native::build(
            config.id,
            OllamaDialect {
                base_url: base,
                key,
            },
            client,
            config.headers,
            config.first_byte_timeout,
            None,
        ))
    }
}

impl Dialect for OllamaDialect {
    fn kind(&self) -> &'static str {
        "ollama"
    }

    fn format(&self, _model: &str) -> Format {
        Format::Ollama
    }

    fn url(&self, _call: &Call<'_>) -> Option<String> {
        Some(format!("{}/api/chat", self.base_url))
    }

    fn auth(&self, _client: &HeaderMap) -> AuthFuture {
        let v = self.key.clone();
        Box::pin(std::future::ready(Ok(v
            .map(|v| vec![(AUTHORIZATION, v)])
            .unwrap_or_default())))
    }
}

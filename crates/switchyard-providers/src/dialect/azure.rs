//! `azure`: Azure OpenAI.

use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_core::{Endpoint, Error};
use switchyard_protocol::Format;

use super::{AuthFuture, Call, Dialect, Native};
use crate::HttpClient;
use crate::native::secret;

/// Configuration of an [`Azure`] provider.
#[derive(Clone)]
pub struct AzureConfig {
    /// The provider's id.
    pub id: String,
    /// The resource endpoint: `https://<resource>.openai.azure.com`.
    pub base_url: String,
    /// Sent as `api-key`; unset forwards the client's `api-key`, or its
    /// `Authorization` (an Entra ID token).
    pub api_key: Option<String>,
    /// The deployment; unset uses the model name as the deployment name.
    pub deployment: Option<String>,
    /// `api-version` (e.g. `2024-10-21`); unset uses the v1 API
    /// (`/openai/v1/...`, model in the body).
    pub api_version: Option<String>,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bound on the time until the first body frame.
    pub first_byte_timeout: Duration,
}

impl std::fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureConfig")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("deployment", &self.deployment)
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

/// An Azure OpenAI provider: OpenAI clients (chat, completions, embeddings)
/// pass through to the deployment's URL; Anthropic and Responses clients
/// are translated to Chat Completions.
pub type Azure = Native<AzureDialect>;

/// The [`Dialect`] of [`Azure`].
#[derive(Debug)]
pub struct AzureDialect {
    base_url: String,
    key: Option<HeaderValue>,
    deployment: Option<String>,
    api_version: Option<String>,
}

impl Native<AzureDialect> {
    /// An Azure OpenAI provider.
    pub fn azure(config: AzureConfig, client: HttpClient) -> Result<Self, Error> {
        let key = config
            .api_key
            .as_deref()
            .map(|k| secret(&config.id, k))
            .transpose()?;
        let base = config.base_url.trim_end_matches('/');
        let base = base.strip_suffix("/openai").unwrap_or(base).to_owned();
        let dialect = AzureDialect {
            base_url: base,
            key,
            deployment: config.deployment,
            api_version: config.api_version,
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

impl Dialect for AzureDialect {
    fn kind(&self) -> &'static str {
        "azure"
    }

    fn format(&self, _model: &str) -> Format {
        Format::OpenAiChat
    }

    fn url(&self, call: &Call<'_>) -> Option<String> {
        let suffix = match call.endpoint {
            Endpoint::Completions | Endpoint::Embeddings => call.endpoint.suffix(),
            Endpoint::ChatCompletions | Endpoint::Messages | Endpoint::Responses => {
                "/chat/completions"
            }
            _ => return None,
        };
        Some(match &self.api_version {
            Some(v) => {
                let deployment = self.deployment.as_deref().unwrap_or(call.model);
                format!(
                    "{}/openai/deployments/{deployment}{suffix}?api-version={v}",
                    self.base_url
                )
            }
            None => format!("{}/openai/v1{suffix}", self.base_url),
        })
    }

    fn caller_key_header(&self) -> Option<(HeaderName, &'static str)> {
        Some((HeaderName::from_static("api-key"), ""))
    }

    fn auth(&self, client: &HeaderMap) -> AuthFuture {
        let h = match (&self.key, client.get("api-key"), client.get(AUTHORIZATION)) {
            (Some(k), _, _) => vec![(HeaderName::from_static("api-key"), k.clone())],
            (None, Some(k), _) => vec![(HeaderName::from_static("api-key"), k.clone())],
            (None, None, Some(a)) => vec![(AUTHORIZATION, a.clone())],
            (None, None, None) => client
                .get("x-api-key")
                .map(|k| vec![(HeaderName::from_static("api-key"), k.clone())])
                .unwrap_or_default(),
        };
        Box::pin(std::future::ready(Ok(h)))
    }
}

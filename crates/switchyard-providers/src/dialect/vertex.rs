//! `vertex`: Gemini and Claude models on Google Vertex AI.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::HttpClient;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use switchyard_core::{Endpoint, Error};
use switchyard_protocol::Format;

use super::adc::Adc;
use super::gemini::{gemini_method_url, gemini_url};
use super::{AuthFuture, Call, Dialect, Native};

/// `anthropic_version` in the body of Claude requests on Vertex.
pub const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Configuration of a [`Vertex`] provider.
#[derive(Clone, Debug)]
pub struct VertexConfig {
    /// The provider's id.
    pub id: String,
    /// The Google Cloud project; unset uses the credentials' project.
    pub project: Option<String>,
    /// The region (`us-central1`, `europe-west4`, `global`, ...).
    pub location: String,
    /// Overrides the API root (default `https://{location}-aiplatform.googleapis.com/v1`).
    pub base_url: Option<String>,
    /// A credentials JSON file; unset uses Application Default Credentials.
    pub credentials_file: Option<PathBuf>,
    /// `max_tokens` for Claude when the client sets none.
    pub max_tokens: u64,
    /// Extra headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bound on the time until the first body frame.
    pub first_byte_timeout: Duration,
}

impl VertexConfig {
    /// A config for `id` in `us-central1`.
    pub fn new(id: impl Into<String>) -> Self {
        VertexConfig {
            id: id.into(),
            project: None,
            location: "us-central1".into(),
            base_url: None,
            credentials_file: None,
            max_tokens: switchyard_protocol::DEFAULT_MAX_TOKENS,
            headers: Vec::new(),
            first_byte_timeout: Duration::from_secs(300),
        }
    }
}

/// Vertex AI: `claude-*` models speak Anthropic Messages (`rawPredict`,
/// `streamRawPredict`, `anthropic_version: vertex-2023-10-16`), every other
/// model Gemini (`generateContent`). Auth is an OAuth token from Application
/// Default Credentials, cached and refreshed.
pub type Vertex = Native<VertexDialect>;

/// The [`Dialect`] of [`Vertex`].
#[derive(Debug)]
pub struct VertexDialect {
    /// `{root}/projects/{project}/locations/{location}/publishers`
    publishers: String,
    adc: Arc<Adc>,
}

impl Native<VertexDialect> {
    /// A Vertex AI provider; reads the credentials now (not the token).
    pub fn vertex(config: VertexConfig, client: HttpClient) -> Result<Self, Error> {
        let adc = Adc::discover(config.credentials_file.as_deref(), client.clone())?;
        let project = config
            .project
            .clone()
            .or_else(|| adc.project.clone())
            .or_else(|| std::env::var("GOOGLE_CLOUD_PROJECT").ok())
            .ok_or_else(|| {
                Error::internal(format!(
                    "provider `{}`: set `project` (the credentials name none)",
                    config.id
                ))
            })?;
        let loc = &config.location;
        let root = match &config.base_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None if loc == "global" => "https://aiplatform.googleapis.com/v1".into(),
            None => format!("https://{loc}-aiplatform.googleapis.com/v1"),
        };
        let dialect = VertexDialect {
            publishers: format!("{root}/projects/{project}/locations/{loc}/publishers"),
            adc: Arc::new(adc),
        };
        Ok(Native::build(
            config.id,
            dialect,
            client,
            config.headers,
            config.first_byte_timeout,
            Some(config.max_tokens),
        ))
    }
}

impl Dialect for VertexDialect {
    fn kind(&self) -> &'static str {
        "vertex"
    }

    fn format(&self, model: &str) -> Format {
        if model.starts_with("claude") {
            Format::Anthropic
        } else {
            Format::Gemini
        }
    }

    fn url(&self, call: &Call<'_>) -> Option<String> {
        let p = &self.publishers;
        match call.format {
            Format::Anthropic if call.endpoint == Endpoint::CountTokens => {
                Some(format!("{p}/anthropic/models/count-tokens:rawPredict"))
            }
            Format::Anthropic => {
                let method = if call.stream {
                    "streamRawPredict"
                } else {
                    "rawPredict"
                };
                Some(format!("{p}/anthropic/models/{}:{method}", call.model))
            }
            _ if call.endpoint == Endpoint::CountTokens => Some(gemini_method_url(
                &format!("{p}/google"),
                call.model,
                "count",
            )),
            _ => Some(gemini_url(&format!("{p}/google"), call.model, call.stream)),
        }
    }

    fn caller_key_header(&self) -> Option<(HeaderName, &'static str)> {
        // Vertex authenticates with Google credentials, not a static key.
        None
    }

    fn auth(&self, _client: &HeaderMap) -> AuthFuture {
        let adc = self.adc.clone();
        Box::pin(async move {
            let token = adc.token().await?;
            let mut v = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Error::upstream("the Google token endpoint sent an unusable token"))?;
            v.set_sensitive(true);
            Ok(vec![(AUTHORIZATION, v)])
        })
    }

    fn count_body(&self, request: Value, _model: &str) -> Value {
        // Vertex takes `contents`, `systemInstruction` and `tools` at the top.
        let mut request = request;
        if let Value::Object(m) = &mut request {
            m.remove("generationConfig");
            m.remove("toolConfig");
        }
        request
    }

    fn adjust(&self, body: &mut Value, call: &Call<'_>) {
        if call.format == Format::Anthropic
            && call.endpoint != Endpoint::CountTokens
            && let Value::Object(m) = body
        {
            m.remove("model");
            m.insert("anthropic_version".into(), VERTEX_ANTHROPIC_VERSION.into());
            if !m.contains_key("max_tokens") {
                m.insert(
                    "max_tokens".into(),
                    switchyard_protocol::DEFAULT_MAX_TOKENS.into(),
                );
            }
        }
    }
}

//! [`Anthropic`]: the Anthropic Messages API.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::header::AUTHORIZATION;
use http::{HeaderName, HeaderValue, Request, Response};
use serde_json::Value;
use switchyard_core::{Body, Endpoint, Error};
use switchyard_protocol::Format;
use tower::Service;

use crate::HttpClient;
use crate::native::{Common, Outgoing, ready, secret};
use crate::request;
use crate::translate::{Defaults, Plan, plan};

/// The `anthropic-version` sent when the client names none.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Configuration of an [`Anthropic`] provider. `Debug` hides the key.
#[derive(Clone)]
pub struct AnthropicConfig {
    /// The provider's id, as routes name it.
    pub id: String,
    /// The API root including the version: `https://api.anthropic.com/v1`.
    pub base_url: String,
    /// Sent as `x-api-key`; when unset, the client's `x-api-key` (or its
    /// `Authorization: Bearer` key) is forwarded.
    pub api_key: Option<String>,
    /// `anthropic-version` when the client sends none.
    pub version: String,
    /// `max_tokens` when the client sets none (Anthropic requires it).
    pub max_tokens: u64,
    /// Extra headers sent with every request; they replace any of the same name.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Bound on the time until the first body frame: the commit point.
    pub first_byte_timeout: Duration,
}

impl AnthropicConfig {
    /// A config for `id` against the public API, with defaults.
    pub fn new(id: impl Into<String>) -> Self {
        AnthropicConfig {
            id: id.into(),
            base_url: "https://api.anthropic.com/v1".into(),
            api_key: None,
            version: ANTHROPIC_VERSION.into(),
            max_tokens: switchyard_protocol::DEFAULT_MAX_TOKENS,
            headers: Vec::new(),
            first_byte_timeout: Duration::from_secs(300),
        }
    }
}

impl fmt::Debug for AnthropicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicConfig")
            .field("id", &self.id)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("version", &self.version)
            .field("max_tokens", &self.max_tokens)
            .finish_non_exhaustive()
    }
}

/// A provider for the Anthropic Messages API.
///
/// Anthropic clients (`/v1/messages`, `/v1/messages/count_tokens`) are
/// forwarded as they are (only `model` is set, and `max_tokens` if missing),
/// with `anthropic-version` and `anthropic-beta` passed through. OpenAI Chat
/// and Responses clients are translated to Messages and back, streams frame
/// by frame; their `count_tokens` has no meaning and other endpoints get a 404.
#[derive(Clone)]
pub struct Anthropic {
    inner: Arc<Inner>,
}

struct Inner {
    common: Common,
    base_url: String,
    key: Option<HeaderValue>,
    version: HeaderValue,
    defaults: Defaults,
}

impl Anthropic {
    /// A provider sending requests through `client`.
    pub fn new(config: AnthropicConfig, client: HttpClient) -> Result<Self, Error> {
        let key = match &config.api_key {
            Some(k) => Some(secret(&config.id, k)?),
            None => None,
        };
        let version = HeaderValue::from_str(&config.version).map_err(|_| {
            Error::internal(format!(
                "provider `{}`: invalid anthropic version",
                config.id
            ))
        })?;
        Ok(Anthropic {
            inner: Arc::new(Inner {
                common: Common {
                    id: Arc::from(config.id),
                    client,
                    first_byte_timeout: config.first_byte_timeout,
                    headers: config.headers,
                },
                base_url: config.base_url.trim_end_matches('/').to_owned(),
                key,
                version,
                defaults: Defaults {
                    max_tokens: Some(config.max_tokens),
                },
            }),
        })
    }

    /// The provider's id.
    pub fn id(&self) -> &str {
        &self.inner.common.id
    }

    fn prepare<B>(&self, req: &Request<B>) -> Result<Result<Outgoing, Response<Body>>, Error> {
        let inner = &*self.inner;
        let (parsed, candidate) = request::target(req)?;
        let endpoint = parsed.endpoint();
        let (path, body, translation) =
            match plan(parsed, Format::Anthropic, &candidate.model, &inner.defaults) {
                Plan::Answer(res) => return Ok(Err(res)),
                Plan::Translate(t) => ("/messages", t.body.to_string().into(), Some(t)),
                Plan::Passthrough => {
                    let mut p = parsed.clone();
                    if let Err(r) = p.set_model(&candidate.model) {
                        return Ok(Err(r.into_response(p.protocol())));
                    }
                    if endpoint == Endpoint::Messages
                        && p.json().get("max_tokens").is_none()
                        && let Value::Object(m) = p.json_mut()
                    {
                        m.insert(
                            "max_tokens".into(),
                            inner.defaults.max_tokens.unwrap_or(4096).into(),
                        );
                    }
                    (endpoint.suffix(), p.body(), None)
                }
            };
        let client = req.headers();
        let team = request::caller_key(req, &inner.common.id, "");
        let key = match team.as_ref().or(inner.key.as_ref()) {
            Some(k) => Some(k.clone()),
            None => client.get("x-api-key").cloned().or_else(|| {
                let bearer = client
                    .get(AUTHORIZATION)?
                    .to_str()
                    .ok()?
                    .strip_prefix("Bearer ")?;
                HeaderValue::from_str(bearer).ok()
            }),
        };
        let mut extra = vec![(
            HeaderName::from_static("anthropic-version"),
            client
                .get("anthropic-version")
                .cloned()
                .unwrap_or_else(|| inner.version.clone()),
        )];
        if let Some(beta) = client.get("anthropic-beta") {
            extra.push((HeaderName::from_static("anthropic-beta"), beta.clone()));
        }
        if let Some(mut k) = key {
            k.set_sensitive(true);
            extra.push((HeaderName::from_static("x-api-key"), k));
        }
        Ok(Ok(Outgoing {
            url: format!("{}{path}", inner.base_url),
            headers: inner.common.headers(client, &extra),
            body,
            translation,
            gemini_count: false,
        }))
    }
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anthropic")
            .field("id", &self.inner.common.id)
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for Anthropic {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.prepare(&req) {
            Ok(Ok(out)) => self.inner.common.send(out),
            Ok(Err(res)) => ready(Ok(res)),
            Err(e) => ready(Err(e)),
        }
    }
}

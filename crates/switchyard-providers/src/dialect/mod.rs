//! [`Native`]: a provider that speaks one wire format (picked per model),
//! with the parts that differ between providers in a [`Dialect`].

mod adc;
mod azure;
mod gemini;
mod ollama;
mod openresponses;
mod vertex;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use serde_json::Value;
use switchyard_core::{Body, Endpoint, Error};
use switchyard_protocol::Format;
use tower::Service;

use crate::HttpClient;
use crate::native::{Common, Outgoing, ready};
use crate::request;
use crate::translate::{Defaults, Plan, plan};

pub use azure::{Azure, AzureConfig};
pub use gemini::{Gemini, GeminiConfig};
pub use ollama::{Ollama, OllamaConfig};
pub use openresponses::{OpenResponses, OpenResponsesConfig};
pub use vertex::{VERTEX_ANTHROPIC_VERSION, Vertex, VertexConfig};

/// What one upstream call is, for building its URL.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The endpoint the client called.
    pub endpoint: Endpoint,
    /// The format sent upstream.
    pub format: Format,
    /// The model sent upstream.
    pub model: &'a str,
    /// Whether the upstream is asked to stream.
    pub stream: bool,
    /// Whether the client's body is forwarded as it is.
    pub passthrough: bool,
}

/// Auth headers, computed per call (maybe asynchronously: a token refresh).
pub type AuthFuture = BoxFuture<'static, Result<Vec<(HeaderName, HeaderValue)>, Error>>;

/// What differs between native providers (sealed: the crate's own dialects).
pub trait Dialect: Send + Sync + 'static {
    /// The kind's name, for errors.
    fn kind(&self) -> &'static str;
    /// The wire format spoken for `model`.
    fn format(&self, model: &str) -> Format;
    /// The URL of a call, or `None` if the endpoint is not served.
    fn url(&self, call: &Call<'_>) -> Option<String>;
    /// The auth headers for a call; `client` holds the client's own headers.
    fn auth(&self, client: &HeaderMap) -> AuthFuture;
    /// The header carrying a caller's own key for this provider (a team's
    /// credentials), and the prefix of its value; `None`: the dialect
    /// authenticates otherwise and ignores such keys.
    fn caller_key_header(&self) -> Option<(HeaderName, &'static str)> {
        Some((http::header::AUTHORIZATION, "Bearer "))
    }
    /// Last edits of a translated or forwarded body.
    fn adjust(&self, _body: &mut Value, _call: &Call<'_>) {}
    /// The body of a Gemini `countTokens` call (AI Studio's form by default:
    /// the whole request under `generateContentRequest`).
    fn count_body(&self, request: Value, model: &str) -> Value {
        let mut request = request;
        if let Value::Object(m) = &mut request {
            m.remove("generationConfig");
            m.insert("model".into(), format!("models/{model}").into());
        }
        serde_json::json!({ "generateContentRequest": request })
    }
}

/// A provider speaking its own wire format; see the type aliases
/// ([`Gemini`], [`Ollama`], [`OpenResponses`], [`Azure`]).
pub struct Native<D> {
    inner: Arc<Inner<D>>,
}

struct Inner<D> {
    common: Common,
    dialect: D,
    defaults: Defaults,
}

impl<D> Clone for Native<D> {
    fn clone(&self) -> Self {
        Native {
            inner: self.inner.clone(),
        }
    }
}

impl<D> fmt::Debug for Native<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Native")
            .field("id", &self.inner.common.id)
            .finish_non_exhaustive()
    }
}

impl<D: Dialect> Native<D> {
    pub(crate) fn build(
        id: String,
        dialect: D,
        client: HttpClient,
        headers: Vec<(HeaderName, HeaderValue)>,
        first_byte_timeout: Duration,
        max_tokens: Option<u64>,
    ) -> Self {
        Native {
            inner: Arc::new(Inner {
                common: Common {
                    id: Arc::from(id),
                    client,
                    first_byte_timeout,
                    headers,
                },
                dialect,
                defaults: Defaults { max_tokens },
            }),
        }
    }

    /// The provider's id.
    pub fn id(&self) -> &str {
        &self.inner.common.id
    }

    fn prepare<B>(&self, req: &Request<B>) -> Result<Result<Outgoing, Response<Body>>, Error> {
        let inner = &*self.inner;
        let (parsed, candidate) = request::target(req)?;
        let model = &*candidate.model;
        let format = inner.dialect.format(model);
        let endpoint = parsed.endpoint();
        if endpoint == Endpoint::CountTokens && format == Format::Gemini {
            return Ok(self.gemini_count(req, parsed, model).map_err(|r| *r));
        }
        let (mut body, translation, stream, passthrough) =
            match plan(parsed, format, model, &inner.defaults) {
                Plan::Answer(res) => return Ok(Err(res)),
                Plan::Translate(t) => (t.body.clone(), Some(t.clone()), t.stream(), false),
                Plan::Passthrough => {
                    let mut p = parsed.clone();
                    if let Err(r) = p.set_model(model) {
                        return Ok(Err(r.into_response(p.protocol())));
                    }
                    (p.json().clone(), None, p.is_stream(), true)
                }
            };
        let call = Call {
            endpoint,
            format,
            model,
            stream,
            passthrough,
        };
        let Some(url) = inner.dialect.url(&call) else {
            return Ok(Err(request::unsupported(
                endpoint,
                &inner.common.id,
                inner.dialect.kind(),
            )));
        };
        inner.dialect.adjust(&mut body, &call);
        let bytes = if passthrough && !body_changed(parsed, &body, model) {
            let mut p = parsed.clone();
            let _ = p.set_model(model);
            p.body()
        } else {
            body.to_string().into()
        };
        Ok(Ok(Outgoing {
            url,
            headers: inner.common.headers(req.headers(), &[]),
            body: bytes,
            translation,
            gemini_count: false,
        }))
    }

    /// `count_tokens` for a Gemini model: Gemini's own `countTokens`.
    fn gemini_count<B>(
        &self,
        req: &Request<B>,
        parsed: &switchyard_core::ParsedRequest,
        model: &str,
    ) -> Result<Outgoing, Box<Response<Body>>> {
        let inner = &*self.inner;
        let ir = Format::Anthropic
            .decode_request(parsed.json())
            .map_err(|e| {
                Box::new(
                    switchyard_core::Rejection::bad_request(e.message().to_owned())
                        .into_response(switchyard_core::Protocol::Anthropic),
                )
            })?;
        let body = inner
            .dialect
            .count_body(Format::Gemini.encode_request(&ir, model), model);
        let call = Call {
            endpoint: Endpoint::CountTokens,
            format: Format::Gemini,
            model,
            stream: false,
            passthrough: false,
        };
        let url = inner.dialect.url(&call).ok_or_else(|| {
            Box::new(request::unsupported(
                Endpoint::CountTokens,
                &inner.common.id,
                inner.dialect.kind(),
            ))
        })?;
        Ok(Outgoing {
            url,
            headers: inner.common.headers(req.headers(), &[]),
            body: body.to_string().into(),
            translation: None,
            gemini_count: true,
        })
    }
}

/// Whether `adjust` changed a forwarded body beyond its model.
fn body_changed(parsed: &switchyard_core::ParsedRequest, body: &Value, model: &str) -> bool {
    let mut original = parsed.json().clone();
    if let Value::Object(m) = &mut original
        && m.contains_key("model")
    {
        m.insert("model".into(), model.into());
    }
    &original != body
}

impl<D: Dialect, B> Service<Request<B>> for Native<D> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut out = match self.prepare(&req) {
            Ok(Ok(out)) => out,
            Ok(Err(res)) => return ready(Ok(res)),
            Err(e) => return ready(Err(e)),
        };
        let id = &self.inner.common.id;
        let team = self
            .inner
            .dialect
            .caller_key_header()
            .and_then(|(name, prefix)| Some((name, request::caller_key(&req, id, prefix)?)));
        let auth = match team {
            Some(header) => Box::pin(std::future::ready(Ok(vec![header]))),
            None => self.inner.dialect.auth(req.headers()),
        };
        let common = self.inner.common.clone();
        Box::pin(async move {
            for (k, v) in auth.await? {
                out.headers.insert(k, v);
            }
            common.send(out).await
        })
    }
}

/// The configured key, else the client's own `header` (bring your own key).
pub(crate) fn key_or_client(
    id: &str,
    key: &Option<HeaderValue>,
    client: &HeaderMap,
    header: &'static str,
) -> AuthFuture {
    // The client's key under this provider's header name, else under the
    // name its SDK uses (`Authorization: Bearer`, `x-api-key`).
    let value = key
        .clone()
        .or_else(|| client.get(header).cloned())
        .or_else(|| {
            let bearer = client
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .and_then(|v| HeaderValue::from_str(v).ok());
            bearer.or_else(|| client.get("x-api-key").cloned())
        });
    let _ = id;
    Box::pin(std::future::ready(Ok(value
        .map(|mut v| {
            v.set_sensitive(true);
            vec![(HeaderName::from_static(header), v)]
        })
        .unwrap_or_default())))
}

//! [`TranslateLayer`]: gives a provider that serves one wire format every client format.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use switchyard_core::{Body, Endpoint, Error, ParsedRequest, RequestExt};
use switchyard_protocol::Format;
use tower::{Layer, Service};

use super::{Defaults, Plan, plan, respond};

/// Wraps a provider that serves one chat format at its own endpoint (an
/// OpenAI-compatible server: Chat Completions; the mock) so that clients of
/// every other format reach it: the request is converted through the IR and
/// handed to the provider as if the client had called the native endpoint,
/// and the answer is converted back, streams frame by frame.
///
/// Requests already in the native format, and non-chat endpoints
/// (embeddings, models), pass through untouched.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::BodyExt;
/// use switchyard_core::{Body, Candidate, Endpoint, ParsedRequest, RequestContext, RouteDecision};
/// use switchyard_protocol::Format;
/// use switchyard_providers::{Mock, MockConfig, TranslateLayer};
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let provider = TranslateLayer::new(Format::OpenAiChat).layer(Mock::new(MockConfig::default()));
/// // An Anthropic client's request ...
/// let endpoint = Endpoint::Messages;
/// let raw = Bytes::from_static(br#"{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"hi there"}]}"#);
/// let mut ctx = RequestContext::new(endpoint);
/// ctx.set_route(RouteDecision { requested_model: "m".into(), rule: "m".into(), candidates: vec![Candidate::new("mock", "mock-1")] });
/// let mut req = http::Request::post(endpoint.path()).body(Body::empty()).unwrap();
/// req.extensions_mut().insert(ParsedRequest::parse(endpoint, raw).unwrap());
/// req.extensions_mut().insert(ctx);
/// // ... answered by an OpenAI-format provider, in Anthropic's shape.
/// let res = provider.oneshot(req).await.unwrap();
/// let body = res.into_body().collect().await.unwrap().to_bytes();
/// let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(v["type"], "message");
/// assert_eq!(v["content"][0]["text"], "Mock reply to: hi there");
/// assert_eq!(v["stop_reason"], "end_turn");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TranslateLayer {
    native: Format,
    defaults: Defaults,
}

impl TranslateLayer {
    /// A layer for a provider speaking `native` (Chat Completions, Messages or Responses).
    pub fn new(native: Format) -> Self {
        TranslateLayer {
            native,
            defaults: Defaults::default(),
        }
    }

    /// `max_tokens` to send when the client set none.
    pub fn default_max_tokens(mut self, max_tokens: u64) -> Self {
        self.defaults.max_tokens = Some(max_tokens);
        self
    }
}

impl<S> Layer<S> for TranslateLayer {
    type Service = Translate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Translate {
            inner,
            native: self.native,
            defaults: self.defaults.clone(),
        }
    }
}

/// The service made by [`TranslateLayer`].
#[derive(Clone, Debug)]
pub struct Translate<S> {
    inner: S,
    native: Format,
    defaults: Defaults,
}

impl<S> Translate<S> {
    /// The wrapped provider.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the provider.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn native_endpoint(format: Format) -> Option<Endpoint> {
    match format {
        Format::OpenAiChat => Some(Endpoint::ChatCompletions),
        Format::Anthropic => Some(Endpoint::Messages),
        Format::Responses => Some(Endpoint::Responses),
        Format::Gemini | Format::Ollama => None,
    }
}

impl<S, B> Service<Request<B>> for Translate<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Error> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let decided = (|| {
            let parsed = req.parsed()?;
            if Format::of_endpoint(parsed.endpoint()).is_none() {
                return Ok(Plan::Passthrough);
            }
            let model = req.context()?.target()?.model.clone();
            Ok::<_, Error>(plan(parsed, self.native, &model, &self.defaults))
        })();
        let t = match decided {
            Err(e) => return Box::pin(std::future::ready(Err(e))),
            Ok(Plan::Answer(res)) => return Box::pin(std::future::ready(Ok(res))),
            Ok(Plan::Passthrough) => return Box::pin(self.inner.call(req)),
            Ok(Plan::Translate(t)) => t,
        };
        let Some(endpoint) = native_endpoint(self.native) else {
            let e = Error::internal("TranslateLayer needs a native format with a gateway endpoint");
            return Box::pin(std::future::ready(Err(e)));
        };
        match ParsedRequest::parse(endpoint, Bytes::from(t.body.to_string())) {
            Ok(native) => {
                req.extensions_mut().insert(native);
            }
            Err(r) => {
                return Box::pin(std::future::ready(Ok(r.into_response(t.client.protocol()))));
            }
        }
        // Bring your own key: an Anthropic SDK sends its key as `x-api-key`;
        // an OpenAI-format upstream wants it as a bearer token.
        if !req.headers().contains_key(http::header::AUTHORIZATION)
            && let Some(key) = req.headers().get("x-api-key").and_then(|k| k.to_str().ok())
            && let Ok(mut bearer) = http::HeaderValue::from_str(&format!("Bearer {key}"))
        {
            bearer.set_sensitive(true);
            req.headers_mut()
                .insert(http::header::AUTHORIZATION, bearer);
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let res = inner.call(req).await?;
            respond(t, res).await
        })
    }
}

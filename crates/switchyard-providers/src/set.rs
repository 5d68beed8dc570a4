//! [`ProviderSet`]: the dispatcher at the bottom of the stack.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use switchyard_core::{
    Attempt, Body, Candidate, Error, Exchange, MODEL_HEADER, PROVIDER_HEADER, RequestExt,
};
use tokio::time::Instant;
use tower::Service;
use tower::util::{BoxCloneSyncService, Oneshot, ServiceExt};

/// [`PROVIDER_HEADER`] and [`MODEL_HEADER`] as `HeaderName`s, built at compile time.
const PROVIDER_NAME: http::HeaderName = http::HeaderName::from_static(PROVIDER_HEADER);
const MODEL_NAME: http::HeaderName = http::HeaderName::from_static(MODEL_HEADER);

type Provider<B> = BoxCloneSyncService<Request<B>, Response<Body>, Error>;

/// Providers by id: sends each attempt to the provider its target candidate names.
///
/// For every call it records an [`Attempt`] (candidate, status, error, duration)
/// in the request's [`Exchange`], and tags a response with the
/// `x-switchyard-provider` and `x-switchyard-model` headers.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::BodyExt;
/// use switchyard_core::{
///     Body, Candidate, Endpoint, ParsedRequest, RequestContext, RouteDecision,
/// };
/// use switchyard_providers::{Mock, MockConfig, ProviderSet};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let providers = ProviderSet::new().with("mock", Mock::new(MockConfig::default()));
///
/// // What ParseLayer and RouteLayer would have put in the extensions:
/// let endpoint = Endpoint::ChatCompletions;
/// let raw = Bytes::from_static(br#"{"model":"fast","messages":[{"role":"user","content":"hi there"}]}"#);
/// let mut ctx = RequestContext::new(endpoint);
/// ctx.set_route(RouteDecision {
///     requested_model: "fast".into(),
///     rule: "fast".into(),
///     candidates: vec![Candidate::new("mock", "mock-1")],
/// });
/// let exchange = ctx.exchange().clone();
/// let mut req = http::Request::post(endpoint.path()).body(Body::empty()).unwrap();
/// req.extensions_mut().insert(ParsedRequest::parse(endpoint, raw).unwrap());
/// req.extensions_mut().insert(ctx);
///
/// let res = providers.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.headers()["x-switchyard-provider"], "mock");
/// assert_eq!(res.headers()["x-switchyard-model"], "mock-1");
/// let body = res.into_body().collect().await.unwrap().to_bytes();
/// let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(json["choices"][0]["message"]["content"], "Mock reply to: hi there");
/// assert_eq!(exchange.snapshot().served_by, Some(Candidate::new("mock", "mock-1")));
/// # }
/// ```
pub struct ProviderSet<B = Body> {
    providers: Arc<BTreeMap<Arc<str>, Provider<B>>>,
}

impl<B> ProviderSet<B> {
    /// An empty set.
    pub fn new() -> Self {
        ProviderSet {
            providers: Arc::default(),
        }
    }

    /// Adds (or replaces) the provider `id`.
    pub fn with<S>(mut self, id: impl Into<Arc<str>>, service: S) -> Self
    where
        S: tower::Service<Request<B>, Response = Response<Body>, Error = Error>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        Arc::make_mut(&mut self.providers).insert(id.into(), BoxCloneSyncService::new(service));
        self
    }

    /// The providers' ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(|id| &**id)
    }

    /// Whether a provider `id` is in the set.
    pub fn contains(&self, id: &str) -> bool {
        self.providers.contains_key(id)
    }
}

impl<B> Clone for ProviderSet<B> {
    fn clone(&self) -> Self {
        ProviderSet {
            providers: self.providers.clone(),
        }
    }
}

impl<B> Default for ProviderSet<B> {
    fn default() -> Self {
        ProviderSet::new()
    }
}

impl<B> fmt::Debug for ProviderSet<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSet")
            .field("providers", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

impl<B> Service<Request<B>> for ProviderSet<B> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = ResponseFuture<B>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let ctx = match req.context() {
            Ok(ctx) => ctx,
            Err(e) => return ResponseFuture::failed(e),
        };
        let candidate = match ctx.target() {
            Ok(candidate) => candidate.clone(),
            Err(e) => return ResponseFuture::failed(e),
        };
        let Some(provider) = self.providers.get(&candidate.provider) else {
            return ResponseFuture::failed(Error::internal(format!(
                "route picked unknown provider `{}`",
                candidate.provider
            )));
        };
        let record = Record {
            candidate,
            exchange: ctx.exchange().clone(),
            started: Instant::now(),
        };
        ResponseFuture {
            state: State::Calling {
                call: provider.clone().oneshot(req),
                record: Some(record),
            },
        }
    }
}

pin_project! {
    /// The future of [`ProviderSet`]: the provider's answer, with the attempt recorded.
    pub struct ResponseFuture<B> {
        #[pin]
        state: State<B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<B> {
        Failed { error: Option<Error> },
        Calling {
            #[pin]
            call: Oneshot<Provider<B>, Request<B>>,
            record: Option<Record>,
        },
    }
}

impl<B> ResponseFuture<B> {
    fn failed(error: Error) -> Self {
        ResponseFuture {
            state: State::Failed { error: Some(error) },
        }
    }
}

impl<B> fmt::Debug for ResponseFuture<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

fn polled_after_completion() -> Error {
    Error::internal("provider set future polled after completion")
}

impl<B> Future for ResponseFuture<B> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Failed { error } => {
                Poll::Ready(Err(error.take().unwrap_or_else(polled_after_completion)))
            }
            StateProj::Calling { call, record } => {
                let result = ready!(call.poll(cx));
                match record.take() {
                    Some(record) => Poll::Ready(record.finish(result)),
                    None => Poll::Ready(Err(polled_after_completion())),
                }
            }
        }
    }
}

/// An attempt under way, recorded when the provider answers.
struct Record {
    candidate: Candidate,
    exchange: Arc<Exchange>,
    started: Instant,
}

impl Record {
    fn finish(self, result: Result<Response<Body>, Error>) -> Result<Response<Body>, Error> {
        let (status, error) = match &result {
            Ok(res) => {
                let status = res.status();
                let error =
                    (!status.is_success()).then(|| format!("upstream_status_{}", status.as_u16()));
                (Some(status.as_u16()), error)
            }
            Err(e) => (None, Some(e.kind().as_str().to_owned())),
        };
        self.exchange.record_attempt(Attempt {
            candidate: self.candidate.clone(),
            status,
            error,
            duration: self.started.elapsed(),
        });
        let mut res = result?;
        let headers = res.headers_mut();
        for (name, value) in [
            (PROVIDER_NAME, &self.candidate.provider),
            (MODEL_NAME, &self.candidate.model),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        Ok(res)
    }
}

//! [`CatchLayer`]: the edge of the stack, turning errors into responses.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::Error;
use crate::protocol::{Endpoint, Protocol};

/// Turns every [`Error`] left at the edge of the stack into a `gateway_error`
/// response in the client's protocol, so the assembled stack has
/// `Error = Infallible` and axum's `Router::route_service` accepts it.
///
/// # Example
///
/// ```
/// use switchyard_core::{CatchLayer, Error};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let svc = ServiceBuilder::new()
///     .layer(CatchLayer::new())
///     .service_fn(|_req: http::Request<()>| async {
///         Err::<http::Response<bytes::Bytes>, _>(Error::connect("upstream `a` refused the connection"))
///     });
/// let res = svc.oneshot(http::Request::post("/v1/messages").body(()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), 502);
/// let v: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
/// assert_eq!(v["error"]["type"], "gateway_error"); // Anthropic shape: {"type":"error","error":{..}}
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CatchLayer {
    _priv: (),
}

impl CatchLayer {
    /// A new layer.
    pub fn new() -> Self {
        CatchLayer { _priv: () }
    }
}

impl<S> Layer<S> for CatchLayer {
    type Service = Catch<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Catch { inner }
    }
}

/// The service made by [`CatchLayer`].
#[derive(Clone, Debug)]
pub struct Catch<S> {
    inner: S,
}

impl<S> Catch<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for Catch<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Error: Into<Error>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = CatchFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // An inner service that fails readiness is reported at `call` instead.
        let _ = ready!(self.inner.poll_ready(cx));
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let protocol = Endpoint::from_path(req.uri().path())
            .map(Endpoint::protocol)
            .unwrap_or(Protocol::OpenAi);
        CatchFuture {
            fut: self.inner.call(req),
            protocol,
        }
    }
}

pin_project! {
    /// The future of [`Catch`].
    pub struct CatchFuture<F> {
        #[pin]
        fut: F,
        protocol: Protocol,
    }
}

impl<F, ResBody, E> Future for CatchFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    E: Into<Error>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(Ok(match ready!(this.fut.poll(cx)) {
            Ok(res) => res,
            Err(e) => {
                let e: Error = e.into();
                tracing::warn!(error = %e, "request failed in the gateway");
                e.to_rejection().into_response(*this.protocol)
            }
        }))
    }
}

impl From<crate::body::BoxError> for Error {
    fn from(e: crate::body::BoxError) -> Self {
        match e.downcast::<Error>() {
            Ok(e) => *e,
            Err(e) => Error::internal("unexpected error in the stack").with_source(e),
        }
    }
}

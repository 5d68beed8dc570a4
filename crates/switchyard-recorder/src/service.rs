//! [`Recorder`]: stamps the start, then hands the exchange to its future and body.

use std::task::{Context, Poll};

use http::{Request, Response};
use switchyard_core::RequestExt;
use tower::Service;

use crate::body::InFlight;
use crate::defer::Finisher;
use crate::future::ResponseFuture;
use crate::hooks::OnRecord;

/// The service made by [`RecorderLayer`](crate::RecorderLayer).
#[derive(Clone, Debug)]
pub struct Recorder<S, H> {
    pub(crate) inner: S,
    pub(crate) hooks: H,
    pub(crate) max_body_bytes: usize,
    pub(crate) finisher: Option<Finisher>,
}

impl<S, H> Recorder<S, H> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, H, B, ResBody> Service<Request<B>> for Recorder<S, H>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Error: std::error::Error + 'static,
    H: OnRecord,
    ResBody: http_body::Body<Data = bytes::Bytes>,
{
    type Response = Response<crate::RecordedBody<ResBody, H>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, H>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inflight = match req.context() {
            Ok(ctx) => Some(Box::new(InFlight::start(
                ctx,
                req.parsed().ok(),
                self.hooks.clone(),
                self.max_body_bytes,
                self.finisher.clone(),
            ))),
            Err(_) => None,
        };
        ResponseFuture::new(self.inner.call(req), inflight)
    }
}

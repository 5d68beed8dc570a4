//! [`UsageService`]: asks for usage on the way in, accounts on the way out.

use std::task::{Context, Poll};

use http::{Request, Response};
use switchyard_core::RequestExt;
use tower::Service;

use crate::body::UsageBody;
use crate::future::{Accounting, KeptRequest, ResponseFuture};
use crate::layer::UsageLayer;
use crate::wire;

/// The service made by [`UsageLayer`].
#[derive(Clone, Debug)]
pub struct UsageService<S> {
    pub(crate) inner: S,
    pub(crate) layer: UsageLayer,
}

impl<S> UsageService<S> {
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

impl<S, B, ResBody> Service<Request<B>> for UsageService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = bytes::Bytes> + Unpin,
{
    type Response = Response<UsageBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let Some(accounting) = self.prepare(&mut req) else {
            return ResponseFuture::passthrough(self.inner.call(req));
        };
        ResponseFuture::new(self.inner.call(req), accounting, self.layer.max_whole_body)
    }
}

impl<S> UsageService<S> {
    /// Picks the wire format and asks for stream usage; `None` when there is
    /// nothing to account (no body, an endpoint without tokens, no ParseLayer).
    fn prepare<B>(&self, req: &mut Request<B>) -> Option<Accounting> {
        let (endpoint, exchange) = match req.context() {
            Ok(ctx) => (ctx.endpoint(), ctx.exchange().clone()),
            Err(e) => {
                tracing::error!(error = %e, "usage layer misassembled: requests are not accounted");
                return None;
            }
        };
        let format = wire::for_endpoint(endpoint)?;
        let parsed = req.parsed_mut().ok()?;
        // Taken before asking for stream usage: that edit changes no prompt.
        let request = KeptRequest::of(parsed);
        let strip = self.layer.request_stream_usage && format.request_stream_usage(parsed);
        Some(Accounting {
            pricing: self.layer.pricing.clone(),
            exchange,
            format,
            endpoint,
            request,
            estimate: self.layer.estimate,
            strip_usage_chunk: strip,
        })
    }
}

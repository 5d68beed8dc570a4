use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use tower::Service;

use super::future::{ResponseFuture, State};
use crate::body::BoxError;
use crate::context::{Attribution, RequestContext};
use crate::error::{ErrorType, Rejection};
use crate::parsed::ParsedRequest;
use crate::protocol::Endpoint;

/// The service made by [`ParseLayer`](super::ParseLayer).
#[derive(Clone, Debug)]
pub struct Parse<S> {
    inner: S,
    limit: usize,
    eager_json: bool,
}

impl<S> Parse<S> {
    /// Wraps `inner`, reading bodies up to `limit` bytes.
    pub fn new(inner: S, limit: usize) -> Self {
        Parse {
            inner,
            limit,
            eager_json: false,
        }
    }

    /// Parses each body straight into its JSON tree (see
    /// [`ParseLayer::eager_json`](super::ParseLayer::eager_json)).
    pub fn eager_json(mut self, eager: bool) -> Self {
        self.eager_json = eager;
        self
    }

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

impl<S, B, ResBody> Service<Request<B>> for Parse<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone,
    B: http_body::Body + From<Bytes>,
    B::Error: Into<BoxError>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<B, S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let Some(endpoint) = Endpoint::from_path(req.uri().path()) else {
            return ResponseFuture::new(
                State::Calling {
                    fut: self.inner.call(req),
                },
                None,
            );
        };
        let ctx = RequestContext::new(endpoint)
            .with_attribution(Attribution::from_headers(req.headers()));
        let id = http::HeaderValue::from_str(ctx.id().as_str()).ok();
        let protocol = endpoint.protocol();
        if req.method() != endpoint.method() {
            let rejection = Rejection::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorType::InvalidRequest,
                format!(
                    "{} {} is not supported; use {}",
                    req.method(),
                    endpoint.path(),
                    endpoint.method()
                ),
            );
            return ResponseFuture::new(
                State::Rejected {
                    res: Some(rejection.into_response(protocol)),
                },
                id,
            );
        }
        if !endpoint.has_body() {
            req.extensions_mut().insert(ParsedRequest::empty(endpoint));
            req.extensions_mut().insert(ctx);
            return ResponseFuture::new(
                State::Calling {
                    fut: self.inner.call(req),
                },
                id,
            );
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.limit as u64) {
            let res = too_large(self.limit).into_response(protocol);
            return ResponseFuture::new(State::Rejected { res: Some(res) }, id);
        }
        let clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = req.into_parts();
        let state = State::Reading {
            collect: Limited::new(body, self.limit).collect(),
            head: Some((parts, ctx, service)),
            limit: self.limit,
            eager_json: self.eager_json,
        };
        ResponseFuture::new(state, id)
    }
}

pub(super) fn too_large(limit: usize) -> Rejection {
    Rejection::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorType::RequestTooLarge,
        format!("request body exceeds the gateway's limit of {limit} bytes"),
    )
    .code("request_too_large")
}

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Request, Response};
use http_body_util::Limited;
use http_body_util::combinators::Collect;
use pin_project_lite::pin_project;
use tower::Service;

use crate::REQUEST_ID_HEADER;
use crate::body::BoxError;
use crate::context::RequestContext;
use crate::error::Rejection;
use crate::parsed::ParsedRequest;

/// [`REQUEST_ID_HEADER`] as a `HeaderName`, built at compile time (not per request).
const REQUEST_ID_NAME: http::HeaderName = http::HeaderName::from_static(REQUEST_ID_HEADER);

pin_project! {
    #[project = StateProj]
    pub(super) enum State<B, S>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
        S: Service<Request<B>>,
    {
        Reading {
            #[pin]
            collect: Collect<Limited<B>>,
            head: Option<(Parts, RequestContext, S)>,
            limit: usize,
            eager_json: bool,
        },
        Calling {
            #[pin]
            fut: S::Future,
        },
        Rejected {
            res: Option<S::Response>,
        },
    }
}

pin_project! {
    /// The future of [`Parse`](super::Parse): reads the body, then calls the inner service.
    pub struct ResponseFuture<B, S>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<B, S>,
        id: Option<HeaderValue>,
    }
}

impl<B, S> ResponseFuture<B, S>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
    S: Service<Request<B>>,
{
    pub(super) fn new(state: State<B, S>, id: Option<HeaderValue>) -> Self {
        ResponseFuture { state, id }
    }
}

impl<B, S, ResBody> Future for ResponseFuture<B, S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    B: http_body::Body + From<Bytes>,
    B::Error: Into<BoxError>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Reading {
                    collect,
                    head,
                    limit,
                    eager_json,
                } => {
                    let result = ready!(collect.poll(cx));
                    let Some((mut parts, ctx, mut service)) = head.take() else {
                        unreachable_state();
                        return Poll::Pending;
                    };
                    let protocol = ctx.endpoint().protocol();
                    let parsed = match result {
                        Ok(collected) if *eager_json => {
                            ParsedRequest::parse_json(ctx.endpoint(), collected.to_bytes())
                        }
                        Ok(collected) => ParsedRequest::parse(ctx.endpoint(), collected.to_bytes()),
                        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                            Err(super::service::too_large(*limit))
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "reading the request body failed");
                            Err(Rejection::bad_request(format!(
                                "failed to read the request body: {e}"
                            )))
                        }
                    };
                    match parsed {
                        Ok(parsed) => {
                            let body = B::from(parsed.raw().clone());
                            parts.extensions.insert(parsed);
                            parts.extensions.insert(ctx);
                            State::Calling {
                                fut: service.call(Request::from_parts(parts, body)),
                            }
                        }
                        Err(rejection) => State::Rejected {
                            res: Some(rejection.into_response(protocol)),
                        },
                    }
                }
                StateProj::Calling { fut } => {
                    let mut res = ready!(fut.poll(cx))?;
                    if let Some(id) = this.id.take() {
                        res.headers_mut().insert(REQUEST_ID_NAME, id);
                    }
                    return Poll::Ready(Ok(res));
                }
                StateProj::Rejected { res } => {
                    let Some(mut res) = res.take() else {
                        unreachable_state();
                        return Poll::Pending;
                    };
                    if let Some(id) = this.id.take() {
                        res.headers_mut().insert(REQUEST_ID_NAME, id);
                    }
                    return Poll::Ready(Ok(res));
                }
            };
            this.state.set(next);
        }
    }
}

fn unreachable_state() {
    tracing::error!("ParseLayer future polled after completion");
}

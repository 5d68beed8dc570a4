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

/// The body in a buffer of its own size. A body that came in one read is a
/// view into the connection's 8 KiB (or larger) read buffer. While the
/// request is in flight hyper reads on (to see a client hang up) into a new
/// buffer, so the view alone would keep the old one alive for as long as the
/// request lives (a stream can last minutes) and, through the journal,
/// longer. Such a body is copied out (a few hundred nanoseconds for a chat
/// prompt); a body of several chunks was already gathered into one buffer of
/// its size by `to_bytes` and is kept.
fn owned(body: Bytes) -> Bytes {
    match body.try_into_mut() {
        // Room beyond the body: the rest of a read buffer.
        Ok(buf) if buf.capacity() - buf.len() > buf.len() / 8 => Bytes::copy_from_slice(&buf),
        Ok(buf) => buf.freeze(),
        // Shared with the request's head (or static): not ours to keep.
        Err(body) => Bytes::copy_from_slice(&body),
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
                            ParsedRequest::parse_json(ctx.endpoint(), owned(collected.to_bytes()))
                        }
                        Ok(collected) => {
                            ParsedRequest::parse(ctx.endpoint(), owned(collected.to_bytes()))
                        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What hyper hands over for a request read in one go: head and body
    /// split off the connection's read buffer, which then reserves room for
    /// its next read elsewhere.
    fn read_in_one_go() -> (Bytes, Bytes, std::ops::Range<usize>) {
        let mut read_buf = bytes::BytesMut::with_capacity(8192);
        read_buf.extend_from_slice(b"POST / HTTP/1.1\r\n\r\n{\"model\":\"m\"}");
        let at = read_buf.as_ptr() as usize;
        let head = read_buf.split_to(19).freeze();
        let body = read_buf.split().freeze();
        read_buf.reserve(8192);
        (head, body, at..at + 8192)
    }

    #[test]
    fn a_view_into_a_read_buffer_is_copied_out_of_it() {
        let (head, body, old) = read_in_one_go();
        let own = owned(body.clone());
        assert_eq!(own, body);
        assert!(!old.contains(&(own.as_ptr() as usize)));
        // Also once the head is gone and the body alone holds the buffer.
        drop(head);
        let at = body.as_ptr();
        let own = owned(body);
        assert_eq!(&own[..], br#"{"model":"m"}"#);
        assert_ne!(own.as_ptr(), at);
        assert!(!old.contains(&(own.as_ptr() as usize)));
    }

    #[test]
    fn a_buffer_of_its_own_is_kept_as_it_is() {
        let body = Bytes::from(b"{\"model\":\"m\"}".to_vec());
        let at = body.as_ptr();
        assert_eq!(owned(body).as_ptr(), at);
    }

    #[test]
    fn a_static_body_is_copied() {
        let body = Bytes::from_static(b"{\"model\":\"m\"}");
        assert_ne!(owned(body.clone()).as_ptr(), body.as_ptr());
    }
}

//! The response future of [`Classify`](crate::Classify).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::response::Parts;
use http::{HeaderMap, HeaderValue, Response, header};
use pin_project_lite::pin_project;
use switchyard_core::Exchange;

use crate::body::{ClassifyBody, Observer, record};
use crate::response::{Answer, ResponseClassifiers};
use crate::{REQUEST_TAGS_NAME, RESPONSE_TAGS_HEADER, RESPONSE_TAGS_NAME};

/// What the future needs once the inner service answers.
pub(crate) struct Pending {
    pub(crate) request_tags: Option<HeaderValue>,
    pub(crate) response: Arc<ResponseClassifiers>,
    pub(crate) exchange: Option<Arc<Exchange>>,
}

/// A non-streamed answer being read whole to tag it in a header.
struct Collect<B: http_body::Body> {
    parts: Parts,
    body: B,
    buf: BytesMut,
    pending: Pending,
}

pin_project! {
    #[project = StateProj]
    enum State<F, B: http_body::Body> {
        Calling { #[pin] fut: F, pending: Option<Pending> },
        Collecting { collect: Option<Box<Collect<B>>> },
        Ready { res: Option<Response<ClassifyBody<B>>> },
    }
}

pin_project! {
    /// The future of [`Classify`](crate::Classify): the inner answer, tagged.
    pub struct ResponseFuture<F, B: http_body::Body> {
        #[pin]
        state: State<F, B>,
    }
}

impl<F, B: http_body::Body> ResponseFuture<F, B> {
    pub(crate) fn calling(fut: F, pending: Pending) -> Self {
        ResponseFuture {
            state: State::Calling {
                fut,
                pending: Some(pending),
            },
        }
    }

    pub(crate) fn ready(res: Response<ClassifyBody<B>>) -> Self {
        ResponseFuture {
            state: State::Ready { res: Some(res) },
        }
    }
}

impl<F, B: http_body::Body> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Output = Result<Response<ClassifyBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Ready { res } => {
                    return match res.take() {
                        Some(res) => Poll::Ready(Ok(res)),
                        None => Poll::Pending,
                    };
                }
                StateProj::Calling { fut, pending } => {
                    let res = ready!(fut.poll(cx))?;
                    let Some(pending) = pending.take() else {
                        return Poll::Pending;
                    };
                    match start(res, pending) {
                        Started::Done(res) => return Poll::Ready(Ok(res)),
                        Started::Collect(c) => state.set(State::Collecting {
                            collect: Some(Box::new(c)),
                        }),
                    }
                }
                StateProj::Collecting { collect } => {
                    let Some(c) = collect.as_mut() else {
                        return Poll::Pending;
                    };
                    let done = ready!(poll_collect(c, cx));
                    let Some(c) = collect.take() else {
                        return Poll::Pending;
                    };
                    return Poll::Ready(Ok(finish(*c, done)));
                }
            }
        }
    }
}

#[expect(
    clippy::large_enum_variant,
    reason = "a return value moved once, never stored"
)]
enum Started<B: http_body::Body> {
    Done(Response<ClassifyBody<B>>),
    Collect(Collect<B>),
}

fn start<B>(mut res: Response<B>, pending: Pending) -> Started<B>
where
    B: http_body::Body<Data = Bytes>,
{
    if let Some(v) = &pending.request_tags {
        res.headers_mut().insert(REQUEST_TAGS_NAME, v.clone());
    }
    let config = &pending.response;
    if !config.any() || !res.status().is_success() {
        return Started::Done(res.map(ClassifyBody::passthrough));
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("text/event-stream") {
        // HTTP/1.1 servers send only the trailer fields the head declares.
        res.headers_mut().append(
            header::TRAILER,
            HeaderValue::from_static(RESPONSE_TAGS_HEADER),
        );
        let observer = Observer::new(config.clone(), pending.exchange.clone());
        return Started::Done(res.map(|b| ClassifyBody::observed(b, observer)));
    }
    // Read whole by a usage layer inside: its digest is all the tags need.
    if let Some(ex) = &pending.exchange
        && let Some(answer) = Answer::from_digest(config, ex)
    {
        let tags = answer.tags(config);
        if let Some(value) = record(Some(ex), &tags) {
            res.headers_mut().insert(RESPONSE_TAGS_NAME, value);
        }
        return Started::Done(res.map(ClassifyBody::passthrough));
    }
    let fits = res
        .body()
        .size_hint()
        .upper()
        .is_none_or(|n| n <= config.max_buffer as u64);
    if !content_type.contains("json") || !fits {
        return Started::Done(res.map(ClassifyBody::passthrough));
    }
    let (parts, body) = res.into_parts();
    Started::Collect(Collect {
        parts,
        body,
        buf: BytesMut::new(),
        pending,
    })
}

/// How collecting ended.
enum Collected<E> {
    /// The whole body is in the buffer (with its trailers, if any).
    Whole(Option<HeaderMap>),
    /// Over the limit: the rest is still in the body.
    TooLarge,
    /// The body failed; the error is passed on after the bytes read.
    Failed(E),
}

fn poll_collect<B>(c: &mut Collect<B>, cx: &mut Context<'_>) -> Poll<Collected<B::Error>>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    loop {
        match ready!(Pin::new(&mut c.body).poll_frame(cx)) {
            None => return Poll::Ready(Collected::Whole(None)),
            Some(Err(e)) => return Poll::Ready(Collected::Failed(e)),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    c.buf.extend_from_slice(&data);
                    if c.body.is_end_stream() {
                        return Poll::Ready(Collected::Whole(None));
                    }
                    if c.buf.len() > c.pending.response.max_buffer {
                        return Poll::Ready(Collected::TooLarge);
                    }
                }
                Err(frame) => {
                    return Poll::Ready(Collected::Whole(frame.into_trailers().ok()));
                }
            },
        }
    }
}

fn finish<B>(c: Collect<B>, done: Collected<B::Error>) -> Response<ClassifyBody<B>>
where
    B: http_body::Body<Data = Bytes>,
{
    let Collect {
        mut parts,
        body,
        buf,
        pending,
    } = c;
    let buf = buf.freeze();
    let body = match done {
        Collected::Whole(trailers) => {
            let mut answer = Answer::new(&pending.response);
            if answer.read_body(&buf) {
                let tags = answer.tags(&pending.response);
                if let Some(value) = record(pending.exchange.as_deref(), &tags) {
                    parts.headers.insert(RESPONSE_TAGS_NAME, value);
                }
            }
            ClassifyBody::read_ahead(body, buf, trailers, None)
        }
        Collected::TooLarge => ClassifyBody::read_ahead(body, buf, None, None),
        Collected::Failed(e) => ClassifyBody::read_ahead(body, buf, None, Some(e)),
    };
    Response::from_parts(parts, body)
}

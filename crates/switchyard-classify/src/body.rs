//! [`ClassifyBody`]: the response body, observed as it passes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use switchyard_core::{Exchange, SseParser};

use crate::RESPONSE_TAGS_NAME;
use crate::response::{Answer, ResponseClassifiers};

/// Reads a streamed answer's events as they pass, to tag it at the end.
pub(crate) struct Observer {
    /// `None` when a usage layer inside reads the stream and leaves its
    /// digest in the exchange: then nothing is parsed here.
    reading: Option<(SseParser, Answer)>,
    config: Arc<ResponseClassifiers>,
    exchange: Option<Arc<Exchange>>,
}

impl Observer {
    pub(crate) fn new(config: Arc<ResponseClassifiers>, exchange: Option<Arc<Exchange>>) -> Self {
        let watched = exchange.as_deref().is_some_and(Exchange::answer_watched);
        Observer {
            reading: (!watched).then(|| {
                (
                    SseParser::with_max_event_size(1 << 20),
                    Answer::new(&config),
                )
            }),
            config,
            exchange,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        if let Some((parser, answer)) = &mut self.reading {
            parser.feed(data, |ev| answer.read_event(ev.data));
        }
    }

    /// Tags the answer: into the exchange, and as a trailer value.
    fn finish(self) -> Option<HeaderValue> {
        let answer = match self.reading {
            Some((_, answer)) => answer,
            // The usage layer saw the stream end without a digest (it broke
            // off): nothing to tag.
            None => Answer::from_digest(&self.config, self.exchange.as_deref()?)?,
        };
        let tags = answer.tags(&self.config);
        record(self.exchange.as_deref(), &tags)
    }
}

/// Records `tags` in the exchange; the header value, if any tag.
pub(crate) fn record(exchange: Option<&Exchange>, tags: &[&'static str]) -> Option<HeaderValue> {
    if tags.is_empty() {
        return None;
    }
    if let Some(x) = exchange {
        for t in tags {
            x.add_response_tag(*t);
        }
    }
    HeaderValue::from_str(&tags.join(",")).ok()
}

pin_project! {
    /// The body of a response that went through [`ClassifyLayer`](crate::ClassifyLayer).
    ///
    /// Every frame passes unchanged. A streamed answer is read event by event
    /// (only the unfinished tail of an event is kept); at its end the
    /// response tags go into the request's `Exchange` and, as an
    /// `x-switchyard-response-tags` trailer, to clients that accept trailers.
    pub struct ClassifyBody<B: http_body::Body> {
        #[pin]
        inner: B,
        prefix: Option<Bytes>,
        deferred: Option<B::Error>,
        trailers: Option<HeaderMap>,
        observer: Option<Observer>,
    }
}

impl<B: http_body::Body> ClassifyBody<B> {
    pub(crate) fn passthrough(inner: B) -> Self {
        ClassifyBody {
            inner,
            prefix: None,
            deferred: None,
            trailers: None,
            observer: None,
        }
    }

    pub(crate) fn observed(inner: B, observer: Observer) -> Self {
        ClassifyBody {
            observer: Some(observer),
            ..ClassifyBody::passthrough(inner)
        }
    }

    /// A body read ahead: `prefix` first, then what is left of `inner`.
    pub(crate) fn read_ahead(
        inner: B,
        prefix: Bytes,
        trailers: Option<HeaderMap>,
        deferred: Option<B::Error>,
    ) -> Self {
        ClassifyBody {
            inner,
            prefix: Some(prefix).filter(|p| !p.is_empty()),
            deferred,
            trailers,
            observer: None,
        }
    }
}

impl<B: http_body::Body> std::fmt::Debug for ClassifyBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassifyBody")
            .field("observing", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> From<Bytes> for ClassifyBody<B>
where
    B: http_body::Body + From<Bytes>,
{
    fn from(bytes: Bytes) -> Self {
        ClassifyBody::passthrough(B::from(bytes))
    }
}

impl<B> http_body::Body for ClassifyBody<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        if let Some(e) = this.deferred.take() {
            return Poll::Ready(Some(Err(e)));
        }
        if let Some(t) = this.trailers.take() {
            return Poll::Ready(Some(Ok(Frame::trailers(t))));
        }
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        let Some(observer) = this.observer.as_mut() else {
            return Poll::Ready(frame);
        };
        match frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    observer.feed(data);
                    if this.inner.is_end_stream()
                        && let Some(value) = this.observer.take().and_then(Observer::finish)
                    {
                        let mut t = HeaderMap::new();
                        t.insert(RESPONSE_TAGS_NAME, value);
                        *this.trailers = Some(t);
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                let frame = match frame.into_trailers() {
                    Ok(mut t) => {
                        if let Some(value) = this.observer.take().and_then(Observer::finish) {
                            t.insert(RESPONSE_TAGS_NAME, value);
                        }
                        Frame::trailers(t)
                    }
                    Err(frame) => frame,
                };
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                *this.observer = None;
                Poll::Ready(Some(Err(e)))
            }
            None => {
                let value = this.observer.take().and_then(Observer::finish);
                Poll::Ready(value.map(|v| {
                    let mut t = HeaderMap::new();
                    t.insert(RESPONSE_TAGS_NAME, v);
                    Ok(Frame::trailers(t))
                }))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none()
            && self.deferred.is_none()
            && self.trailers.is_none()
            && self.observer.is_none()
            && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let prefix = self.prefix.as_ref().map_or(0, |p| p.len() as u64);
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower() + prefix);
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper + prefix);
        }
        hint
    }
}

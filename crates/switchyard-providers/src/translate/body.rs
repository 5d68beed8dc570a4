//! [`TranslateBody`]: an upstream stream re-encoded frame by frame.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use pin_project_lite::pin_project;
use switchyard_core::{Body, BoxError};
use switchyard_protocol::{Event, StreamDecoder, StreamEncoder};

pin_project! {
    /// Decodes each upstream frame into IR events and encodes them for the
    /// client at once: a frame in, at most one frame out, nothing held but
    /// the decoder's unfinished event. Ends the client stream properly
    /// (`[DONE]`, `message_stop`, `response.completed`) when the upstream ends;
    /// an upstream that breaks off gets an error event in the client's format,
    /// then the error.
    pub struct TranslateBody {
        #[pin]
        inner: Body,
        decoder: Box<dyn StreamDecoder>,
        encoder: Box<dyn StreamEncoder>,
        events: Vec<Event>,
        out: BytesMut,
        state: State,
    }
}

#[derive(Debug)]
enum State {
    Streaming,
    Failed(Option<BoxError>),
    Done,
}

impl TranslateBody {
    /// Wraps an upstream body.
    pub fn new(
        inner: Body,
        decoder: Box<dyn StreamDecoder>,
        encoder: Box<dyn StreamEncoder>,
    ) -> Self {
        TranslateBody {
            inner,
            decoder,
            encoder,
            events: Vec::with_capacity(16),
            out: BytesMut::new(),
            state: State::Streaming,
        }
    }
}

impl std::fmt::Debug for TranslateBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranslateBody")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

fn take(out: &mut BytesMut) -> Option<Result<Frame<Bytes>, BoxError>> {
    (!out.is_empty()).then(|| Ok(Frame::data(out.split().freeze())))
}

impl http_body::Body for TranslateBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            match this.state {
                State::Done => return Poll::Ready(None),
                State::Failed(e) => {
                    let e = e.take();
                    *this.state = State::Done;
                    return Poll::Ready(e.map(Err));
                }
                State::Streaming => {}
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    this.events.clear();
                    let fed = this.decoder.feed(&data, this.events);
                    for e in this.events.iter() {
                        this.encoder.encode(e, this.out);
                    }
                    if let Err(e) = fed {
                        tracing::warn!(error = %e, "upstream stream could not be translated");
                        let event = Event::Error {
                            kind: "api_error".into(),
                            message: e.to_string(),
                        };
                        this.encoder.encode(&event, this.out);
                        *this.state = State::Failed(Some(Box::new(e)));
                    }
                    if let Some(frame) = take(this.out) {
                        return Poll::Ready(Some(frame));
                    }
                }
                Some(Err(e)) => {
                    let event = Event::Error {
                        kind: "api_error".into(),
                        message: "the upstream broke off its stream".into(),
                    };
                    this.encoder.encode(&event, this.out);
                    *this.state = State::Failed(Some(e));
                    if let Some(frame) = take(this.out) {
                        return Poll::Ready(Some(frame));
                    }
                }
                None => {
                    this.events.clear();
                    if let Err(e) = this.decoder.finish(this.events) {
                        tracing::warn!(error = %e, "upstream stream ended mid-event");
                    }
                    for e in this.events.iter() {
                        this.encoder.encode(e, this.out);
                    }
                    this.encoder.finish(this.out);
                    *this.state = State::Done;
                    return Poll::Ready(take(this.out));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

//! [`UsageBody`]: the answer's body, observed as it passes.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use switchyard_core::SseParser;
use tokio::time::Instant;

use crate::future::Accounting;
use crate::observe::Observation;
use crate::tail::TailObserver;
use crate::wire::EventKind;

pin_project! {
    /// The body of an accounted answer.
    ///
    /// A stream passes frame by frame; each frame's events are read as they
    /// pass, and the accounting is written into the exchange exactly once:
    /// at the end, on an error, on trailers, or when the body is dropped
    /// (the client went away). Only when the layer asked for the usage chunk
    /// itself is anything held: the unfinished tail of the current event,
    /// until it is complete, so the usage-only event can be removed whole.
    pub struct UsageBody<B>
    where
        B: Body,
    {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B>
    where
        B: Body,
    {
        Plain {
            #[pin]
            inner: B,
        },
        Observed {
            #[pin]
            inner: B,
            observer: Option<Box<StreamObserver>>,
            ended: bool,
        },
        Whole {
            bytes: Option<Bytes>,
        },
        Partial {
            prefix: Option<Bytes>,
            #[pin]
            inner: B,
            observer: Option<Box<TailObserver>>,
        },
        Broken {
            prefix: Option<Bytes>,
            error: Option<B::Error>,
        },
    }
}

impl<B: Body> UsageBody<B> {
    pub(crate) fn plain(inner: B) -> Self {
        UsageBody {
            kind: Kind::Plain { inner },
        }
    }

    pub(crate) fn observed(inner: B, observer: StreamObserver) -> Self {
        UsageBody {
            kind: Kind::Observed {
                inner,
                observer: Some(Box::new(observer)),
                ended: false,
            },
        }
    }

    pub(crate) fn whole(bytes: Bytes) -> Self {
        UsageBody {
            kind: Kind::Whole {
                bytes: (!bytes.is_empty()).then_some(bytes),
            },
        }
    }

    pub(crate) fn partial(prefix: Bytes, inner: B, observer: Option<TailObserver>) -> Self {
        UsageBody {
            kind: Kind::Partial {
                prefix: (!prefix.is_empty()).then_some(prefix),
                inner,
                observer: observer.map(Box::new),
            },
        }
    }

    pub(crate) fn broken(prefix: Bytes, error: B::Error) -> Self {
        UsageBody {
            kind: Kind::Broken {
                prefix: (!prefix.is_empty()).then_some(prefix),
                error: Some(error),
            },
        }
    }
}

impl<B: Body> From<Bytes> for UsageBody<B> {
    fn from(bytes: Bytes) -> Self {
        UsageBody::whole(bytes)
    }
}

impl<B: Body> std::fmt::Debug for UsageBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageBody").finish_non_exhaustive()
    }
}

impl<B> Body for UsageBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Plain { inner } => inner.poll_frame(cx),
            KindProj::Whole { bytes } => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            KindProj::Partial {
                prefix,
                mut inner,
                observer,
            } => {
                if let Some(b) = prefix.take() {
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                let frame = ready!(inner.as_mut().poll_frame(cx));
                if let Some(o) = observer.as_deref_mut() {
                    let end = match &frame {
                        Some(Ok(f)) => {
                            if let Some(d) = f.data_ref() {
                                o.on_data(d);
                            }
                            !f.is_data() || inner.is_end_stream()
                        }
                        _ => true,
                    };
                    if end {
                        o.finish();
                        *observer = None;
                    }
                }
                Poll::Ready(frame)
            }
            KindProj::Broken { prefix, error } => match prefix.take() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                None => Poll::Ready(error.take().map(Err)),
            },
            KindProj::Observed {
                mut inner,
                observer,
                ended,
            } => loop {
                if *ended {
                    return Poll::Ready(None);
                }
                let Some(obs) = observer.as_deref_mut() else {
                    return inner.poll_frame(cx);
                };
                match ready!(inner.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => {
                            let out = obs.on_data(data);
                            if inner.is_end_stream() {
                                let held = obs.finish();
                                *observer = None;
                                *ended = true;
                                if let Some(bytes) = join(out, held) {
                                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                                }
                                return Poll::Ready(None);
                            }
                            if let Some(bytes) = out {
                                return Poll::Ready(Some(Ok(Frame::data(bytes))));
                            }
                        }
                        Err(trailers) => {
                            let held = obs.finish();
                            *observer = None;
                            if let Some(bytes) = held {
                                // Rare: an unfinished event before trailers. Send it; lose the trailers' order.
                                tracing::debug!(
                                    "stream ended with an unfinished event before its trailers"
                                );
                                return Poll::Ready(Some(Ok(Frame::data(bytes))));
                            }
                            return Poll::Ready(Some(Ok(trailers)));
                        }
                    },
                    Some(Err(e)) => {
                        obs.broken();
                        *observer = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    None => {
                        let held = obs.finish();
                        *observer = None;
                        *ended = true;
                        return Poll::Ready(held.map(|b| Ok(Frame::data(b))));
                    }
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Plain { inner } => inner.is_end_stream(),
            Kind::Observed {
                inner,
                observer,
                ended,
            } => {
                *ended
                    || (inner.is_end_stream()
                        && observer.as_ref().is_none_or(|o| o.held.is_empty()))
            }
            Kind::Whole { bytes } => bytes.is_none(),
            Kind::Partial { prefix, inner, .. } => prefix.is_none() && inner.is_end_stream(),
            Kind::Broken { prefix, error } => prefix.is_none() && error.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Plain { inner } => inner.size_hint(),
            Kind::Observed {
                inner, observer, ..
            } => match observer {
                // Events may be removed: the size is no longer known.
                Some(o) if o.strips() => SizeHint::default(),
                _ => inner.size_hint(),
            },
            Kind::Whole { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Kind::Partial { prefix, inner, .. } => {
                let extra = prefix.as_ref().map_or(0, |b| b.len() as u64);
                let rest = inner.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower() + extra);
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper + extra);
                }
                hint
            }
            Kind::Broken { prefix, .. } => {
                SizeHint::with_exact(prefix.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

fn join(a: Option<Bytes>, b: Option<Bytes>) -> Option<Bytes> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let mut buf = BytesMut::with_capacity(a.len() + b.len());
            buf.extend_from_slice(&a);
            buf.extend_from_slice(&b);
            Some(buf.freeze())
        }
        (a, b) => a.or(b),
    }
}

/// Reads a stream's events as they pass and accounts for it once.
pub(crate) struct StreamObserver {
    acct: Accounting,
    parser: SseParser,
    obs: Observation,
    first_token: bool,
    /// Event boundaries, tracked only when the usage chunk must be removed.
    splitter: Option<Splitter>,
    /// The unfinished event's bytes, held while removing the usage chunk.
    held: BytesMut,
    done: bool,
}

impl StreamObserver {
    pub(crate) fn new(acct: Accounting) -> Self {
        let splitter = acct.strip_usage_chunk.then(Splitter::default);
        StreamObserver {
            obs: acct.observation(),
            acct,
            parser: SseParser::new(),
            first_token: false,
            splitter,
            held: BytesMut::new(),
            done: false,
        }
    }

    fn strips(&self) -> bool {
        self.splitter.is_some()
    }

    fn on_event(&mut self, kind: EventKind) {
        if kind == EventKind::Content && !self.first_token {
            self.first_token = true;
            self.acct
                .exchange
                .mark_first_token(Instant::now().into_std());
        }
    }

    /// Reads a data frame; returns the bytes to send on (`None`: nothing yet).
    fn on_data(&mut self, data: Bytes) -> Option<Bytes> {
        let Some(splitter) = self.splitter.as_mut() else {
            let format = self.acct.format;
            let obs = &mut self.obs;
            let mut content = false;
            self.parser.feed(&data, |ev| {
                content |= format.read_event(&ev, obs) == EventKind::Content;
            });
            if content {
                self.on_event(EventKind::Content);
            }
            return Some(data);
        };
        let ends = splitter.event_ends(&data);
        if ends.is_empty() {
            self.parser.feed(&data, |_| {});
            self.held.extend_from_slice(&data);
            return None;
        }
        let format = self.acct.format;
        let mut out: Option<BytesMut> = None;
        let mut start = 0;
        let mut untouched = self.held.is_empty();
        for end in ends {
            let mut kind = EventKind::Other;
            let obs = &mut self.obs;
            self.parser
                .feed(&data[start..end], |ev| kind = format.read_event(&ev, obs));
            self.on_event(kind);
            if kind == EventKind::UsageOnly {
                untouched = false;
                // Drop the held head of the event with it.
                self.held.clear();
            } else {
                let buf = out.get_or_insert_with(BytesMut::new);
                if !self.held.is_empty() {
                    buf.extend_from_slice(&self.held);
                    self.held.clear();
                }
                buf.extend_from_slice(&data[start..end]);
            }
            start = end;
        }
        let tail = &data[start..];
        if !tail.is_empty() {
            self.parser.feed(tail, |_| {});
            self.held.extend_from_slice(tail);
            untouched = false;
        }
        if untouched {
            // Nothing removed or held: the frame goes on as it came, no copy.
            return Some(data);
        }
        out.map(BytesMut::freeze).filter(|b| !b.is_empty())
    }

    /// Accounts for the stream; returns bytes still held (an unfinished last event).
    fn finish(&mut self) -> Option<Bytes> {
        self.account();
        (!self.held.is_empty()).then(|| std::mem::take(&mut self.held).freeze())
    }

    /// The stream broke: account for what was seen, and mark it.
    fn broken(&mut self) {
        self.obs.error = true;
        self.account();
    }

    fn account(&mut self) {
        if !std::mem::replace(&mut self.done, true) {
            self.acct.finish(&self.obs);
        }
    }
}

impl Drop for StreamObserver {
    /// The client went away mid-stream: charge what was produced so far.
    fn drop(&mut self) {
        self.account();
    }
}

/// Finds where SSE events end (after the blank line), across frames.
#[derive(Default)]
struct Splitter {
    /// Bytes in the current line so far.
    line: usize,
    /// The last byte was `\r`: a `\n` next belongs to it.
    after_cr: bool,
}

impl Splitter {
    /// Offsets in `chunk` just past each blank line that ends an event.
    fn event_ends(&mut self, chunk: &[u8]) -> Vec<usize> {
        let mut ends = Vec::new();
        for (i, &b) in chunk.iter().enumerate() {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    if self.line == 0 {
                        let mut end = i + 1;
                        if b == b'\r' && chunk.get(i + 1) == Some(&b'\n') {
                            end += 1;
                        }
                        ends.push(end);
                    }
                    self.line = 0;
                    self.after_cr = b == b'\r';
                }
                _ => self.line += 1,
            }
        }
        ends
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_finds_event_ends_across_chunks() {
        let stream = b"data: a\n\ndata: b\r\n\r\n: c\n\ndata: d\r\rdata: e\n\n";
        let whole = Splitter::default().event_ends(stream);
        assert_eq!(whole, [9, 20, 25, 34, 43]);
        for cut in 0..stream.len() {
            let mut s = Splitter::default();
            let mut ends = s.event_ends(&stream[..cut]);
            ends.extend(s.event_ends(&stream[cut..]).into_iter().map(|e| e + cut));
            // A `\r\n` split between chunks ends the event at the `\r`.
            let expected: Vec<usize> = whole
                .iter()
                .map(|&e| if e == 20 && cut == 19 { 19 } else { e })
                .collect();
            assert_eq!(ends, expected, "cut at {cut}");
        }
    }
}

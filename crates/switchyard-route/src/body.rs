//! [`RouteBody`]: the response body, watched to learn each target's load and throughput.

use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use memchr::memmem;
use pin_project_lite::pin_project;
use switchyard_core::Exchange;
use tokio::time::Instant;

use crate::stats::InFlight;

/// What the body watches for: the request in flight and the output tokens seen.
#[derive(Debug)]
pub(crate) struct Watch {
    pub(crate) in_flight: InFlight,
    pub(crate) started: Instant,
    pub(crate) exchange: Arc<Exchange>,
    pub(crate) sample: bool,
    /// Whether to count events and look for token counts in the frames
    /// (not when the usage layer inside accounts for the answer: its usage is read at the end).
    search: bool,
    usage_tokens: Option<u64>,
    events: u64,
}

impl Watch {
    pub(crate) fn new(
        in_flight: InFlight,
        started: Instant,
        exchange: Arc<Exchange>,
        sample: bool,
    ) -> Self {
        let search = sample && !exchange.answer_accounted();
        Watch {
            in_flight,
            started,
            exchange,
            sample,
            search,
            usage_tokens: None,
            events: 0,
        }
    }

    fn frame(&mut self, data: &[u8]) {
        // Searchers built once: `memmem::find_iter` and `rfind` build one per
        // call, which cost more than the search on a small chunk.
        // Forward (vectorised) searches for the last count: the reverse
        // searcher has no SIMD path and cost 4x as much on a chunk.
        static TOKENS: LazyLock<[memmem::Finder<'static>; 2]> = LazyLock::new(|| {
            [
                memmem::Finder::new(b"\"completion_tokens\":"),
                memmem::Finder::new(b"\"output_tokens\":"),
            ]
        });
        if !self.search {
            return;
        }
        self.events += switchyard_core::count_data_fields(data) as u64;
        for key in TOKENS.iter() {
            if let Some(at) = key.find_iter(data).last()
                && let Some(n) = number_at(&data[at + key.needle().len()..])
            {
                self.usage_tokens = Some(n);
            }
        }
    }

    /// The stream ended: a throughput sample, then the in-flight count ends on drop.
    fn finish(self) {
        if !self.sample {
            return;
        }
        let reported = self.exchange.usage_and_cost().0.map(|u| u.output_tokens);
        // Without reported usage, a streamed answer has about one token per event.
        let tokens = reported
            .or(self.usage_tokens)
            .unwrap_or(self.events.saturating_sub(1));
        self.in_flight
            .stat()
            .observe_throughput(tokens, self.started.elapsed());
    }
}

fn number_at(s: &[u8]) -> Option<u64> {
    let s = &s[s.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&s[..digits]).ok()?.parse().ok()
}

pin_project! {
    /// The body of a response that went through [`RouteLayer`](crate::RouteLayer):
    /// every frame passes unchanged; at its end the target's throughput is
    /// sampled, and its in-flight count drops when the body ends or is dropped.
    pub struct RouteBody<B> {
        #[pin]
        inner: B,
        watch: Option<Watch>,
    }
}

impl<B> RouteBody<B> {
    pub(crate) fn new(inner: B, watch: Option<Watch>) -> Self {
        RouteBody { inner, watch }
    }
}

impl<B> std::fmt::Debug for RouteBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteBody")
            .field("watching", &self.watch.is_some())
            .finish_non_exhaustive()
    }
}

impl<B: From<Bytes>> From<Bytes> for RouteBody<B> {
    fn from(bytes: Bytes) -> Self {
        RouteBody::new(B::from(bytes), None)
    }
}

impl<B> http_body::Body for RouteBody<B>
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
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(data) = f.data_ref()
                    && let Some(w) = this.watch.as_mut()
                {
                    w.frame(data);
                }
                if (!f.is_data() || this.inner.is_end_stream())
                    && let Some(w) = this.watch.take()
                {
                    w.finish();
                }
            }
            None => {
                if let Some(w) = this.watch.take() {
                    w.finish();
                }
            }
            // A failed stream is no throughput sample; the count still ends.
            Some(Err(_)) => *this.watch = None,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

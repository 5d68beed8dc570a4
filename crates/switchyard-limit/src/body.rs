//! [`LimitBody`]: the answer's body; settles the reservation when it is done
//! and, when asked, ends a stream whose cost crosses the budget left.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use serde_json::Value;
use switchyard_core::{Endpoint, ErrorClass, ErrorEvent, Exchange, SseParser};

use crate::check::Unit;
use crate::limiter::{Held, Limiter};
use crate::price::PriceList;

/// Replaces a request's reservations with what its answer really used, once,
/// when dropped (after the inner body, whose usage layer fills the exchange).
pub(crate) struct Settle {
    pub limiter: Limiter,
    pub held: Vec<(Held, Unit)>,
    pub exchange: Arc<Exchange>,
}

impl Drop for Settle {
    fn drop(&mut self) {
        let (usage, cost) = self.exchange.usage_and_cost();
        let tokens = usage.map_or(0, |u| u.input_tokens + u.output_tokens);
        let cost = cost.map_or(0, |c| c.nanos());
        let now = crate::period::now_ms();
        for (h, unit) in &self.held {
            let actual = match unit {
                Unit::Requests => h.taken,
                Unit::Tokens => tokens,
                Unit::Usd => cost,
            };
            self.limiter.adjust(h, actual, now);
            if *unit == Unit::Usd
                && let Some(left) = self.limiter.remaining(&h.limit, now)
            {
                self.limiter
                    .report_budget(&h.limit, switchyard_core::Cost::from_nanos(left).usd());
            }
        }
    }
}

/// Watches a stream's running cost against the budget left at admission.
pub(crate) struct Cutoff {
    pub parser: SseParser,
    pub endpoint: Endpoint,
    pub prices: Arc<dyn PriceList>,
    pub provider: Arc<str>,
    pub model: Arc<str>,
    pub input_tokens: u64,
    pub output_chars: u64,
    /// Nano-dollars this answer may cost.
    pub headroom: u64,
    pub message: String,
    pub exchange: Arc<Exchange>,
    /// The crossing was seen mid-event: end at the next event boundary.
    pub pending: bool,
}

impl Cutoff {
    /// Reads `data`; whether the answer now costs more than the headroom.
    fn crossed(&mut self, data: &[u8]) -> bool {
        let endpoint = self.endpoint;
        let mut chars = 0u64;
        self.parser.feed(data, |ev| {
            if let Ok(v) = serde_json::from_slice::<Value>(ev.data) {
                chars += delta_chars(endpoint, &v);
            }
        });
        self.output_chars += chars;
        let output = self.output_chars.div_ceil(4);
        self.prices
            .price(&self.provider, &self.model, self.input_tokens, output)
            .is_some_and(|c| c.nanos() > self.headroom)
    }

    fn event(&self) -> Bytes {
        crate::metrics::cutoff();
        self.exchange.set_error_class(ErrorClass::Budget);
        ErrorEvent::for_endpoint(self.endpoint).render_as(
            "insufficient_quota",
            "budget_exceeded",
            &self.message,
        )
    }
}

/// What to do with a frame of a watched stream.
enum Verdict {
    /// Send it.
    Pass,
    /// Send its first `n` bytes (the end of an event already begun), then end the stream.
    CutAt(usize),
}

/// Where the first event in `data` ends (just past its blank line).
fn first_boundary(data: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = data[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| from + i)
    {
        match &data[i + 1..] {
            [b'\n', ..] => return Some(i + 2),
            [b'\r', b'\n', ..] => return Some(i + 3),
            _ => from = i + 1,
        }
    }
    None
}

impl Cutoff {
    /// Reads `data` and decides. A crossing ends the stream at once when the
    /// client has whole events only, else at the end of the event it has half of.
    fn judge(&mut self, data: &[u8]) -> Verdict {
        let at_boundary = !self.parser.has_partial();
        if self.pending && at_boundary {
            return Verdict::CutAt(0);
        }
        if self.crossed(data) {
            if at_boundary {
                // This frame's text is what crossed the budget: it is not sent.
                return Verdict::CutAt(0);
            }
            self.pending = true;
        }
        match (self.pending, first_boundary(data)) {
            (true, Some(end)) => Verdict::CutAt(end),
            _ => Verdict::Pass,
        }
    }
}

/// Characters of answer text (and tool arguments) in one streamed event.
fn delta_chars(endpoint: Endpoint, v: &Value) -> u64 {
    let len = |v: &Value| v.as_str().map_or(0, |s| s.chars().count() as u64);
    match endpoint {
        Endpoint::Messages => {
            if v["type"] != "content_block_delta" {
                return 0;
            }
            let d = &v["delta"];
            len(&d["text"]) + len(&d["thinking"]) + len(&d["partial_json"])
        }
        Endpoint::Responses => match v["type"].as_str() {
            Some(t) if t.ends_with(".delta") => len(&v["delta"]),
            _ => 0,
        },
        _ => v["choices"].as_array().map_or(0, |cs| {
            cs.iter()
                .map(|c| {
                    let d = &c["delta"];
                    let tools = d["tool_calls"].as_array().map_or(0, |ts| {
                        ts.iter().map(|t| len(&t["function"]["arguments"])).sum()
                    });
                    len(&c["text"]) + len(&d["content"]) + len(&d["reasoning_content"]) + tools
                })
                .sum()
        }),
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner {
            #[pin]
            inner: B,
            cutoff: Option<Box<Cutoff>>,
        },
        Full {
            bytes: Option<Bytes>,
        },
    }
}

pin_project! {
    /// The body of an answer that went through the limit layer.
    ///
    /// Frames pass unchanged. When the body is dropped (after its end, an
    /// error, or the client leaving) the reservation is settled with the
    /// usage and cost the usage layer recorded. With a stream cutoff, each
    /// event's text is counted as it passes; once the answer's estimated
    /// cost crosses the budget left, the stream ends (at an event boundary)
    /// with one protocol-correct error event.
    pub struct LimitBody<B> {
        #[pin]
        kind: Kind<B>,
        // Declared after `kind`: dropped after the inner body has reported its usage.
        settle: Option<Settle>,
    }
}

impl<B> LimitBody<B> {
    pub(crate) fn new(inner: B, settle: Option<Settle>, cutoff: Option<Box<Cutoff>>) -> Self {
        LimitBody {
            kind: Kind::Inner { inner, cutoff },
            settle,
        }
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        LimitBody {
            kind: Kind::Full {
                bytes: (!bytes.is_empty()).then_some(bytes),
            },
            settle: None,
        }
    }
}

impl<B> From<Bytes> for LimitBody<B> {
    fn from(bytes: Bytes) -> Self {
        LimitBody::full(bytes)
    }
}

impl<B> std::fmt::Debug for LimitBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitBody").finish_non_exhaustive()
    }
}

impl<B> Body for LimitBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut kind = self.project().kind;
        let last = match kind.as_mut().project() {
            KindProj::Full { bytes } => {
                return Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b))));
            }
            KindProj::Inner { inner, cutoff } => {
                let frame = ready!(inner.poll_frame(cx));
                let Some(cut) = cutoff.as_deref_mut() else {
                    return Poll::Ready(frame);
                };
                let Some(data) = frame.as_ref().and_then(|f| f.as_ref().ok()?.data_ref()) else {
                    return Poll::Ready(frame);
                };
                match cut.judge(data) {
                    Verdict::Pass => return Poll::Ready(frame),
                    Verdict::CutAt(0) => cut.event(),
                    Verdict::CutAt(n) => {
                        let event = cut.event();
                        let mut out = Vec::with_capacity(n + event.len());
                        out.extend_from_slice(&data[..n.min(data.len())]);
                        out.extend_from_slice(&event);
                        Bytes::from(out)
                    }
                }
            }
        };
        // Dropping the upstream body now lets the usage layer inside record
        // what was produced before this stream's end is seen outside.
        kind.set(Kind::Full { bytes: None });
        Poll::Ready(Some(Ok(Frame::data(last))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { bytes } => bytes.is_none(),
            Kind::Inner { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Kind::Inner {
                inner,
                cutoff: None,
                ..
            } => inner.size_hint(),
            Kind::Inner { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_the_first_event() {
        assert_eq!(first_boundary(b"a\"}\n\ndata: x\n\n"), Some(5));
        assert_eq!(first_boundary(b"x\r\n\r\ndata"), Some(5));
        assert_eq!(first_boundary(b"x\ndata: y\n"), None);
        assert_eq!(first_boundary(b""), None);
    }

    #[test]
    fn counts_text_of_every_format() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(
            delta_chars(
                Endpoint::ChatCompletions,
                &v(r#"{"choices":[{"delta":{"content":"héllo"}}]}"#)
            ),
            5
        );
        assert_eq!(
            delta_chars(
                Endpoint::ChatCompletions,
                &v(
                    r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"a\""}}]}}]}"#
                )
            ),
            4
        );
        assert_eq!(
            delta_chars(Endpoint::Completions, &v(r#"{"choices":[{"text":"abc"}]}"#)),
            3
        );
        assert_eq!(
            delta_chars(
                Endpoint::Messages,
                &v(r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"hey"}}"#)
            ),
            3
        );
        assert_eq!(
            delta_chars(
                Endpoint::Messages,
                &v(r#"{"type":"message_start","message":{"content":[]}}"#)
            ),
            0
        );
        assert_eq!(
            delta_chars(
                Endpoint::Responses,
                &v(r#"{"type":"response.output_text.delta","delta":"ab"}"#)
            ),
            2
        );
        assert_eq!(
            delta_chars(
                Endpoint::Responses,
                &v(r#"{"type":"response.output_text.done","text":"ab"}"#)
            ),
            0
        );
    }
}

//! [`StreamGuard`]: a streamed answer that breaks is never passed off as a clean end.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body as HttpBody, Frame, SizeHint};
use pin_project_lite::pin_project;
use switchyard_core::{BoxError, ErrorClass, Exchange};
use tokio::time::{Instant, Sleep};

pub use switchyard_core::ErrorEvent;

/// Limits a [`StreamGuard`] enforces.
#[derive(Clone, Copy, Debug, Default)]
pub struct GuardLimits {
    /// Longest silence between chunks.
    pub idle: Option<Duration>,
    /// Fewest events per second after the first, judged after `grace`.
    pub min_rate: Option<f64>,
    /// Time after the first event before the rate is judged.
    pub grace: Duration,
}

enum Phase {
    Streaming,
    Terminating(Bytes),
    Done,
}

pin_project! {
    /// Wraps a server-sent-event body in the client's protocol.
    ///
    /// Whole events pass through untouched (the same `Bytes`); only the
    /// unfinished tail of an event split across frames is held until its end,
    /// which no SSE client could act on earlier anyway. If the upstream body
    /// fails, goes silent past the idle limit, or crawls below the minimum
    /// rate, the held tail is dropped and the stream ends with one
    /// protocol-correct error event (OpenAI: an error chunk and no `[DONE]`;
    /// Anthropic and Responses: an `error` event), and the exchange is marked
    /// [`ErrorClass::StreamTruncated`].
    pub struct StreamGuard<B> {
        #[pin]
        inner: B,
        #[pin]
        idle: Option<Sleep>,
        flavor: ErrorEvent,
        limits: GuardLimits,
        held: BytesMut,
        first_at: Option<Instant>,
        events: u64,
        phase: Phase,
        exchange: Option<Arc<Exchange>>,
    }
}

impl<B> StreamGuard<B> {
    /// Guards `inner`, reporting truncation to `exchange`.
    pub fn new(
        inner: B,
        flavor: ErrorEvent,
        limits: GuardLimits,
        exchange: Option<Arc<Exchange>>,
    ) -> Self {
        StreamGuard {
            inner,
            idle: limits.idle.map(tokio::time::sleep),
            flavor,
            limits,
            held: BytesMut::new(),
            first_at: None,
            events: 0,
            phase: Phase::Streaming,
            exchange,
        }
    }
}

/// The index just past the last blank line (`\n\n` or `\n\r\n`) in `buf`.
fn last_boundary(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while let Some(i) = memchr::memrchr(b'\n', &buf[..end]) {
        let before = &buf[..i];
        if before.ends_with(b"\n") || before.ends_with(b"\n\r") {
            return Some(i + 1);
        }
        end = i;
    }
    None
}

impl<B> HttpBody for StreamGuard<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        loop {
            match std::mem::replace(this.phase, Phase::Streaming) {
                Phase::Done => {
                    *this.phase = Phase::Done;
                    return Poll::Ready(None);
                }
                Phase::Terminating(event) => {
                    *this.phase = Phase::Done;
                    return Poll::Ready(Some(Ok(Frame::data(event))));
                }
                Phase::Streaming => {}
            }
            let polled = this.inner.as_mut().poll_frame(cx);
            let frame = match polled {
                Poll::Pending => {
                    if let Some(idle) = this.idle.as_mut().as_pin_mut() {
                        ready!(idle.poll(cx));
                        let secs = this.limits.idle.unwrap_or_default().as_secs_f64();
                        let msg =
                            format!("the upstream sent nothing for {secs}s; the stream was cut");
                        terminate(
                            this.phase,
                            this.held,
                            this.exchange,
                            *this.flavor,
                            "upstream_idle_timeout",
                            &msg,
                        );
                        continue;
                    }
                    return Poll::Pending;
                }
                Poll::Ready(None) => {
                    *this.phase = Phase::Done;
                    if this.held.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(this.held.split().freeze()))));
                }
                Poll::Ready(Some(Err(e))) => {
                    let e: BoxError = e.into();
                    tracing::warn!(error = %e, "upstream stream broke after it started");
                    let msg = "the upstream stream broke off before it finished";
                    terminate(
                        this.phase,
                        this.held,
                        this.exchange,
                        *this.flavor,
                        "stream_truncated",
                        msg,
                    );
                    continue;
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            let now = Instant::now();
            if let (Some(idle), Some(limit)) = (this.idle.as_mut().as_pin_mut(), this.limits.idle) {
                idle.reset(now + limit);
            }
            let data = match frame.into_data() {
                Ok(data) => data,
                Err(frame) => return Poll::Ready(Some(Ok(frame))),
            };
            let first = *this.first_at.get_or_insert(now);
            if let Some(min) = this.limits.min_rate {
                // Counted only for this check (a search of every frame).
                *this.events += switchyard_core::count_data_fields(&data) as u64;
                let elapsed = now.duration_since(first);
                if elapsed > this.limits.grace
                    && (*this.events as f64) / elapsed.as_secs_f64() < min
                {
                    let msg = format!(
                        "the upstream stream fell below {min} events per second; the stream was cut"
                    );
                    terminate(
                        this.phase,
                        this.held,
                        this.exchange,
                        *this.flavor,
                        "upstream_too_slow",
                        &msg,
                    );
                    continue;
                }
            }
            // Forward up to the last event boundary; hold only an unfinished event.
            let out = if this.held.is_empty() {
                match last_boundary(&data) {
                    Some(end) if end == data.len() => data,
                    Some(end) => {
                        this.held.extend_from_slice(&data[end..]);
                        data.slice(..end)
                    }
                    None => {
                        this.held.extend_from_slice(&data);
                        continue;
                    }
                }
            } else {
                this.held.extend_from_slice(&data);
                match last_boundary(this.held) {
                    Some(end) => this.held.split_to(end).freeze(),
                    None => continue,
                }
            };
            return Poll::Ready(Some(Ok(Frame::data(out))));
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.phase, Phase::Done)
            || (matches!(self.phase, Phase::Streaming)
                && self.held.is_empty()
                && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

fn terminate(
    phase: &mut Phase,
    held: &mut BytesMut,
    exchange: &Option<Arc<Exchange>>,
    flavor: ErrorEvent,
    code: &str,
    message: &str,
) {
    held.clear();
    if let Some(x) = exchange {
        x.set_error_class(ErrorClass::StreamTruncated);
    }
    *phase = Phase::Terminating(flavor.render(code, message));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(last_boundary(b"data: a\n\ndata: b"), Some(9));
        assert_eq!(last_boundary(b"data: a\r\n\r\ndata: b\r\n\r\n"), Some(22));
        assert_eq!(last_boundary(b"data: a\ndata: b\n"), None);
        assert_eq!(last_boundary(b"\n\n"), Some(2));
        assert_eq!(last_boundary(b""), None);
    }
}

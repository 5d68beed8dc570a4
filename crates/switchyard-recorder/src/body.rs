//! [`RecordedBody`] and the record in flight it finishes exactly once.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use switchyard_core::{
    Attribution, Endpoint, ErrorClass, ErrorKind, Exchange, ExchangeState, ParsedRequest,
    RequestContext,
};

use crate::OVERHEAD_HEADER;
use crate::classify::classify;
use crate::defer::{Finisher, Pending};
use crate::hooks::{OnRecord, Started};
use crate::record::{AttemptRecord, FindingRecord, Outcome, Record, UsageRecord};
use crate::time::{rfc3339, unix_ms};

/// [`OVERHEAD_HEADER`] as a `HeaderName`, built at compile time (not per request).
const OVERHEAD_NAME: http::HeaderName = http::HeaderName::from_static(OVERHEAD_HEADER);

pin_project! {
    /// A response body observed as it passes: frames go on unchanged; the
    /// record finishes at the end, on an error or trailers, or when the body
    /// is dropped early (the client went away).
    pub struct RecordedBody<B, H>
    where
        H: OnRecord,
    {
        // Declared first, so it is dropped first: inner layers' bodies finish
        // their accounting before this record reads it.
        #[pin]
        inner: B,
        inflight: Option<Box<InFlight<H>>>,
    }
}

impl<B, H: OnRecord> RecordedBody<B, H> {
    pub(crate) fn new(inner: B, inflight: Option<Box<InFlight<H>>>) -> Self {
        RecordedBody { inner, inflight }
    }
}

impl<B: From<Bytes>, H: OnRecord> From<Bytes> for RecordedBody<B, H> {
    fn from(bytes: Bytes) -> Self {
        RecordedBody::new(B::from(bytes), None)
    }
}

impl<B, H: OnRecord> std::fmt::Debug for RecordedBody<B, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedBody").finish_non_exhaustive()
    }
}

impl<B, H> Body for RecordedBody<B, H>
where
    B: Body<Data = Bytes>,
    H: OnRecord,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let frame = ready!(this.inner.as_mut().poll_frame(cx));
        let Some(f) = this.inflight.as_deref_mut() else {
            return Poll::Ready(frame);
        };
        let end = match &frame {
            Some(Ok(frame)) => match frame.data_ref() {
                Some(data) => {
                    f.on_data(data);
                    this.inner.is_end_stream().then_some(Outcome::Completed)
                }
                None => Some(Outcome::Completed),
            },
            Some(Err(_)) => Some(Outcome::StreamError),
            None => Some(Outcome::Completed),
        };
        if let Some(outcome) = end
            && let Some(f) = this.inflight.take()
        {
            f.end(outcome);
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

/// An exchange under way: what the record will say.
pub(crate) struct InFlight<H: OnRecord> {
    hooks: H,
    exchange: Arc<Exchange>,
    id: String,
    ts_ms: i64,
    /// `ts_ms` as RFC 3339 text, made once for the start event and the record.
    time: String,
    endpoint: Endpoint,
    stream: bool,
    attribution: Attribution,
    requested_model: Option<String>,
    request_body: Bytes,
    request_truncated: bool,
    capture: usize,
    start: Instant,
    status: u16,
    overhead_us: Option<u64>,
    first_byte: Option<Instant>,
    first_token_seen: bool,
    chunks: u64,
    bytes: u64,
    /// Frames of a non-streamed answer, kept by reference up to `capture` bytes.
    response: Option<Vec<Bytes>>,
    response_len: usize,
    response_truncated: bool,
    failure: Option<ErrorClass>,
    done: bool,
    /// Finishes the record after the last frame went out, when set.
    finisher: Option<Finisher>,
    /// The outcome of an exchange that ended, while its record waits.
    pending: Option<(Outcome, Instant)>,
}

impl<H: OnRecord> InFlight<H> {
    pub(crate) fn start(
        ctx: &RequestContext,
        parsed: Option<&ParsedRequest>,
        hooks: H,
        capture: usize,
        finisher: Option<Finisher>,
    ) -> Self {
        let exchange = ctx.exchange().clone();
        exchange.set_capture_limit(capture);
        let raw = parsed.map(|p| p.raw().clone()).unwrap_or_default();
        let request_truncated = raw.len() > capture;
        let ts_ms = unix_ms(ctx.received_at());
        let f = InFlight {
            hooks,
            exchange,
            id: ctx.id().as_str().to_owned(),
            ts_ms,
            time: rfc3339(ts_ms),
            endpoint: ctx.endpoint(),
            stream: parsed.is_some_and(ParsedRequest::is_stream),
            attribution: ctx.attribution().clone(),
            requested_model: parsed.and_then(|p| p.model()).map(str::to_owned),
            request_body: keep(&raw, capture),
            request_truncated,
            capture,
            start: ctx.started(),
            status: 0,
            overhead_us: None,
            first_byte: None,
            first_token_seen: false,
            chunks: 0,
            bytes: 0,
            response: None,
            response_len: 0,
            response_truncated: false,
            failure: None,
            done: false,
            finisher,
            pending: None,
        };
        f.hooks.on_start(&Started {
            id: f.id.clone(),
            time: f.time.clone(),
            endpoint: f.endpoint.as_str(),
            stream: f.stream,
            requested_model: f.requested_model.clone(),
            source: f.attribution.source.clone(),
            project: f.attribution.project.clone(),
        });
        f
    }

    /// The answer's head is ready: measure the overhead, say who serves it.
    pub(crate) fn on_head<B>(&mut self, res: &mut Response<B>) {
        let elapsed = self.start.elapsed();
        self.status = res.status().as_u16();
        // What is needed, read in place (a snapshot would copy the whole record).
        let (upstream, served, attempts) = self.exchange.inspect(|ex| {
            let upstream: Duration =
                ex.attempts.iter().map(|a| a.duration).sum::<Duration>() + ex.upstream_body_wait;
            let served = ex
                .served_by
                .as_ref()
                .or(ex.attempts.last().map(|a| &a.candidate))
                .cloned();
            (upstream, served, ex.attempts.len())
        });
        let overhead = elapsed.saturating_sub(upstream);
        let us = u64::try_from(overhead.as_micros()).unwrap_or(u64::MAX);
        self.overhead_us = Some(us);
        res.headers_mut()
            .insert(OVERHEAD_NAME, HeaderValue::from(us));
        let sse = res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !sse && self.capture > 0 {
            self.response = Some(Vec::new());
        }
        self.hooks.on_routed(
            &self.id,
            served.as_ref().map(|c| &*c.provider),
            served.as_ref().map(|c| &*c.model),
            attempts,
        );
    }

    pub(crate) fn on_data(&mut self, data: &Bytes) {
        if data.is_empty() {
            return;
        }
        self.chunks += 1;
        self.bytes += data.len() as u64;
        self.first_byte.get_or_insert_with(Instant::now);
        if let Some(kept) = &mut self.response {
            let room = self.capture.saturating_sub(self.response_len);
            if data.len() > room {
                self.response_truncated = true;
            }
            let take = data.len().min(room);
            if take > 0 {
                kept.push(keep(data, take));
                self.response_len += take;
            }
        }
        if !self.first_token_seen
            && self.hooks.wants_first_token()
            && let Some(at) = self.exchange.first_token_at()
        {
            self.first_token_seen = true;
            self.hooks
                .on_first_token(&self.id, at.saturating_duration_since(self.start));
        }
    }

    /// The stack failed before a head.
    pub(crate) fn failed(&mut self, kind: Option<ErrorKind>) {
        let kind = kind.unwrap_or(ErrorKind::Internal);
        self.status = kind.status().as_u16();
        self.failure = Some(ErrorClass::of_kind(kind));
        self.finish(Outcome::Failed);
    }

    /// The body ended with `outcome`: finish now, or queue the record for
    /// the finisher so the last frame goes out first.
    pub(crate) fn end(mut self: Box<Self>, outcome: Outcome) {
        match self.finisher.take() {
            Some(finisher) => {
                self.pending = Some((outcome, Instant::now()));
                finisher.defer(self);
            }
            None => self.finish(outcome),
        }
    }

    pub(crate) fn finish(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let record = Arc::new(self.build(outcome));
        self.hooks.on_complete(&record);
    }

    fn build(&mut self, outcome: Outcome) -> Record {
        // Read in place: a snapshot would copy the whole record first.
        let exchange = self.exchange.clone();
        exchange.inspect(|ex| self.build_from(outcome, ex))
    }

    fn build_from(&mut self, outcome: Outcome, ex: &ExchangeState) -> Record {
        let end = self.pending.map_or_else(Instant::now, |(_, at)| at);
        if let Some(redacted) = &ex.guard_request_body {
            // The guard found secrets in the request: keep its redacted copy.
            self.request_truncated = redacted.len() > self.capture;
            self.request_body = keep(redacted, self.capture);
        }
        if self.status == 0 {
            // Gone before the head: nginx's "client closed request".
            self.status = 499;
        }
        let error = self.failure.or_else(|| classify(self.status, outcome, ex));
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ttft = ex
            .first_token_at
            .map(|t| t.saturating_duration_since(self.start));
        let usage = ex.usage.map(|u| UsageRecord {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cached_tokens: u.cached_tokens,
            cache_write_tokens: ex.cache_write_tokens,
            reasoning_tokens: u.reasoning_tokens,
            estimated: u.estimated,
        });
        let tokens_per_second = match (ex.first_token_at, usage) {
            (Some(first), Some(u)) if u.output_tokens > 1 => {
                let rest = end.saturating_duration_since(first).as_secs_f64();
                // The first token arrived at `first`; the rest took `gen`.
                (rest > 0.0).then(|| (u.output_tokens - 1) as f64 / rest)
            }
            _ => None,
        };
        let identity = ex.identity.as_deref();
        // Who served the answer, or else who was tried last (an upstream error).
        let served = ex
            .served_by
            .as_ref()
            .or(ex.attempts.last().map(|a| &a.candidate));
        // Bodies are copied out of the buffers they were read into: a slice
        // would keep that whole buffer (hyper's read buffer, up to hundreds
        // of KiB) alive for as long as a journal or the feed holds the record.
        let response_body = self
            .response
            .take()
            .map(|frames| Bytes::from(frames.concat()));
        Record {
            id: std::mem::take(&mut self.id),
            time: std::mem::take(&mut self.time),
            ts_ms: self.ts_ms,
            endpoint: self.endpoint.as_str(),
            protocol: self.endpoint.protocol().as_str(),
            stream: self.stream,
            key_id: identity.and_then(|i| i.key_id.clone()),
            team: identity.and_then(|i| i.team.clone()),
            source: self.attribution.source.take(),
            // A key's project wins over the client's `x-project`.
            project: identity
                .and_then(|i| i.project.clone())
                .or_else(|| self.attribution.project.take()),
            tags: ex.tags.iter().map(|t| owned(t)).collect(),
            route: ex.route.as_ref().map(|r| owned(&r.rule)),
            requested_model: self.requested_model.take(),
            candidates: ex
                .route
                .iter()
                .flat_map(|r| &r.candidates)
                .map(|c| [&*c.provider, &*c.model].join("/"))
                .collect(),
            attempts: ex
                .attempts
                .iter()
                .map(|a| AttemptRecord {
                    provider: owned(&a.candidate.provider),
                    model: owned(&a.candidate.model),
                    status: a.status,
                    error: a.error.clone(),
                    duration_ms: ms(a.duration),
                })
                .collect(),
            provider: served.map(|c| owned(&c.provider)),
            model: served.map(|c| owned(&c.model)),
            response_model: ex.response_model.as_deref().map(owned),
            status: self.status,
            outcome,
            error_type: error.map(ErrorClass::as_str),
            finish_reason: ex.finish_reason.as_deref().map(owned),
            usage,
            cost_usd: ex.cost.map(|c| c.usd()),
            duration_ms: ms(end.saturating_duration_since(self.start)),
            ttfb_ms: self
                .first_byte
                .map(|t| ms(t.saturating_duration_since(self.start))),
            ttft_ms: ttft.map(ms),
            overhead_us: self.overhead_us,
            tokens_per_second,
            chunks: self.chunks,
            response_bytes: self.bytes,
            request_body: std::mem::take(&mut self.request_body),
            request_truncated: self.request_truncated,
            response_body: match &ex.guard_redactor {
                Some(r) => response_body.map(|b| match r.redact(&String::from_utf8_lossy(&b)) {
                    Some(text) => Bytes::from(text),
                    None => b,
                }),
                None => response_body,
            },
            response_truncated: self.response_truncated,
            answer: ex.output_text.as_ref().map(|t| {
                let redacted = ex.guard_redactor.as_ref().and_then(|r| r.redact(t));
                redacted.unwrap_or_else(|| t.to_string())
            }),
            answer_truncated: ex.output_truncated,
            guard_findings: ex.guard_findings.iter().map(FindingRecord::from).collect(),
        }
    }
}

/// A copy of `s`. (`to_string` on an `Arc<str>` goes through `Display` and
/// the formatter: ~200 instructions more per field, a dozen per record.)
fn owned(s: &str) -> String {
    s.to_owned()
}

/// The first `n` bytes of `b`: shared when that is all of it, copied when
/// it is a cut, so a queued record never holds a large buffer alive.
fn keep(b: &Bytes, n: usize) -> Bytes {
    if n >= b.len() {
        b.clone()
    } else {
        Bytes::copy_from_slice(&b[..n])
    }
}

impl<H: OnRecord> Pending for InFlight<H> {
    fn finish_pending(mut self: Box<Self>) {
        let outcome = self.pending.map_or(Outcome::Completed, |(o, _)| o);
        self.finish(outcome);
    }
}

impl<H: OnRecord> Drop for InFlight<H> {
    /// Dropped before the end: the client went away (unless the exchange
    /// ended and its record was waiting to be finished).
    fn drop(&mut self) {
        let outcome = self.pending.map_or(Outcome::ClientDisconnected, |(o, _)| o);
        self.finish(outcome);
    }
}

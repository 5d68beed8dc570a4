//! The response future: reads whole answers, wraps streams, and the
//! accounting both share.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, header};
use http_body::Body;
use pin_project_lite::pin_project;
use switchyard_core::{Cost, Endpoint, ErrorClass, Exchange, ParsedRequest, Usage};
use tokio::time::Instant;

use crate::body::{StreamObserver, UsageBody};
use crate::observe::Observation;
use crate::pricing::Pricing;
use crate::tail::TailObserver;
use crate::wire::WireFormat;
use crate::{COST_HEADER, ESTIMATED_HEADER, INPUT_TOKENS_HEADER, OUTPUT_TOKENS_HEADER};

/// [`INPUT_TOKENS_HEADER`] as a `HeaderName`, built at compile time (not per request).
const INPUT_TOKENS_NAME: http::HeaderName = http::HeaderName::from_static(INPUT_TOKENS_HEADER);

/// [`OUTPUT_TOKENS_HEADER`] as a `HeaderName`, built at compile time (not per request).
const OUTPUT_TOKENS_NAME: http::HeaderName = http::HeaderName::from_static(OUTPUT_TOKENS_HEADER);

/// [`COST_HEADER`] as a `HeaderName`, built at compile time (not per request).
const COST_NAME: http::HeaderName = http::HeaderName::from_static(COST_HEADER);

/// [`ESTIMATED_HEADER`] as a `HeaderName`, built at compile time (not per request).
const ESTIMATED_NAME: http::HeaderName = http::HeaderName::from_static(ESTIMATED_HEADER);

/// Everything needed to account for one answer.
pub(crate) struct Accounting {
    pub(crate) pricing: Arc<Pricing>,
    pub(crate) exchange: Arc<Exchange>,
    pub(crate) format: &'static dyn WireFormat,
    pub(crate) endpoint: Endpoint,
    pub(crate) request: KeptRequest,
    pub(crate) estimate: bool,
    /// The layer asked for stream usage the client did not: remove it again.
    pub(crate) strip_usage_chunk: bool,
}

/// The request as far as accounting needs it: its model, and its body for
/// an estimate of the prompt's tokens when the provider reports none.
///
/// An unedited body is kept as its bytes (shared with the request) and
/// parsed again only if an estimate is needed, so a long stream does not
/// keep the request's parsed JSON tree (and an edited copy of it) alive.
pub(crate) enum KeptRequest {
    /// The body as received.
    Raw { raw: Bytes, model: Option<Arc<str>> },
    /// A body an outer layer edited: kept parsed.
    Edited(ParsedRequest),
}

impl KeptRequest {
    /// What `parsed` is now, before this layer edits it.
    pub(crate) fn of(parsed: &ParsedRequest) -> Self {
        if parsed.is_dirty() {
            KeptRequest::Edited(parsed.clone())
        } else {
            KeptRequest::Raw {
                raw: parsed.raw().clone(),
                model: parsed.model_arc().cloned(),
            }
        }
    }

    fn model(&self) -> &str {
        match self {
            KeptRequest::Raw { model, .. } => model.as_deref().unwrap_or_default(),
            KeptRequest::Edited(p) => p.model().unwrap_or_default(),
        }
    }

    fn prompt_tokens(&self, endpoint: Endpoint, model: &str) -> u64 {
        match self {
            KeptRequest::Raw { raw, .. } => {
                let body = serde_json::from_slice(raw).unwrap_or_default();
                crate::estimate::prompt_tokens(endpoint, model, &body)
            }
            KeptRequest::Edited(p) => crate::estimate::prompt_tokens(endpoint, model, p.json()),
        }
    }
}

/// The figures of one answer, as written into the exchange.
pub(crate) struct Accounted {
    pub(crate) usage: Usage,
    pub(crate) cost: Option<Cost>,
}

impl Accounting {
    /// An empty observation of the answer this layer takes on: keeping as
    /// much text as the recorder wants, and the answer's start when a layer
    /// outside asked for a digest (the answer is then marked watched).
    pub(crate) fn observation(&self) -> Observation {
        let obs = Observation::new(self.exchange.capture_limit());
        match self.exchange.watch_answer() {
            Some(chars) => obs.with_start(chars),
            None => obs,
        }
    }

    /// Turns what was observed into usage and cost, and writes them (with the
    /// finish reason, model and answer text) into the exchange.
    pub(crate) fn finish(&self, obs: &Observation) -> Accounted {
        let served = self.exchange.served_by();
        let (provider, model) = match &served {
            Some(c) => (&*c.provider, &*c.model),
            None => ("", self.request.model()),
        };
        let output_reported = if self.format.has_output() {
            obs.output_tokens
        } else {
            Some(0)
        };
        let estimated = obs.input_tokens.is_none() || output_reported.is_none();
        let input = obs.input_tokens.unwrap_or_else(|| {
            if self.estimate {
                self.request.prompt_tokens(self.endpoint, model)
            } else {
                0
            }
        });
        let output = output_reported.unwrap_or_else(|| {
            if self.estimate {
                let (text, overflow) = obs.counted();
                crate::estimate::count(model, text) + overflow.div_ceil(4)
            } else {
                0
            }
        });
        let usage = Usage {
            input_tokens: input,
            output_tokens: output,
            cached_tokens: obs.cached_tokens.unwrap_or(0).min(input),
            reasoning_tokens: obs.reasoning_tokens.unwrap_or(0).min(output),
            estimated,
        };
        let cache_write = obs.cache_write_tokens.unwrap_or(0);
        let cost = self.pricing.cost(provider, model, &usage, cache_write);
        let ex = &self.exchange;
        ex.set_usage(usage);
        if cache_write > 0 {
            ex.set_cache_write_tokens(cache_write);
        }
        if let Some(cost) = cost {
            ex.set_cost(cost);
        }
        if let Some(reason) = &obs.finish_reason {
            ex.set_finish_reason(reason.as_str());
        }
        if let Some(m) = &obs.model {
            ex.set_response_model(m.as_str());
        }
        if obs.error {
            ex.set_error_class(ErrorClass::StreamTruncated);
        }
        let (text, truncated) = obs.answer();
        if !text.is_empty() || truncated {
            ex.set_output_text(text, truncated);
        }
        if let Some(digest) = obs.digest() {
            ex.set_answer_digest(digest);
        }
        Accounted { usage, cost }
    }
}

pin_project! {
    /// The future of [`UsageService`](crate::UsageService).
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        accounting: Option<Accounting>,
        max_whole: usize,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Passthrough {
            #[pin]
            fut: F,
        },
        Waiting {
            #[pin]
            fut: F,
        },
        Reading {
            read: Option<Reading<B>>,
        },
    }
}

/// A whole answer being read: its head, its body, what came so far.
struct Reading<B> {
    head: http::response::Parts,
    body: B,
    buf: BytesMut,
    started: Instant,
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn passthrough(fut: F) -> Self {
        ResponseFuture {
            state: State::Passthrough { fut },
            accounting: None,
            max_whole: 0,
        }
    }

    pub(crate) fn new(fut: F, accounting: Accounting, max_whole: usize) -> Self {
        ResponseFuture {
            state: State::Waiting { fut },
            accounting: Some(accounting),
            max_whole,
        }
    }
}

fn is_event_stream<B>(res: &Response<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes> + Unpin,
{
    type Output = Result<Response<UsageBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Passthrough { fut } => {
                    let res = ready!(fut.poll(cx))?;
                    return Poll::Ready(Ok(res.map(UsageBody::plain)));
                }
                StateProj::Waiting { fut } => {
                    let res = ready!(fut.poll(cx))?;
                    let Some(acct) = this.accounting.take() else {
                        return Poll::Ready(Ok(res.map(UsageBody::plain)));
                    };
                    if !res.status().is_success() {
                        return Poll::Ready(Ok(res.map(UsageBody::plain)));
                    }
                    if is_event_stream(&res) {
                        let observer = StreamObserver::new(acct);
                        return Poll::Ready(Ok(res.map(|b| UsageBody::observed(b, observer))));
                    }
                    *this.accounting = Some(acct);
                    let (head, body) = res.into_parts();
                    State::Reading {
                        read: Some(Reading {
                            head,
                            body,
                            buf: BytesMut::new(),
                            started: Instant::now(),
                        }),
                    }
                }
                StateProj::Reading { read } => {
                    let Some(r) = read.as_mut() else {
                        tracing::error!("usage future polled after completion");
                        return Poll::Pending;
                    };
                    let frame = ready!(Pin::new(&mut r.body).poll_frame(cx));
                    let Some(r) = read.take() else {
                        return Poll::Pending;
                    };
                    return Poll::Ready(Ok(match frame {
                        Some(Ok(frame)) => match on_frame(r, frame, *this.max_whole) {
                            Read::More(r) => {
                                *read = Some(r);
                                continue;
                            }
                            Read::Complete(r) => complete(r, this.accounting.take()),
                            Read::TooLarge(r) => too_large(r, this.accounting.take()),
                        },
                        Some(Err(e)) => {
                            let prefix = r.buf.freeze();
                            Response::from_parts(r.head, UsageBody::broken(prefix, e))
                        }
                        None => complete(r, this.accounting.take()),
                    }));
                }
            };
            this.state.set(next);
        }
    }
}

/// Where reading a whole answer stands after a frame.
enum Read<B> {
    More(Reading<B>),
    Complete(Reading<B>),
    /// Too large to hold: passed on, accounted from its tail.
    TooLarge(Reading<B>),
}

/// Adds a frame to the answer being read.
fn on_frame<B: Body<Data = Bytes>>(
    mut r: Reading<B>,
    frame: http_body::Frame<Bytes>,
    max_whole: usize,
) -> Read<B> {
    if let Ok(data) = frame.into_data() {
        r.buf.extend_from_slice(&data);
    }
    if r.body.is_end_stream() {
        return Read::Complete(r);
    }
    if r.buf.len() > max_whole {
        return Read::TooLarge(r);
    }
    Read::More(r)
}

/// Passes on an answer too large to hold, accounting for it from its tail.
fn too_large<B: Body>(r: Reading<B>, accounting: Option<Accounting>) -> Response<UsageBody<B>> {
    tracing::debug!(
        bytes = r.buf.len(),
        "answer too large to hold; its usage is read from its end"
    );
    let prefix = r.buf.freeze();
    let observer = accounting.map(|acct| TailObserver::new(acct, &prefix));
    Response::from_parts(r.head, UsageBody::partial(prefix, r.body, observer))
}

/// Accounts for a whole answer and puts the figures in its head.
fn complete<B: Body>(r: Reading<B>, accounting: Option<Accounting>) -> Response<UsageBody<B>> {
    let bytes = r.buf.freeze();
    let mut head = r.head;
    if let Some(acct) = accounting {
        acct.exchange.add_upstream_body_wait(r.started.elapsed());
        let mut obs = acct.observation();
        acct.format.read_body(&bytes, &mut obs);
        let Accounted { usage, cost } = acct.finish(&obs);
        let h = &mut head.headers;
        h.insert(INPUT_TOKENS_NAME, HeaderValue::from(usage.input_tokens));
        h.insert(OUTPUT_TOKENS_NAME, HeaderValue::from(usage.output_tokens));
        if let Some(cost) = cost
            && let Ok(v) = HeaderValue::from_str(&cost.to_string())
        {
            h.insert(COST_NAME, v);
        }
        if usage.estimated {
            h.insert(ESTIMATED_NAME, HeaderValue::from_static("true"));
        }
    }
    Response::from_parts(head, UsageBody::whole(bytes))
}

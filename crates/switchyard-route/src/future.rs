//! The response future of [`Route`](crate::Route).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Response};
use pin_project_lite::pin_project;
use switchyard_core::{Candidate, Exchange};
use tokio::time::Instant;

use crate::ROUTE_HEADER;
use crate::body::{RouteBody, Watch};
use crate::stats::{InFlight, TargetStats};

/// [`ROUTE_HEADER`] as a `HeaderName`, built at compile time (not per request).
const ROUTE_NAME: http::HeaderName = http::HeaderName::from_static(ROUTE_HEADER);

/// A routed request under way.
pub(crate) struct Routed {
    pub(crate) rule: Arc<str>,
    pub(crate) first: Candidate,
    pub(crate) in_flight: InFlight,
    pub(crate) started: Instant,
    pub(crate) exchange: Arc<Exchange>,
    pub(crate) stats: TargetStats,
}

impl Routed {
    /// Learns from the answer's head: latency per attempt, who served.
    fn answered<B>(self, mut res: Response<B>) -> Response<RouteBody<B>> {
        if let Ok(v) = HeaderValue::from_str(&self.rule) {
            res.headers_mut().insert(ROUTE_NAME, v);
        }
        let ok = res.status().is_success();
        let mut in_flight = self.in_flight;
        // Read in place: a snapshot would copy the whole record.
        let served = self.exchange.inspect(|state| {
            if state.attempts.is_empty() {
                if ok {
                    in_flight.stat().observe_latency(self.started.elapsed());
                }
            } else {
                for a in &state.attempts {
                    if a.error.is_none() {
                        let c = &a.candidate;
                        self.stats
                            .get(&c.provider, &c.model)
                            .observe_latency(a.duration);
                    }
                }
            }
            state.served_by.clone()
        });
        if let Some(served) = &served
            && (served.provider != self.first.provider || served.model != self.first.model)
        {
            in_flight = self.stats.get(&served.provider, &served.model).start();
        }
        let watch = Watch::new(in_flight, self.started, self.exchange, ok);
        res.map(|b| RouteBody::new(b, Some(watch)))
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, T> {
        Inner { #[pin] fut: F, routed: Option<Routed> },
        Ready { res: Option<T> },
    }
}

pin_project! {
    /// The future of [`Route`](crate::Route): the inner service's answer, or a rejection.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, Response<RouteBody<B>>>,
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(fut: F, routed: Option<Routed>) -> Self {
        ResponseFuture {
            state: State::Inner { fut, routed },
        }
    }

    pub(crate) fn ready(res: Response<RouteBody<B>>) -> Self {
        ResponseFuture {
            state: State::Ready { res: Some(res) },
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<RouteBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { fut, routed } => {
                let res = ready!(fut.poll(cx))?;
                Poll::Ready(Ok(match routed.take() {
                    Some(r) => r.answered(res),
                    None => res.map(|b| RouteBody::new(b, None)),
                }))
            }
            StateProj::Ready { res } => match res.take() {
                Some(res) => Poll::Ready(Ok(res)),
                None => {
                    tracing::error!("route future polled after completion");
                    Poll::Pending
                }
            },
        }
    }
}

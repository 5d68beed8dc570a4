//! [`LimitService`]: admits, refuses, and hands each answer its reservation.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::{Request, Response};
use pin_project_lite::pin_project;
use switchyard_core::{ErrorClass, RequestExt, SseParser};
use tower::Service;

use crate::answer;
use crate::body::{Cutoff, LimitBody, Settle};
use crate::check::Unit;
use crate::layer::LimitLayer;
use crate::limiter::{Admission, Held};
use crate::plan::{Plan, plan};

/// The service [`LimitLayer`] builds.
#[derive(Clone, Debug)]
pub struct LimitService<S> {
    pub(crate) inner: S,
    pub(crate) layer: LimitLayer,
}

impl<S> LimitService<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// What an admitted request carries to its answer. Dropped without an
/// answer (an error, a cancelled request), its settlement refunds what the
/// request reserved.
pub(crate) struct Grant {
    layer: LimitLayer,
    plan: Plan,
    remaining: Vec<u64>,
    settle: Option<Settle>,
}

impl Grant {
    fn new(layer: LimitLayer, plan: Plan, held: Vec<Held>, remaining: Vec<u64>) -> Grant {
        let held: Vec<_> = held
            .into_iter()
            .zip(plan.checks.iter().map(|c| c.unit))
            .filter(|(h, u)| !h.free && *u != Unit::Requests)
            .collect();
        let settle = (!held.is_empty()).then(|| Settle {
            limiter: layer.limiter.clone(),
            held,
            exchange: plan.exchange.clone(),
        });
        Grant {
            layer,
            plan,
            remaining,
            settle,
        }
    }

    /// Wraps the answer: rate headers, settlement, and the stream cutoff.
    fn finish<B>(mut self, mut res: Response<B>) -> Response<LimitBody<B>> {
        answer::rate_headers(res.headers_mut(), &self.plan.checks, &self.remaining);
        let cutoff = self.cutoff(&res);
        let settle = self.settle.take();
        res.map(|b| LimitBody::new(b, settle, cutoff))
    }

    fn cutoff<B>(&self, res: &Response<B>) -> Option<Box<Cutoff>> {
        if !self.layer.policy.cutoff_streams || !self.plan.stream || !res.status().is_success() {
            return None;
        }
        let sse = res
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        // The tightest budget: what is left of it, plus this request's own reservation.
        let (i, left) = self
            .plan
            .checks
            .iter()
            .zip(&self.remaining)
            .enumerate()
            .filter(|(_, (c, _))| c.is_budget())
            .map(|(i, (c, r))| (i, r.saturating_add(c.amount)))
            .min_by_key(|(_, left)| *left)?;
        if !sse {
            return None;
        }
        let c = &self.plan.checks[i];
        Some(Box::new(Cutoff {
            parser: SseParser::new(),
            endpoint: self.plan.endpoint,
            prices: self.layer.prices.clone(),
            provider: self.plan.provider.clone(),
            model: self.plan.model.clone(),
            input_tokens: self.plan.input_tokens,
            output_chars: 0,
            headroom: left,
            message: format!(
                "the answer was cut off: it crossed the budget of {} `{}` (${})",
                c.scope.as_str(),
                c.subject,
                switchyard_core::Cost::from_nanos(c.limit.cap)
            ),
            exchange: self.plan.exchange.clone(),
            pending: false,
        }))
    }
}

/// The answer to a refused request.
fn refuse<B>(layer: &LimitLayer, plan: &Plan, adm: Admission) -> Response<LimitBody<B>> {
    let protocol = plan.endpoint.protocol();
    match adm {
        Admission::Refused { index, retry_ms } => {
            let c = &plan.checks[index];
            let left = layer.limiter.remaining(&c.limit, crate::period::now_ms());
            let (res, class) = answer::refusal(c, retry_ms, left, protocol);
            let reason = if class == ErrorClass::Budget {
                "budget"
            } else {
                "rate_limited"
            };
            crate::metrics::refused(reason, c.scope, c.unit);
            plan.exchange.set_error_class(class);
            res
        }
        Admission::Unavailable => {
            plan.exchange.set_error_class(ErrorClass::GatewayInternal);
            answer::unavailable(protocol)
        }
        Admission::Admitted { .. } => answer::unavailable(protocol),
    }
}

impl<S, ReqB, B> Service<Request<ReqB>> for LimitService<S>
where
    S: Service<Request<ReqB>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<LimitBody<B>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, B, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let planned = match (req.context(), req.parsed()) {
            (Ok(ctx), Ok(parsed)) => plan(&self.layer.policy, &*self.layer.prices, ctx, parsed),
            _ => None,
        };
        let Some(plan) = planned else {
            return ResponseFuture::new(State::Pass {
                fut: self.inner.call(req),
            });
        };
        let now = crate::period::now_ms();
        match self.layer.limiter.admit_now(&plan.checks, now) {
            Some(Admission::Admitted { held, remaining }) => {
                let grant = Grant::new(self.layer.clone(), plan, held, remaining);
                ResponseFuture::new(State::Admitted {
                    fut: self.inner.call(req),
                    grant: Some(grant),
                })
            }
            Some(refused) => ResponseFuture::new(State::Ready {
                res: Some(refuse(&self.layer, &plan, refused)),
            }),
            None => {
                // A shared store must be asked: the slow path, boxed.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let layer = self.layer.clone();
                let fut = async move {
                    let fail_open = layer.policy.fail_open;
                    match layer.limiter.admit_slow(&plan.checks, now, fail_open).await {
                        Admission::Admitted { held, remaining } => {
                            let grant = Grant::new(layer, plan, held, remaining);
                            let res = inner.call(req).await?;
                            Ok(grant.finish(res))
                        }
                        other => Ok(refuse(&layer, &plan, other)),
                    }
                };
                ResponseFuture::new(State::Slow { fut: Box::pin(fut) })
            }
        }
    }
}

pin_project! {
    #[project = FutProj]
    enum State<F, B, E> {
        // No limit applies.
        Pass { #[pin] fut: F },
        // Admitted: the inner future, and the grant its answer carries.
        Admitted { #[pin] fut: F, grant: Option<Grant> },
        // Refused: the answer.
        Ready { res: Option<Response<LimitBody<B>>> },
        // Admission had to ask the shared store.
        Slow { fut: BoxFuture<'static, Result<Response<LimitBody<B>>, E>> },
    }
}

pin_project! {
    /// The limit service's response future.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    fn new(state: State<F, B, E>) -> Self {
        ResponseFuture { state }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<LimitBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            FutProj::Pass { fut } => fut
                .poll(cx)
                .map_ok(|res| res.map(|b| LimitBody::new(b, None, None))),
            FutProj::Admitted { fut, grant } => match fut.poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(res)) => match grant.take() {
                    Some(g) => Poll::Ready(Ok(g.finish(res))),
                    None => Poll::Ready(Ok(res.map(|b| LimitBody::new(b, None, None)))),
                },
                // Dropping the grant settles it: nothing was used.
                Poll::Ready(Err(e)) => {
                    grant.take();
                    Poll::Ready(Err(e))
                }
            },
            FutProj::Ready { res } => match res.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
            FutProj::Slow { fut } => fut.as_mut().poll(cx),
        }
    }
}

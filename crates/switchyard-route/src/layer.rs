//! [`RouteLayer`] and its service [`Route`].

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use switchyard_core::{Candidate, Endpoint, Exchange, Rejection, RequestExt};
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::body::RouteBody;
use crate::future::{ResponseFuture, Routed};
use crate::rules::Rules;
use crate::table::RouteTable;

/// Decides where each request goes and writes the [`RouteDecision`](switchyard_core::RouteDecision)
/// (an ordered candidate list) into the request's `RequestContext`.
///
/// Requests without a model (`GET /v1/models`) pass through. A request with no
/// `model` field gets a 400; an unknown model a 404 listing the available ones,
/// both in the client's protocol.
///
/// Built with [`RouteLayer::new`] it routes by the provider table alone; with
/// [`RouteLayer::with_rules`], by [`Rules`] (rules, virtual models, then the
/// table). Answers carry the `x-switchyard-route` header (`rule:<name>`,
/// `virtual:<name>`, `provider:<id>`, `prefix:<id>`, `discovered:<id>`).
/// The layer also watches each answer to learn per-target latency,
/// throughput and in-flight counts for the strategies ([`TargetStats`](crate::TargetStats)).
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use switchyard_core::{ParseLayer, RequestExt};
/// use switchyard_route::{RouteLayer, RouteTable, Rule, Rules, Target, VirtualModel};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let table = RouteTable::builder()
///     .provider("openai", ["gpt-*"])
///     .provider("local", ["llama*"])
///     .build()
///     .unwrap();
/// let rules = Rules::builder(Arc::new(table))
///     .virtual_model(VirtualModel::new("coder").target(Target::new("local", "qwen2.5-coder")))
///     .rule(Rule::new("cli-to-local").source("cli").to([Target::new("local", "llama3.2")]))
///     .build()
///     .unwrap();
/// let svc = ServiceBuilder::new()
///     .layer(ParseLayer::new())
///     .layer(RouteLayer::with_rules(Arc::new(rules)))
///     .service_fn(|req: http::Request<Full<Bytes>>| async move {
///         let t = req.context().unwrap().target().unwrap().clone();
///         let body = Full::new(Bytes::from(format!("{}/{}", t.provider, t.model)));
///         Ok::<_, std::convert::Infallible>(http::Response::new(body))
///     });
/// let call = |model: &str, source: &str| {
///     let body = format!(r#"{{"model":"{model}","messages":[]}}"#);
///     http::Request::post("/v1/chat/completions")
///         .header("x-source", source)
///         .body(Full::new(Bytes::from(body)))
///         .unwrap()
/// };
/// let res = svc.clone().oneshot(call("coder", "app")).await.unwrap();
/// assert_eq!(res.headers()["x-switchyard-route"], "virtual:coder");
/// assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "local/qwen2.5-coder");
/// let res = svc.clone().oneshot(call("gpt-4o", "cli")).await.unwrap();
/// assert_eq!(res.headers()["x-switchyard-route"], "rule:cli-to-local");
/// let res = svc.oneshot(call("gpt-4o", "app")).await.unwrap();
/// assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "openai/gpt-4o");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct RouteLayer {
    rules: Arc<Rules>,
}

impl RouteLayer {
    /// A layer routing by the provider `table` alone.
    pub fn new(table: Arc<RouteTable>) -> Self {
        RouteLayer {
            rules: Arc::new(Rules::from_table(table)),
        }
    }

    /// A layer routing by `rules` (rules, virtual models, then their table).
    pub fn with_rules(rules: Arc<Rules>) -> Self {
        RouteLayer { rules }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = Route<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Route {
            inner,
            rules: self.rules.clone(),
        }
    }
}

/// The service made by [`RouteLayer`].
#[derive(Clone, Debug)]
pub struct Route<S> {
    inner: S,
    rules: Arc<Rules>,
}

impl<S> Route<S> {
    /// The provider table.
    pub fn table(&self) -> &Arc<RouteTable> {
        self.rules.table()
    }

    /// The rules.
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for Route<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<RouteBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let started = Instant::now();
        match decide(&self.rules, &mut req) {
            Ok(None) => ResponseFuture::inner(self.inner.call(req), None),
            Ok(Some((rule, first, exchange))) => {
                let stats = self.rules.stats().clone();
                let routed = Routed {
                    in_flight: stats.get(&first.provider, &first.model).start(),
                    rule,
                    first,
                    started,
                    exchange,
                    stats,
                };
                ResponseFuture::inner(self.inner.call(req), Some(routed))
            }
            Err(Decision::Reject(rejection, protocol)) => {
                ResponseFuture::ready(rejection.into_response(protocol))
            }
            Err(Decision::Missing(e)) => {
                let protocol = Endpoint::from_path(req.uri().path())
                    .map(Endpoint::protocol)
                    .unwrap_or(switchyard_core::Protocol::OpenAi);
                tracing::error!(error = %e, "route layer misassembled");
                ResponseFuture::ready(e.to_rejection().into_response(protocol))
            }
        }
    }
}

enum Decision {
    Reject(Rejection, switchyard_core::Protocol),
    Missing(switchyard_core::Error),
}

type Decided = Option<(Arc<str>, Candidate, Arc<Exchange>)>;

fn decide<B>(rules: &Rules, req: &mut Request<B>) -> Result<Decided, Decision> {
    let parsed = req.parsed().map_err(Decision::Missing)?;
    if !parsed.endpoint().has_body() {
        return Ok(None);
    }
    let protocol = parsed.protocol();
    if parsed.model().is_none_or(str::is_empty) {
        let r = Rejection::bad_request("missing required field `model`").param("model");
        return Err(Decision::Reject(r, protocol));
    }
    let ctx = req.context().map_err(Decision::Missing)?;
    let decision = rules
        .route(parsed, ctx, req.headers())
        .map_err(|r| Decision::Reject(r, protocol))?;
    tracing::debug!(model = %decision.requested_model, rule = %decision.rule, "routed");
    let first = decision.candidates.first().cloned().ok_or_else(|| {
        Decision::Missing(switchyard_core::Error::unavailable(
            "the route has no candidates",
        ))
    })?;
    let rule = decision.rule.clone();
    let ctx = req.context_mut().map_err(Decision::Missing)?;
    let exchange = ctx.exchange().clone();
    ctx.set_route(decision);
    Ok(Some((rule, first, exchange)))
}

//! [`RouteLayer`] and its service [`Route`].

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use switchyard_core::{Endpoint, LayerFuture, Rejection, RequestExt};
use tower::{Layer, Service};

use crate::table::RouteTable;

/// Decides where each request goes and writes the [`RouteDecision`](switchyard_core::RouteDecision)
/// (an ordered candidate list) into the request's `RequestContext`.
///
/// Requests without a model (`GET /v1/models`) pass through. A request with no
/// `model` field gets a 400; an unknown model a 404 listing the available ones,
/// both in the client's protocol.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use switchyard_core::{ParseLayer, RequestExt};
/// use switchyard_route::{RouteLayer, RouteTable};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let table = RouteTable::builder().provider("openai", ["gpt-*"]).build().unwrap();
/// let svc = ServiceBuilder::new()
///     .layer(ParseLayer::new())
///     .layer(RouteLayer::new(Arc::new(table)))
///     .service_fn(|req: http::Request<Full<Bytes>>| async move {
///         let target = req.context().unwrap().target().unwrap().provider.to_string();
///         Ok::<_, std::convert::Infallible>(http::Response::new(Bytes::from(target)))
///     });
/// let req = http::Request::post("/v1/chat/completions")
///     .body(Full::new(Bytes::from_static(br#"{"model":"gpt-4o","messages":[]}"#)))
///     .unwrap();
/// assert_eq!(svc.oneshot(req).await.unwrap().body(), "openai");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct RouteLayer {
    table: Arc<RouteTable>,
}

impl RouteLayer {
    /// A layer routing by `table`.
    pub fn new(table: Arc<RouteTable>) -> Self {
        RouteLayer { table }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = Route<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Route {
            inner,
            table: self.table.clone(),
        }
    }
}

/// The service made by [`RouteLayer`].
#[derive(Clone, Debug)]
pub struct Route<S> {
    inner: S,
    table: Arc<RouteTable>,
}

impl<S> Route<S> {
    /// The route table.
    pub fn table(&self) -> &Arc<RouteTable> {
        &self.table
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
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
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = LayerFuture<S::Future, Response<ResBody>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match decide(&self.table, &mut req) {
            Ok(()) => LayerFuture::inner(self.inner.call(req)),
            Err(Decision::Reject(rejection, protocol)) => {
                LayerFuture::ready(rejection.into_response(protocol))
            }
            Err(Decision::Missing(e)) => {
                let protocol = Endpoint::from_path(req.uri().path())
                    .map(Endpoint::protocol)
                    .unwrap_or(switchyard_core::Protocol::OpenAi);
                tracing::error!(error = %e, "route layer misassembled");
                LayerFuture::ready(e.to_rejection().into_response(protocol))
            }
        }
    }
}

enum Decision {
    Reject(Rejection, switchyard_core::Protocol),
    Missing(switchyard_core::Error),
}

fn decide<B>(table: &RouteTable, req: &mut Request<B>) -> Result<(), Decision> {
    let parsed = req.parsed().map_err(Decision::Missing)?;
    if !parsed.endpoint().has_body() {
        return Ok(());
    }
    let protocol = parsed.protocol();
    let Some(model) = parsed.model().filter(|m| !m.is_empty()) else {
        let r = Rejection::bad_request("missing required field `model`").param("model");
        return Err(Decision::Reject(r, protocol));
    };
    let decision = table
        .route(model)
        .map_err(|r| Decision::Reject(r, protocol))?;
    tracing::debug!(model, rule = %decision.rule, "routed");
    req.context_mut()
        .map_err(Decision::Missing)?
        .set_route(decision);
    Ok(())
}

//! [`FailoverLayer`] and its service [`Failover`].

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use switchyard_core::{Body, Error};
use tower::{Layer, Service};

use crate::attempt::{Settings, run};
use crate::circuit::Circuits;
use crate::policy::FailoverPolicy;

/// Walks the route's ordered candidates until one answers.
///
/// Per attempt it points the request's context at a candidate
/// ([`RequestContext::set_target`](switchyard_core::RequestContext::set_target))
/// and replays the body from the [`ParsedRequest`](switchyard_core::ParsedRequest)
/// (a `Bytes` clone). It retries on connect errors, timeouts, 408, 409, 429,
/// 5xx and 529 (overload), never on other 4xx; the same candidate again only
/// up to `attempts_per_candidate`, after a jittered exponential backoff or the
/// upstream's `Retry-After` (capped); a different candidate at once. Open
/// circuits are skipped. The provider answers only once the first body frame
/// arrived, so a failure before the first event is failed over invisibly; a
/// streamed answer that breaks later ends with a protocol-correct error event
/// ([`StreamGuard`](crate::StreamGuard)). The answer carries
/// `x-switchyard-attempts`.
///
/// # Example
///
/// ```
/// use switchyard_core::HealthBoard;
/// use switchyard_failover::{Circuits, FailoverLayer, FailoverPolicy};
/// let circuits = Circuits::new(HealthBoard::new()); // outlives config reloads
/// let layer = FailoverLayer::new(FailoverPolicy { max_attempts: 4, ..Default::default() }, circuits);
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct FailoverLayer {
    policy: Arc<FailoverPolicy>,
    circuits: Circuits,
    idle: Arc<HashMap<Arc<str>, Duration>>,
}

impl FailoverLayer {
    /// A layer retrying per `policy`, with breakers in `circuits`.
    pub fn new(policy: FailoverPolicy, circuits: Circuits) -> Self {
        FailoverLayer {
            policy: Arc::new(policy),
            circuits,
            idle: Arc::default(),
        }
    }

    /// Overrides the policy's idle limit for streams from `provider`.
    pub fn idle_timeout_for(mut self, provider: impl Into<Arc<str>>, limit: Duration) -> Self {
        Arc::make_mut(&mut self.idle).insert(provider.into(), limit);
        self
    }
}

impl<S> Layer<S> for FailoverLayer {
    type Service = Failover<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Failover {
            inner,
            policy: self.policy.clone(),
            circuits: self.circuits.clone(),
            idle: self.idle.clone(),
        }
    }
}

/// The service made by [`FailoverLayer`].
#[derive(Clone, Debug)]
pub struct Failover<S> {
    inner: S,
    policy: Arc<FailoverPolicy>,
    circuits: Circuits,
    idle: Arc<HashMap<Arc<str>, Duration>>,
}

impl<S> Failover<S> {
    /// The breakers.
    pub fn circuits(&self) -> &Circuits {
        &self.circuits
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

impl<S, B> Service<Request<B>> for Failover<S>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
    B: From<Bytes> + Send + 'static,
{
    type Response = Response<Body>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Body>, Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let settings = Settings {
            policy: self.policy.clone(),
            circuits: self.circuits.clone(),
            idle: self.idle.clone(),
        };
        Box::pin(run(inner, settings, req))
    }
}

//! [`ParamsLayer`] and its service [`Params`].

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use switchyard_core::{Endpoint, Error, LayerFuture, Protocol, RequestExt};
use tower::{Layer, Service};

use crate::profiles::Profiles;

/// Applies each attempt's parameter profile to the request body:
/// **defaults < caller < clamp**, then numeric bounds, then removals.
///
/// It reads the attempt's target candidate from the `RequestContext`
/// (the route's first candidate, or the one a failover layer picked), so it
/// belongs inside the route (and failover) layer, next to the providers.
/// A body that already complies is not touched and is forwarded byte for
/// byte; an edited one is serialised once, by the provider.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use switchyard_core::{Candidate, ParseLayer, RequestExt, RouteDecision};
/// use switchyard_params::{ParamsLayer, Profile, Profiles};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let profiles = Profiles::builder()
///     .profile("careful", Profile::new().default_value("temperature", 0.2).max("max_tokens", 512))
///     .build()
///     .unwrap();
/// let svc = ServiceBuilder::new()
///     .layer(ParseLayer::new())
///     // What a route layer does: pick a candidate with a profile.
///     .map_request(|mut req: http::Request<Full<Bytes>>| {
///         req.context_mut().unwrap().set_route(RouteDecision {
///             requested_model: "m".into(),
///             rule: "example".into(),
///             candidates: vec![Candidate::new("p", "m").with_profile("careful")],
///         });
///         req
///     })
///     .layer(ParamsLayer::new(Arc::new(profiles)))
///     .service_fn(|req: http::Request<Full<Bytes>>| async move {
///         let body = req.parsed().unwrap().body();
///         Ok::<_, std::convert::Infallible>(http::Response::new(body))
///     });
/// let req = http::Request::post("/v1/chat/completions")
///     .body(Full::new(Bytes::from_static(br#"{"model":"m","max_tokens":4000}"#)))
///     .unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// assert_eq!(res.body(), r#"{"model":"m","max_tokens":512,"temperature":0.2}"#);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct ParamsLayer {
    profiles: Arc<Profiles>,
}

impl ParamsLayer {
    /// A layer applying `profiles`.
    pub fn new(profiles: Arc<Profiles>) -> Self {
        ParamsLayer { profiles }
    }
}

impl<S> Layer<S> for ParamsLayer {
    type Service = Params<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Params {
            inner,
            profiles: self.profiles.clone(),
        }
    }
}

/// The service made by [`ParamsLayer`].
#[derive(Clone, Debug)]
pub struct Params<S> {
    inner: S,
    profiles: Arc<Profiles>,
}

impl<S> Params<S> {
    /// The profiles applied.
    pub fn profiles(&self) -> &Arc<Profiles> {
        &self.profiles
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

impl<S, B, ResBody> Service<Request<B>> for Params<S>
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
        match apply(&self.profiles, &mut req) {
            Ok(()) => LayerFuture::inner(self.inner.call(req)),
            Err(e) => {
                let protocol = Endpoint::from_path(req.uri().path())
                    .map(Endpoint::protocol)
                    .unwrap_or(Protocol::OpenAi);
                tracing::error!(error = %e, "params layer");
                LayerFuture::ready(e.to_rejection().into_response(protocol))
            }
        }
    }
}

fn apply<B>(profiles: &Profiles, req: &mut Request<B>) -> Result<(), Error> {
    let parsed = req.parsed()?;
    if !parsed.endpoint().has_body() {
        return Ok(());
    }
    let candidate = req.context()?.target()?;
    let edits = profiles
        .plan(candidate, || parsed.json())
        .map_err(Error::internal)?;
    if edits.is_empty() {
        return Ok(());
    }
    tracing::debug!(
        provider = %candidate.provider,
        model = %candidate.model,
        fields = ?edits.iter().map(|e| e.field()).collect::<Vec<_>>(),
        "parameters adjusted"
    );
    let body = req.parsed_mut()?.json_mut();
    for e in &edits {
        e.apply(body);
    }
    Ok(())
}

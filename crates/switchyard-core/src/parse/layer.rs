use tower::Layer;

use super::Parse;

/// Reads each request body once, up to a limit, and inserts a
/// [`ParsedRequest`](crate::ParsedRequest) and a [`RequestContext`](crate::RequestContext)
/// into the request extensions.
///
/// Requests to paths that are not gateway endpoints pass through untouched.
/// Malformed JSON is answered with a 400, a body over the limit with a 413, a
/// wrong method with a 405, each in the client's protocol. The inner service
/// gets the same bytes back as its body (`B: From<Bytes>`), so it can be any
/// handler, including an axum `Router`'s.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use switchyard_core::{ParseLayer, RequestExt};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio_test_block_on(async {
/// let svc = ServiceBuilder::new()
///     .layer(ParseLayer::new().limit(1024))
///     .service_fn(|req: http::Request<Full<Bytes>>| async move {
///         let model = req.parsed().unwrap().model().unwrap_or_default().to_owned();
///         Ok::<_, std::convert::Infallible>(http::Response::new(Bytes::from(model)))
///     });
/// let req = http::Request::post("/v1/chat/completions")
///     .body(Full::new(Bytes::from_static(br#"{"model":"gpt-4o","messages":[]}"#)))
///     .unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// assert_eq!(res.body(), "gpt-4o");
/// assert!(res.headers().contains_key("x-switchyard-request-id"));
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ParseLayer {
    limit: usize,
    eager_json: bool,
}

impl ParseLayer {
    /// The default body limit: 32 MiB (large enough for base64 images).
    pub const DEFAULT_LIMIT: usize = 32 << 20;

    /// A layer with the default body limit.
    pub fn new() -> Self {
        ParseLayer {
            limit: Self::DEFAULT_LIMIT,
            eager_json: false,
        }
    }

    /// Sets the largest body accepted, in bytes; larger ones get a 413.
    pub fn limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// Reads each body straight into its [`Doc`](crate::Doc) (what
    /// [`ParsedRequest::view`](crate::ParsedRequest::view) returns), in the
    /// pass that validates it, instead of a light first pass for `model` and
    /// `stream` and the document later on first use. For stacks whose
    /// layers read the body anyway (guard, classify, limits): one parse
    /// instead of two. Off by default, so a passthrough stack never builds
    /// it. Either way a layer that edits the body gets a `serde_json::Value`
    /// tree on first use.
    pub fn eager_json(mut self, eager: bool) -> Self {
        self.eager_json = eager;
        self
    }
}

impl Default for ParseLayer {
    fn default() -> Self {
        ParseLayer::new()
    }
}

impl<S> Layer<S> for ParseLayer {
    type Service = Parse<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Parse::new(inner, self.limit).eager_json(self.eager_json)
    }
}

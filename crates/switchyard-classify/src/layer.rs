//! [`ClassifyLayer`], its service [`Classify`], and the classifier set [`Classifiers`].

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use switchyard_core::{Endpoint, Error, Protocol, RequestExt};
use tower::{Layer, Service};

use crate::body::ClassifyBody;
use crate::future::{Pending, ResponseFuture};
use crate::request::{Classifier, Lowered};
use crate::response::ResponseClassifiers;

/// The default `long_context` threshold, in estimated tokens.
pub const DEFAULT_LONG_CONTEXT_TOKENS: usize = 32_000;

/// Request classifiers, in order, and the response classifiers.
#[derive(Clone, Debug)]
pub struct Classifiers {
    request: Vec<Classifier>,
    response: Arc<ResponseClassifiers>,
    lowercase: bool,
}

impl Default for Classifiers {
    /// The built-ins: `vision`, `tools`, `code`, `long_context` (32k tokens),
    /// and the `refusal` / `truncated` response classifiers.
    fn default() -> Self {
        Classifiers::none()
            .with(Classifier::vision("vision"))
            .with(Classifier::tools("tools"))
            .with(Classifier::code("code"))
            .with(Classifier::long_context(
                "long_context",
                DEFAULT_LONG_CONTEXT_TOKENS,
            ))
            .response(ResponseClassifiers::default())
    }
}

impl Classifiers {
    /// No classifier at all.
    pub fn none() -> Self {
        Classifiers {
            request: Vec::new(),
            response: Arc::new(ResponseClassifiers::none()),
            lowercase: false,
        }
    }

    /// Adds a request classifier.
    pub fn with(mut self, classifier: Classifier) -> Self {
        self.lowercase |= classifier.needs_lowercase();
        self.request.push(classifier);
        self
    }

    /// Sets the response classifiers.
    pub fn response(mut self, response: ResponseClassifiers) -> Self {
        self.response = Arc::new(response);
        self
    }

    /// The request classifiers, in order.
    pub fn request_classifiers(&self) -> &[Classifier] {
        &self.request
    }

    /// The tags a prompt earns, in classifier order, without duplicates.
    pub fn classify(&self, prompt: &switchyard_core::Prompt) -> Vec<Arc<str>> {
        let lowered = if self.lowercase {
            Lowered::new(prompt)
        } else {
            Lowered::default()
        };
        let mut tags: Vec<Arc<str>> = Vec::new();
        for c in &self.request {
            if !tags.contains(&c.tag) && c.matches(prompt, &lowered) {
                tags.push(c.tag.clone());
            }
        }
        tags
    }
}

/// Tags each request before routing, and each answer as it passes.
///
/// Request tags go into the `RequestContext` (routes match on them) and come
/// back in the `x-switchyard-request-tags` response header. Response tags
/// (`refusal`, `truncated`, `content_filter`) go into the request's
/// `Exchange`; a non-streamed answer is read whole (up to a bound) so they
/// also come back in the `x-switchyard-response-tags` header; a streamed one
/// is observed frame by frame, never held back, and its tags come as a
/// trailer of the same name. Bodies pass byte for byte.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use switchyard_classify::{ClassifyLayer, Classifier, Classifiers, Scope};
/// use switchyard_core::{ParseLayer, RequestExt};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let classifiers = Classifiers::default()
///     .with(Classifier::keywords("legal", &["contract".into()], Scope::All).unwrap());
/// let svc = ServiceBuilder::new()
///     .layer(ParseLayer::new())
///     .layer(ClassifyLayer::new(Arc::new(classifiers)))
///     .service_fn(|req: http::Request<Full<Bytes>>| async move {
///         let tags = req.context().unwrap().tags().join(" ");
///         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(tags))))
///     });
/// let body = r#"{"model":"m","messages":[{"role":"user","content":"Review this Contract:\n```\nx\n```"}]}"#;
/// let req = http::Request::post("/v1/chat/completions").body(Full::new(Bytes::from(body))).unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// assert_eq!(res.headers()["x-switchyard-request-tags"], "code,legal");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct ClassifyLayer {
    classifiers: Arc<Classifiers>,
}

impl ClassifyLayer {
    /// A layer running `classifiers`.
    pub fn new(classifiers: Arc<Classifiers>) -> Self {
        ClassifyLayer { classifiers }
    }
}

impl<S> Layer<S> for ClassifyLayer {
    type Service = Classify<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Classify {
            inner,
            classifiers: self.classifiers.clone(),
        }
    }
}

/// The service made by [`ClassifyLayer`].
#[derive(Clone, Debug)]
pub struct Classify<S> {
    inner: S,
    classifiers: Arc<Classifiers>,
}

impl<S> Classify<S> {
    /// The classifiers run.
    pub fn classifiers(&self) -> &Arc<Classifiers> {
        &self.classifiers
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

impl<S, B, ResBody> Service<Request<B>> for Classify<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: http_body::Body<Data = Bytes> + From<Bytes> + Unpin,
{
    type Response = Response<ClassifyBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        match tag(&self.classifiers, &mut req) {
            Ok(pending) => ResponseFuture::calling(self.inner.call(req), pending),
            Err(e) => {
                let protocol = Endpoint::from_path(req.uri().path())
                    .map(Endpoint::protocol)
                    .unwrap_or(Protocol::OpenAi);
                tracing::error!(error = %e, "classify layer misassembled");
                let res: Response<ResBody> = e.to_rejection().into_response(protocol);
                ResponseFuture::ready(res.map(ClassifyBody::passthrough))
            }
        }
    }
}

fn tag<B>(classifiers: &Classifiers, req: &mut Request<B>) -> Result<Pending, Error> {
    let parsed = req.parsed()?;
    let has_body = parsed.endpoint().has_body();
    let tags = if has_body {
        classifiers.classify(parsed.prompt())
    } else {
        Vec::new()
    };
    let ctx = req.context_mut()?;
    for t in tags {
        ctx.add_tag(t);
    }
    let request_tags = if ctx.tags().is_empty() {
        None
    } else {
        HeaderValue::from_str(&ctx.tags().join(",")).ok()
    };
    let response = if has_body {
        classifiers.response.clone()
    } else {
        Arc::new(ResponseClassifiers::none())
    };
    let exchange = ctx.exchange().clone();
    if response.any() {
        // A usage layer inside reads every answer anyway: ask it for what the
        // response classifiers need, so the answer is parsed once.
        exchange.want_answer_digest(response.prefix_chars());
    }
    Ok(Pending {
        request_tags,
        response,
        exchange: Some(exchange),
    })
}

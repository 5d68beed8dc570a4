//! [`GuardLayer`] and its service [`Guard`].

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use switchyard_core::{
    Endpoint, Error, ErrorClass, ErrorType, LayerFuture, Protocol, Rejection, RequestExt,
    TextRedactor,
};
use tower::{Layer, Service};

use crate::config::Action;
use crate::policy::{Policy, Report};

/// The counter of findings, labelled by `kind` and `action`.
pub const FINDINGS_METRIC: &str = "switchyard_guard_findings_total";

/// Scans each request's prompt for leaked credentials and personal data, and
/// logs, redacts or refuses as its [`Policy`] says.
///
/// # Example
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use switchyard_core::{ParseLayer, RequestExt};
/// use switchyard_guard::{Action, GuardLayer, Policy};
/// use tower::{ServiceBuilder, ServiceExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let svc = ServiceBuilder::new()
///     .layer(ParseLayer::new())
///     .layer(GuardLayer::new(Policy::new(Action::Redact)))
///     .service_fn(|req: http::Request<Full<Bytes>>| async move {
///         // What the inner layers (and the provider) get.
///         let body = req.parsed().unwrap().body();
///         Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(body)))
///     });
/// let body = r#"{"model":"m","messages":[{"role":"user","content":"mail jane.doe@gmail.com"}]}"#;
/// let req = http::Request::post("/v1/chat/completions").body(Full::new(Bytes::from(body))).unwrap();
/// let res = svc.oneshot(req).await.unwrap();
/// let seen = res.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(&seen[..], br#"{"model":"m","messages":[{"role":"user","content":"mail [REDACTED:email]"}]}"#);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct GuardLayer {
    policy: Arc<Policy>,
}

impl GuardLayer {
    /// A layer applying `policy`.
    pub fn new(policy: Policy) -> Self {
        GuardLayer {
            policy: Arc::new(policy),
        }
    }

    /// The policy applied.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// The service made by [`GuardLayer`].
#[derive(Clone, Debug)]
pub struct Guard<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S> Guard<S> {
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

impl<S, B, ResBody> Service<Request<B>> for Guard<S>
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
        if !self.policy.is_active() {
            return LayerFuture::inner(self.inner.call(req));
        }
        match inspect(&self.policy, &mut req) {
            Ok(None) => LayerFuture::inner(self.inner.call(req)),
            Ok(Some(rejection)) => {
                let protocol = req.parsed().map_or(Protocol::OpenAi, |p| p.protocol());
                LayerFuture::ready(rejection.into_response(protocol))
            }
            Err(e) => {
                let protocol = Endpoint::from_path(req.uri().path())
                    .map_or(Protocol::OpenAi, Endpoint::protocol);
                tracing::error!(error = %e, "guard layer misassembled");
                LayerFuture::ready(e.to_rejection().into_response(protocol))
            }
        }
    }
}

/// Scans the request, records what it found, and redacts or refuses.
fn inspect<B>(policy: &Arc<Policy>, req: &mut Request<B>) -> Result<Option<Rejection>, Error> {
    let parsed = req.parsed()?;
    if !parsed.endpoint().has_body() {
        return Ok(None);
    }
    let report = policy.scan(parsed.endpoint(), parsed.view());
    if report.is_empty() {
        return Ok(None);
    }
    let verdict = report.verdict();
    // What journals keep: every finding redacted, whatever its action.
    let mut journal = parsed.json().clone();
    report.redact(&mut journal, |_| true);
    let journal = serde_json::to_vec(&journal).map(Bytes::from).ok();
    let mut findings = report.findings();
    if verdict == Action::Block {
        for f in &mut findings {
            if f.action != Action::Block.as_str() {
                // Nothing was forwarded: what the other findings asked for did not happen.
                f.action = Action::Block.as_str();
            }
        }
    }
    count(&findings);
    let ctx = req.context()?;
    tracing::info!(
        request_id = %ctx.id(),
        action = verdict.as_str(),
        findings = findings.len(),
        kinds = %kind_list(&report, None),
        "prompt guard findings"
    );
    let exchange = ctx.exchange().clone();
    exchange.set_guard(findings, journal);
    if verdict == Action::Block {
        exchange.set_error_class(ErrorClass::GuardBlocked);
        return Ok(Some(refusal(&report)));
    }
    // A model may repeat what it was sent: the journal's copy of the answer
    // is redacted too.
    let policy = policy.clone();
    exchange.set_guard_redactor(TextRedactor::new(move |t| policy.redact_text(t)));
    let parsed = req.parsed_mut()?;
    let mut edited = parsed.json().clone();
    if report.redact(&mut edited, |a| a == Action::Redact) {
        *parsed.json_mut() = edited;
        parsed.refresh_prompt();
    }
    Ok(None)
}

fn count(findings: &[switchyard_core::GuardFinding]) {
    for f in findings {
        metrics::counter!(FINDINGS_METRIC, "kind" => f.kind, "action" => f.action).increment(1);
    }
}

/// The kinds found (those with `action`, or all), comma-separated.
fn kind_list(report: &Report, action: Option<Action>) -> String {
    let kinds = match action {
        Some(a) => report.kinds_with(a),
        None => {
            let mut all: Vec<_> = [Action::Log, Action::Redact, Action::Block]
                .into_iter()
                .flat_map(|a| report.kinds_with(a))
                .collect();
            all.sort();
            all.dedup();
            all
        }
    };
    kinds
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 403 naming the kinds that blocked the request, never their values.
fn refusal(report: &Report) -> Rejection {
    let kinds = kind_list(report, Some(Action::Block));
    Rejection::new(
        StatusCode::FORBIDDEN,
        ErrorType::PermissionDenied,
        format!(
            "the request was blocked by the gateway's prompt guard: it contains {kinds}; remove it and retry"
        ),
    )
    .code("prompt_blocked")
}

//! The attempt loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use switchyard_core::{ATTEMPTS_HEADER, Body, Candidate, Error, RequestExt};
use tokio::time::Instant;
use tower::{Service, ServiceExt};

use crate::circuit::Circuits;
use crate::guard::{ErrorEvent, GuardLimits, StreamGuard};
use crate::policy::{FailoverPolicy, Verdict, is_health_failure, judge};

/// [`ATTEMPTS_HEADER`] as a `HeaderName`, built at compile time (not per request).
const ATTEMPTS_NAME: http::HeaderName = http::HeaderName::from_static(ATTEMPTS_HEADER);

/// What is needed to build the request again for each attempt.
#[derive(Clone)]
struct Head {
    method: http::Method,
    uri: http::Uri,
    version: http::Version,
    headers: http::HeaderMap,
    extensions: http::Extensions,
    body: Bytes,
}

impl Head {
    /// The request for an attempt at `target`: the head itself for the last
    /// attempt there can be, a clone of it for the others.
    fn into_request<B: From<Bytes>>(self, target: &Candidate) -> Result<Request<B>, Error> {
        let mut req = Request::new(B::from(self.body));
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        *req.headers_mut() = self.headers;
        *req.extensions_mut() = self.extensions;
        req.context_mut()?.set_target(target.clone());
        Ok(req)
    }
}

/// What one request's walk needs from the layer.
pub(crate) struct Settings {
    pub(crate) policy: Arc<FailoverPolicy>,
    pub(crate) circuits: Circuits,
    pub(crate) idle: Arc<HashMap<Arc<str>, Duration>>,
}

pub(crate) async fn run<S, B>(
    inner: S,
    settings: Settings,
    req: Request<B>,
) -> Result<Response<Body>, Error>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Error> + Clone,
    B: From<Bytes>,
{
    let Settings {
        policy,
        circuits,
        idle,
    } = settings;
    let ctx = req.context()?;
    let candidates = ctx.route()?.candidates.clone();
    let exchange = ctx.exchange().clone();
    let endpoint = ctx.endpoint();
    let deadline = policy
        .total_timeout_secs
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let body = req.parsed()?.raw().clone();
    let (parts, _) = req.into_parts();
    let mut head = Some(Head {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        extensions: parts.extensions,
        body,
    });

    let mut attempts = 0u32;
    let mut skipped = 0usize;
    let mut last: Option<(Result<Response<Body>, Error>, &Candidate)> = None;
    'candidates: for (index, candidate) in candidates.iter().enumerate() {
        if !circuits.allow(&policy.circuit, candidate) {
            tracing::debug!(provider = %candidate.provider, model = %candidate.model, "circuit open; skipped");
            skipped += 1;
            continue;
        }
        for same in 0..policy.attempts_per_candidate {
            if attempts >= policy.max_attempts {
                break 'candidates;
            }
            if same > 0 {
                // Again on the same target: honour its Retry-After, else back off.
                let wait = match last.as_ref().map(|(o, _)| judge(o)) {
                    Some(Verdict::Retry {
                        retry_after: Some(ra),
                    }) if ra > policy.retry_after_cap() => {
                        tracing::debug!(?ra, "Retry-After over the cap; moving on");
                        continue 'candidates;
                    }
                    Some(Verdict::Retry {
                        retry_after: Some(ra),
                    }) => ra.max(policy.backoff(attempts)),
                    _ => policy.backoff(attempts),
                };
                if deadline.is_some_and(|d| Instant::now() + wait >= d) {
                    break 'candidates;
                }
                tokio::time::sleep(wait).await;
            }
            attempts += 1;
            // No attempt can follow this one: it takes the head instead of a
            // copy (the extensions' clone and drop cost ~1,500 instructions).
            let final_attempt = attempts >= policy.max_attempts
                || (index + 1 == candidates.len() && same + 1 >= policy.attempts_per_candidate);
            let req = if final_attempt {
                head.take()
            } else {
                head.clone()
            }
            .ok_or_else(|| Error::internal("failover: no request left to replay"))?
            .into_request(candidate)?;
            let outcome = attempt(inner.clone(), req, deadline).await;
            circuits.record(&policy.circuit, candidate, !is_health_failure(&outcome));
            match judge(&outcome) {
                Verdict::Final => {
                    if attempts > 1 && outcome.as_ref().is_ok_and(|r| r.status().is_success()) {
                        crate::metrics::mitigated(candidate);
                    }
                    let limit = idle_limit(&policy, &idle, candidate);
                    return finish(outcome, &policy, limit, endpoint, &exchange);
                }
                Verdict::Retry { .. } => {
                    log_retry(candidate, &outcome);
                    last = Some((outcome, candidate));
                }
            }
        }
    }
    match last {
        Some((outcome, candidate)) => {
            let limit = idle_limit(&policy, &idle, candidate);
            finish(outcome, &policy, limit, endpoint, &exchange)
        }
        None if skipped > 0 => Err(Error::unavailable(format!(
            "every candidate for this model is failing (circuit open for {skipped} of {}); try again shortly",
            candidates.len()
        ))),
        None => Err(Error::timeout(
            "the request deadline passed before any attempt",
        )),
    }
}

async fn attempt<S, B>(
    inner: S,
    req: Request<B>,
    deadline: Option<Instant>,
) -> Result<Response<Body>, Error>
where
    S: Service<Request<B>, Response = Response<Body>, Error = Error> + Clone,
    B: From<Bytes>,
{
    let call = inner.oneshot(req);
    match deadline {
        None => call.await,
        Some(d) => match tokio::time::timeout_at(d, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::timeout("the request's total deadline passed")),
        },
    }
}

fn log_retry(candidate: &Candidate, outcome: &Result<Response<Body>, Error>) {
    match outcome {
        Ok(res) => {
            tracing::info!(provider = %candidate.provider, model = %candidate.model, status = res.status().as_u16(), "attempt failed; retrying")
        }
        Err(e) => {
            tracing::info!(provider = %candidate.provider, model = %candidate.model, error = %e, "attempt failed; retrying")
        }
    }
}

fn idle_limit(
    policy: &FailoverPolicy,
    idle: &HashMap<Arc<str>, Duration>,
    c: &Candidate,
) -> Option<Duration> {
    idle.get(&c.provider)
        .copied()
        .or_else(|| policy.idle_timeout_secs.map(Duration::from_secs_f64))
}

fn finish(
    outcome: Result<Response<Body>, Error>,
    policy: &FailoverPolicy,
    idle: Option<Duration>,
    endpoint: switchyard_core::Endpoint,
    exchange: &Arc<switchyard_core::Exchange>,
) -> Result<Response<Body>, Error> {
    let mut res = outcome?;
    let count = exchange.attempt_count().max(1);
    res.headers_mut()
        .insert(ATTEMPTS_NAME, HeaderValue::from(count));
    let is_sse = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if is_sse && res.status() == StatusCode::OK {
        let limits = GuardLimits {
            idle,
            min_rate: policy.min_events_per_sec,
            grace: Duration::from_secs_f64(policy.min_rate_grace_secs),
        };
        let flavor = ErrorEvent::for_endpoint(endpoint);
        res = res.map(|b| Body::new(StreamGuard::new(b, flavor, limits, Some(exchange.clone()))));
        res.headers_mut().remove(http::header::CONTENT_LENGTH);
    }
    Ok(res)
}

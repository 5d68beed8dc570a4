//! Refusals in the client's shape, and the `x-ratelimit-*` headers.

use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use switchyard_core::{Cost, ErrorClass, ErrorType, Protocol, Rejection};

use crate::body::LimitBody;
use crate::check::{Check, Unit};
use crate::period::Period;

fn header(unit: Unit, what: &str) -> Option<HeaderName> {
    // Consts: `from_static` validates and hashes at compile time, not per answer.
    const LIMIT_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-limit-requests");
    const REMAINING_REQUESTS: HeaderName =
        HeaderName::from_static("x-ratelimit-remaining-requests");
    const RESET_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-reset-requests");
    const LIMIT_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-limit-tokens");
    const REMAINING_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-remaining-tokens");
    const RESET_TOKENS: HeaderName = HeaderName::from_static("x-ratelimit-reset-tokens");
    Some(match (unit, what) {
        (Unit::Requests, "limit") => LIMIT_REQUESTS,
        (Unit::Requests, "remaining") => REMAINING_REQUESTS,
        (Unit::Requests, "reset") => RESET_REQUESTS,
        (Unit::Tokens, "limit") => LIMIT_TOKENS,
        (Unit::Tokens, "remaining") => REMAINING_TOKENS,
        (Unit::Tokens, "reset") => RESET_TOKENS,
        _ => return None,
    })
}

/// `x-ratelimit-limit-*` and `x-ratelimit-remaining-*` of the tightest request and token limits.
pub(crate) fn rate_headers(headers: &mut HeaderMap, checks: &[Check], remaining: &[u64]) {
    for unit in [Unit::Requests, Unit::Tokens] {
        let tightest = checks
            .iter()
            .zip(remaining)
            .filter(|(c, _)| c.unit == unit)
            .min_by_key(|(_, r)| **r);
        if let Some((c, r)) = tightest {
            if let Some(name) = header(unit, "limit") {
                headers.insert(name, HeaderValue::from(c.limit.cap));
            }
            if let Some(name) = header(unit, "remaining") {
                headers.insert(name, HeaderValue::from((*r).min(c.limit.cap)));
            }
        }
    }
}

fn per(period: Period) -> &'static str {
    match period {
        Period::Minute => "per minute",
        Period::Day => "for this UTC day",
        Period::Month => "for this UTC month",
    }
}

/// The 429 for check `c`, whose next unit fits in `retry_ms` (`None`: never).
pub(crate) fn refusal<B>(
    c: &Check,
    retry_ms: Option<u64>,
    left: Option<u64>,
    protocol: Protocol,
) -> (Response<LimitBody<B>>, ErrorClass) {
    let who = format!("{} `{}`", c.scope.as_str(), c.subject);
    let secs = retry_ms.map(|ms| ms.div_ceil(1000).max(1));
    let (message, code, class) = if c.is_budget() {
        let cap = Cost::from_nanos(c.limit.cap);
        let need = Cost::from_nanos(c.amount);
        let left = left.map_or(String::new(), |l| {
            format!("; ${} left", Cost::from_nanos(l))
        });
        let msg = format!(
            "budget of {who} {} (${cap}) cannot cover this request (${need} reserved for its input and max output tokens){left}",
            per(c.limit.period)
        );
        (msg, "insufficient_quota", ErrorClass::Budget)
    } else if retry_ms.is_none() {
        let msg = format!(
            "this request needs {} {}, more than the limit of {who}: {} {}",
            c.amount,
            c.unit.as_str(),
            c.limit.cap,
            per(c.limit.period)
        );
        (msg, "rate_limit_exceeded", ErrorClass::RateLimited)
    } else {
        let msg = format!(
            "rate limit of {who} reached: {} {} {}",
            c.limit.cap,
            c.unit.as_str(),
            per(c.limit.period)
        );
        (msg, "rate_limit_exceeded", ErrorClass::RateLimited)
    };
    let message = match secs {
        Some(s) => format!("{message}; retry in {s} s"),
        None => message,
    };
    let mut rejection =
        Rejection::new(StatusCode::TOO_MANY_REQUESTS, ErrorType::RateLimit, message).code(code);
    if let Some(s) = secs {
        rejection = rejection.retry_after(s);
    }
    let mut res: Response<LimitBody<B>> = rejection.into_response(protocol);
    let h = res.headers_mut();
    if let Some(name) = header(c.unit, "limit") {
        h.insert(name, HeaderValue::from(c.limit.cap));
    }
    if let Some(name) = header(c.unit, "remaining") {
        h.insert(name, HeaderValue::from(left.unwrap_or(0).min(c.limit.cap)));
    }
    if let (Some(name), Some(s)) = (header(c.unit, "reset"), secs)
        && let Ok(v) = HeaderValue::try_from(format!("{s}s"))
    {
        h.insert(name, v);
    }
    // A budget does not come back by retrying soon, nor does an oversized request:
    // tell the OpenAI and Anthropic SDKs not to retry.
    if c.is_budget() || retry_ms.is_none() {
        h.insert("x-should-retry", HeaderValue::from_static("false"));
    }
    (res, class)
}

/// The 503 when the shared store is down and the policy is to fail closed.
pub(crate) fn unavailable<B>(protocol: Protocol) -> Response<LimitBody<B>> {
    Rejection::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorType::Gateway,
        "rate limits cannot be checked right now (the limit store is unreachable); retry shortly",
    )
    .code("limit_store_unavailable")
    .retry_after(1)
    .into_response(protocol)
}

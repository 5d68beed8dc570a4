//! The [`ErrorClass`] of a finished exchange.

use switchyard_core::{ErrorClass, ExchangeState};

use crate::record::Outcome;

/// The class of failure of an exchange that ended with `status` and `outcome`,
/// or `None` for a success (a client going away is not a failure).
///
/// A class a layer recorded in the exchange wins. Otherwise: a broken stream
/// is `stream_truncated`; a 429 is `rate_limited`; a status the last upstream
/// attempt answered is `upstream_4xx` / `upstream_5xx`; the gateway's own 401
/// and 403 are `auth`, 402 `budget`, other 4xx `client_error`, 502 and 503
/// `upstream_5xx`, 504 `upstream_timeout`, other 5xx `gateway_internal`.
pub fn classify(status: u16, outcome: Outcome, exchange: &ExchangeState) -> Option<ErrorClass> {
    if let Some(class) = exchange.error_class {
        return Some(class);
    }
    if outcome == Outcome::StreamError {
        return Some(ErrorClass::StreamTruncated);
    }
    if status < 400 {
        return None;
    }
    let from_upstream = exchange.attempts.last().and_then(|a| a.status) == Some(status);
    Some(match status {
        429 => ErrorClass::RateLimited,
        400..=499 if from_upstream => ErrorClass::Upstream4xx,
        500..=599 if from_upstream => ErrorClass::Upstream5xx,
        401 | 403 => ErrorClass::Auth,
        402 => ErrorClass::Budget,
        400..=499 => ErrorClass::ClientError,
        502 | 503 => ErrorClass::Upstream5xx,
        504 => ErrorClass::UpstreamTimeout,
        _ => ErrorClass::GatewayInternal,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchyard_core::{Attempt, Candidate};

    use super::*;

    #[test]
    fn classes() {
        let none = ExchangeState::default();
        let mut upstream = ExchangeState::default();
        upstream.attempts.push(Attempt {
            candidate: Candidate::new("p", "m"),
            status: Some(404),
            error: Some("upstream_status_404".into()),
            duration: Duration::ZERO,
        });
        let c = |s, o, e| classify(s, o, e).map(ErrorClass::as_str);
        assert_eq!(c(200, Outcome::Completed, &none), None);
        assert_eq!(c(200, Outcome::ClientDisconnected, &none), None);
        assert_eq!(
            c(200, Outcome::StreamError, &none),
            Some("stream_truncated")
        );
        assert_eq!(c(404, Outcome::Completed, &none), Some("client_error"));
        assert_eq!(c(404, Outcome::Completed, &upstream), Some("upstream_4xx"));
        assert_eq!(c(429, Outcome::Completed, &upstream), Some("rate_limited"));
        assert_eq!(c(401, Outcome::Completed, &none), Some("auth"));
        assert_eq!(c(504, Outcome::Failed, &none), Some("upstream_timeout"));
        assert_eq!(c(500, Outcome::Completed, &none), Some("gateway_internal"));
        let budget = ExchangeState {
            error_class: Some(ErrorClass::Budget),
            ..ExchangeState::default()
        };
        assert_eq!(c(429, Outcome::Completed, &budget), Some("budget"));
    }
}

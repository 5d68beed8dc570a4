//! [`FailoverPolicy`]: when to retry, how long to wait, when to stop.

use std::time::Duration;

use http::{HeaderMap, Response, StatusCode};
use serde::{Deserialize, Serialize};
use switchyard_core::Error;

/// How the failover layer retries. Deserialises from the `[failover]` config table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FailoverPolicy {
    /// Attempts per request in all, across candidates (1 = no retry).
    pub max_attempts: u32,
    /// Attempts on one candidate before moving to the next.
    pub attempts_per_candidate: u32,
    /// First backoff before a retry, in milliseconds; doubles each retry, with full jitter.
    pub backoff_base_ms: u64,
    /// Largest backoff, in milliseconds.
    pub backoff_max_ms: u64,
    /// Largest `Retry-After` honoured, in seconds; an upstream asking for longer is not retried.
    pub retry_after_cap_secs: f64,
    /// Deadline for the whole request (every attempt and wait), in seconds; none if unset.
    pub total_timeout_secs: Option<f64>,
    /// Longest silence between two chunks of a streamed answer, in seconds; none if unset.
    pub idle_timeout_secs: Option<f64>,
    /// Slow-stream guard: cut a stream whose events per second (≈ tokens per second)
    /// after the first fall below this, measured once `min_rate_grace_secs` have passed.
    pub min_events_per_sec: Option<f64>,
    /// Time after the first event before the slow-stream guard judges, in seconds.
    pub min_rate_grace_secs: f64,
    /// Circuit breaker settings.
    pub circuit: CircuitPolicy,
}

impl Default for FailoverPolicy {
    fn default() -> Self {
        FailoverPolicy {
            max_attempts: 3,
            attempts_per_candidate: 1,
            backoff_base_ms: 100,
            backoff_max_ms: 2_000,
            retry_after_cap_secs: 10.0,
            total_timeout_secs: None,
            idle_timeout_secs: Some(120.0),
            min_events_per_sec: None,
            min_rate_grace_secs: 5.0,
            circuit: CircuitPolicy::default(),
        }
    }
}

/// When a target's circuit opens, and for how long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitPolicy {
    /// Whether circuits open at all.
    pub enabled: bool,
    /// Consecutive failures that open the circuit.
    pub consecutive_failures: u32,
    /// Failure ratio over the last `window` outcomes that opens the circuit.
    pub error_rate: f64,
    /// How many recent outcomes the error rate looks at.
    pub window: u32,
    /// Fewest outcomes in the window before the error rate counts.
    pub min_requests: u32,
    /// How long an open circuit stays open before a trial request, in seconds.
    pub cooldown_secs: f64,
}

impl Default for CircuitPolicy {
    fn default() -> Self {
        CircuitPolicy {
            enabled: true,
            consecutive_failures: 5,
            error_rate: 0.5,
            window: 20,
            min_requests: 10,
            cooldown_secs: 30.0,
        }
    }
}

impl FailoverPolicy {
    /// Checks the numbers; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("`max_attempts` must be at least 1".into());
        }
        if self.attempts_per_candidate == 0 {
            return Err("`attempts_per_candidate` must be at least 1".into());
        }
        if self.backoff_max_ms < self.backoff_base_ms {
            return Err("`backoff_max_ms` must be at least `backoff_base_ms`".into());
        }
        let positive = [
            ("retry_after_cap_secs", Some(self.retry_after_cap_secs)),
            ("total_timeout_secs", self.total_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("min_events_per_sec", self.min_events_per_sec),
            ("circuit.cooldown_secs", Some(self.circuit.cooldown_secs)),
        ];
        for (name, v) in positive {
            if let Some(v) = v
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(format!("`{name}` must be a non-negative number, got {v}"));
            }
        }
        if !(0.0..=1.0).contains(&self.circuit.error_rate) {
            return Err("`circuit.error_rate` must be between 0 and 1".into());
        }
        if self.circuit.enabled && self.circuit.consecutive_failures == 0 {
            return Err("`circuit.consecutive_failures` must be at least 1".into());
        }
        Ok(())
    }

    /// Backoff before retry number `retry` (1 = first retry): full jitter over an exponential cap.
    pub fn backoff(&self, retry: u32) -> Duration {
        let cap = self
            .backoff_base_ms
            .saturating_mul(1u64 << retry.saturating_sub(1).min(20))
            .min(self.backoff_max_ms);
        Duration::from_millis(fastrand::u64(0..=cap))
    }

    pub(crate) fn retry_after_cap(&self) -> Duration {
        Duration::from_secs_f64(self.retry_after_cap_secs)
    }
}

/// What an attempt's outcome means for the next step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A final answer the client gets (2xx, or an error another attempt would not fix).
    Final,
    /// A failure another attempt may fix; `retry_after` if the upstream asked for a wait.
    Retry {
        /// The upstream's `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
}

/// Statuses another attempt may fix: rate limits, server errors, overload (529).
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        408 | 409 | 429 | 500 | 502 | 503 | 504 | 529
    )
}

/// Judges one attempt's outcome.
pub fn judge<B>(outcome: &Result<Response<B>, Error>) -> Verdict {
    match outcome {
        Ok(res) if is_retryable_status(res.status()) => Verdict::Retry {
            retry_after: retry_after(res.headers()),
        },
        Ok(_) => Verdict::Final,
        Err(e) if e.is_retryable() => Verdict::Retry { retry_after: None },
        Err(_) => Verdict::Final,
    }
}

/// Whether an outcome counts against the target's health (circuit breaker).
pub fn is_health_failure<B>(outcome: &Result<Response<B>, Error>) -> bool {
    match outcome {
        Ok(res) => res.status().is_server_error() || res.status() == StatusCode::TOO_MANY_REQUESTS,
        Err(e) => e.is_retryable(),
    }
}

/// Reads `retry-after-ms` (OpenAI) or `retry-after` in seconds.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    if let Some(ms) = get("retry-after-ms").filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after")
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(status: u16, headers: &[(&str, &str)]) -> Result<Response<()>, Error> {
        let mut r = Response::builder().status(status);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        Ok(r.body(()).unwrap())
    }

    #[test]
    fn verdicts() {
        for s in [429, 500, 502, 503, 504, 529] {
            assert!(matches!(judge(&res(s, &[])), Verdict::Retry { .. }), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 422] {
            assert_eq!(judge(&res(s, &[])), Verdict::Final, "{s}");
        }
        assert_eq!(
            judge(&res(429, &[("retry-after", "7")])),
            Verdict::Retry {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(
            judge(&res(
                429,
                &[("retry-after", "7"), ("retry-after-ms", "250")]
            )),
            Verdict::Retry {
                retry_after: Some(Duration::from_millis(250))
            }
        );
        assert_eq!(
            judge::<()>(&Err(Error::connect("x"))),
            Verdict::Retry { retry_after: None }
        );
        assert_eq!(judge::<()>(&Err(Error::internal("x"))), Verdict::Final);
        assert!(!is_health_failure(&res(404, &[])));
        assert!(is_health_failure(&res(503, &[])));
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let p = FailoverPolicy {
            backoff_base_ms: 100,
            backoff_max_ms: 1000,
            ..Default::default()
        };
        for retry in 1..30 {
            let cap = (100u64 << (retry - 1).min(20)).min(1000);
            for _ in 0..50 {
                assert!(p.backoff(retry) <= Duration::from_millis(cap));
            }
        }
        let spread: std::collections::HashSet<_> = (0..100).map(|_| p.backoff(3)).collect();
        assert!(spread.len() > 10, "jitter spreads retries");
    }

    #[test]
    fn validation_names_fields() {
        let mut p = FailoverPolicy::default();
        assert!(p.validate().is_ok());
        p.max_attempts = 0;
        assert!(p.validate().unwrap_err().contains("max_attempts"));
        let p = FailoverPolicy {
            circuit: CircuitPolicy {
                error_rate: 2.0,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(p.validate().unwrap_err().contains("circuit.error_rate"));
    }
}

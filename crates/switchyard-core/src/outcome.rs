//! How an exchange ended, for journals and metrics: [`ErrorClass`] and [`Cost`].

use std::fmt;
use std::ops::{Add, AddAssign};

/// The class of a failed exchange: one closed set, shared by journals and metrics.
///
/// Layers that refuse a request for a reason the status cannot tell (a budget
/// refusal is a 429 like a rate limit) record it with
/// [`Exchange::set_error_class`](crate::Exchange::set_error_class); otherwise
/// the recorder derives it from the status and where the answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// The gateway refused a malformed or unroutable request (400, 404, 405, 413, 422).
    ClientError,
    /// A missing, unknown or unauthorised key (401, 403).
    Auth,
    /// A rate limit, the gateway's or the upstream's (429).
    RateLimited,
    /// A spending budget is used up.
    Budget,
    /// The upstream answered a 4xx other than 429.
    Upstream4xx,
    /// The upstream answered a 5xx, or broke the protocol, or no upstream was available.
    Upstream5xx,
    /// The upstream sent nothing within the timeout.
    UpstreamTimeout,
    /// The upstream could not be reached.
    UpstreamConnect,
    /// A stream broke off after it started (upstream error mid-stream).
    StreamTruncated,
    /// A bug or a misassembled stack.
    GatewayInternal,
    /// The prompt guard refused the request (a secret or PII its policy blocks).
    GuardBlocked,
}

impl ErrorClass {
    /// Every class, in a stable order.
    pub const ALL: [ErrorClass; 11] = [
        ErrorClass::ClientError,
        ErrorClass::Auth,
        ErrorClass::RateLimited,
        ErrorClass::Budget,
        ErrorClass::Upstream4xx,
        ErrorClass::Upstream5xx,
        ErrorClass::UpstreamTimeout,
        ErrorClass::UpstreamConnect,
        ErrorClass::StreamTruncated,
        ErrorClass::GatewayInternal,
        ErrorClass::GuardBlocked,
    ];

    /// The stable name used in journals, metrics and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::ClientError => "client_error",
            ErrorClass::Auth => "auth",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::Budget => "budget",
            ErrorClass::Upstream4xx => "upstream_4xx",
            ErrorClass::Upstream5xx => "upstream_5xx",
            ErrorClass::UpstreamTimeout => "upstream_timeout",
            ErrorClass::UpstreamConnect => "upstream_connect",
            ErrorClass::StreamTruncated => "stream_truncated",
            ErrorClass::GatewayInternal => "gateway_internal",
            ErrorClass::GuardBlocked => "guard_blocked",
        }
    }

    /// The class named `name` (the inverse of [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<ErrorClass> {
        ErrorClass::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The class of a failure the stack itself produced.
    pub fn of_kind(kind: crate::ErrorKind) -> ErrorClass {
        match kind {
            crate::ErrorKind::Connect => ErrorClass::UpstreamConnect,
            crate::ErrorKind::Timeout => ErrorClass::UpstreamTimeout,
            crate::ErrorKind::Upstream | crate::ErrorKind::Unavailable => ErrorClass::Upstream5xx,
            _ => ErrorClass::GatewayInternal,
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of US dollars, held as whole nano-dollars so sums are exact.
///
/// ```
/// use switchyard_core::Cost;
/// let per_token = Cost::from_usd(2.50 / 1e6); // $2.50 per million tokens
/// assert_eq!(per_token.nanos(), 2_500);
/// assert_eq!((per_token + per_token).usd(), 0.000005);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cost(u64);

impl Cost {
    /// Zero dollars.
    pub const ZERO: Cost = Cost(0);

    /// An amount of nano-dollars.
    pub const fn from_nanos(nanos: u64) -> Cost {
        Cost(nanos)
    }

    /// An amount of dollars, rounded to the nearest nano-dollar (negative and NaN are 0).
    pub fn from_usd(usd: f64) -> Cost {
        let nanos = (usd * 1e9).round();
        if nanos.is_nan() || nanos <= 0.0 {
            Cost(0)
        } else if nanos >= u64::MAX as f64 {
            Cost(u64::MAX)
        } else {
            Cost(nanos as u64)
        }
    }

    /// The amount in nano-dollars.
    pub const fn nanos(self) -> u64 {
        self.0
    }

    /// The amount in dollars.
    pub fn usd(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl Add for Cost {
    type Output = Cost;

    fn add(self, rhs: Cost) -> Cost {
        Cost(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, rhs: Cost) {
        *self = *self + rhs;
    }
}

impl fmt::Display for Cost {
    /// Dollars with up to nine decimals, trailing zeros removed: `0.0000125`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 1_000_000_000;
        let frac = self.0 % 1_000_000_000;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:09}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_rounds_and_prints() {
        assert_eq!(Cost::from_usd(0.0000125).to_string(), "0.0000125");
        assert_eq!(Cost::from_usd(3.0).to_string(), "3");
        assert_eq!(Cost::from_usd(-1.0), Cost::ZERO);
        assert_eq!(Cost::from_usd(f64::NAN), Cost::ZERO);
        assert_eq!(Cost::from_nanos(1_500_000_001).to_string(), "1.500000001");
    }

    #[test]
    fn error_class_names_round_trip() {
        for c in ErrorClass::ALL {
            assert_eq!(ErrorClass::from_name(c.as_str()), Some(c));
        }
        assert_eq!(ErrorClass::from_name("nope"), None);
    }
}

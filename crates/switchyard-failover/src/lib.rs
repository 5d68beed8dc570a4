//! FailoverLayer of the Switchyard LLM gateway: tries a request's ordered
//! candidates until one answers, with retries, backoff, circuit breakers and
//! a guard that ends a broken stream with a protocol-correct error event.
//!
//! - [`FailoverLayer`]: the tower layer; sits between routing and the providers.
//! - [`FailoverPolicy`]: attempts, backoff, `Retry-After` cap, deadlines,
//!   idle and slow-stream limits (the `[failover]` config table).
//! - [`Circuits`]: a breaker per target (provider + model), shared across
//!   config reloads, reporting to the core `HealthBoard` routing reads.
//! - [`StreamGuard`]: the body wrapper that never passes a broken stream off as a clean end.
//! - [`Prober`]: active health checks feeding the same board.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attempt;
mod circuit;
mod guard;
mod layer;
pub mod metrics;
mod policy;
mod probe;

pub use circuit::{CircuitSnapshot, CircuitState, Circuits};
pub use guard::{ErrorEvent, GuardLimits, StreamGuard};
pub use layer::{Failover, FailoverLayer};
pub use policy::{CircuitPolicy, FailoverPolicy, Verdict, is_retryable_status, judge, retry_after};
pub use probe::{ProbeTarget, Prober};

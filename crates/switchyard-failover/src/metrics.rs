//! Health metrics (through the `metrics` facade; no-ops when no recorder is installed).

use switchyard_core::Candidate;

use crate::circuit::CircuitState;

/// Gauge per target: 0 closed, 1 half-open, 2 open.
pub const CIRCUIT_STATE: &str = "switchyard_circuit_state";
/// Gauge per provider: 1 while active probes pass, 0 while they fail.
pub const PROVIDER_UP: &str = "switchyard_provider_up";
/// Counter per target that served: requests that succeeded only after a failed attempt.
pub const MITIGATED: &str = "switchyard_requests_mitigated_total";

/// Registers descriptions (call once, after installing a recorder).
pub fn describe() {
    metrics::describe_gauge!(
        CIRCUIT_STATE,
        "Circuit breaker state per target: 0 closed, 1 half-open, 2 open."
    );
    metrics::describe_gauge!(
        PROVIDER_UP,
        "1 while a provider's active health probes pass, 0 while they fail."
    );
    metrics::describe_counter!(
        MITIGATED,
        "Requests that succeeded only after failing over or retrying."
    );
}

pub(crate) fn circuit(c: &Candidate, state: CircuitState) {
    let value = match state {
        CircuitState::Closed => 0.0,
        CircuitState::HalfOpen => 1.0,
        CircuitState::Open => 2.0,
    };
    metrics::gauge!(CIRCUIT_STATE, "provider" => c.provider.to_string(), "model" => c.model.to_string()).set(value);
}

pub(crate) fn provider_up(provider: &str, up: bool) {
    metrics::gauge!(PROVIDER_UP, "provider" => provider.to_owned()).set(if up { 1.0 } else { 0.0 });
}

pub(crate) fn mitigated(c: &Candidate) {
    metrics::counter!(MITIGATED, "provider" => c.provider.to_string(), "model" => c.model.to_string()).increment(1);
}

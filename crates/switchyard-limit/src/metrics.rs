//! Limit metrics (through the `metrics` facade; no-ops when no recorder is installed).

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use crate::check::{Scope, Unit};
use crate::store::LimitKey;

/// Counter: requests refused, by `reason` (`rate_limited`, `budget`,
/// `store_unavailable`), `scope` (`key`, `team`, `model`) and `unit`
/// (`requests`, `tokens`, `usd`).
pub const REFUSALS: &str = "switchyard_limit_refusals_total";
/// Counter: shared-store calls that failed, by `policy` (`open`: the request
/// was admitted anyway; `closed`: it was refused with 503; `sync`: background).
pub const STORE_ERRORS: &str = "switchyard_limit_store_errors_total";
/// Counter: shared-store calls made, by `path` (`admit`: a request waited on
/// it; `sync`: the background synchronisation).
pub const STORE_CALLS: &str = "switchyard_limit_store_calls_total";
/// Counter: streams ended early because their running cost crossed the budget.
pub const CUTOFFS: &str = "switchyard_limit_stream_cutoffs_total";
/// Gauge: USD left of a budget when its last request settled (in-memory
/// store), by `limit` (`<scope>:<subject>:usd:<day|month>`).
pub const BUDGET_REMAINING: &str = "switchyard_limit_budget_remaining_usd";

/// Registers descriptions (call once, after installing a recorder).
pub fn describe() {
    metrics::describe_counter!(REFUSALS, "Requests refused by rate limits and budgets.");
    metrics::describe_counter!(
        STORE_ERRORS,
        "Calls to the shared limit store (Redis) that failed."
    );
    metrics::describe_counter!(
        STORE_CALLS,
        "Calls to the shared limit store, by path (admit: a request waited; sync: background)."
    );
    metrics::describe_counter!(
        CUTOFFS,
        "Streams ended with an error event because their cost crossed the remaining budget."
    );
    metrics::describe_gauge!(
        BUDGET_REMAINING,
        "USD left of a budget when its last request settled."
    );
}

pub(crate) fn refused(reason: &'static str, scope: Scope, unit: Unit) {
    metrics::counter!(REFUSALS, "reason" => reason, "scope" => scope.as_str(), "unit" => unit.as_str())
        .increment(1);
}

pub(crate) fn store_error(policy: &'static str) {
    metrics::counter!(STORE_ERRORS, "policy" => policy).increment(1);
}

pub(crate) fn store_call(path: &'static str) {
    metrics::counter!(STORE_CALLS, "path" => path).increment(1);
}

pub(crate) fn cutoff() {
    metrics::counter!(CUTOFFS).increment(1);
}

/// The [`BUDGET_REMAINING`] gauges, one handle per budget: settling a
/// request sets a gauge without formatting its label or hashing it into the
/// registry again.
#[derive(Default)]
pub(crate) struct BudgetGauges(
    RwLock<HashMap<LimitKey, metrics::Gauge, foldhash::fast::RandomState>>,
);

impl BudgetGauges {
    pub(crate) fn set(&self, limit: &LimitKey, usd: f64) {
        if let Some(gauge) = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(limit)
        {
            gauge.set(usd);
            return;
        }
        let gauge = metrics::gauge!(BUDGET_REMAINING, "limit" => limit.to_string());
        gauge.set(usd);
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(limit.clone(), gauge);
    }
}

impl std::fmt::Debug for BudgetGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BudgetGauges")
    }
}

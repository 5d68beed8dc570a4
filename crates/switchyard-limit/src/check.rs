//! [`Check`]: one limit a request must fit under, and what it spends of it.

use std::sync::Arc;

use crate::period::Period;
use crate::store::{Limit, LimitKey};

/// Whose limit it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A client key (its `Identity.quota`, or `[limits.keys]`).
    Key,
    /// A team (`[limits.teams.<team>]`).
    Team,
    /// A model (`[limits.models."<glob>"]`), counted per routed model.
    Model,
}

impl Scope {
    /// `key`, `team` or `model`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Key => "key",
            Scope::Team => "team",
            Scope::Model => "model",
        }
    }
}

/// What a limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Requests.
    Requests,
    /// Tokens, input and output.
    Tokens,
    /// Spend, counted in nano-dollars.
    Usd,
}

impl Unit {
    /// `requests`, `tokens` or `usd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Requests => "requests",
            Unit::Tokens => "tokens",
            Unit::Usd => "usd",
        }
    }

    pub(crate) fn short(self) -> &'static str {
        match self {
            Unit::Requests => "req",
            Unit::Tokens => "tok",
            Unit::Usd => "usd",
        }
    }
}

/// One limit a request must fit under: whose, what, the counter, and how much the request spends.
#[derive(Clone, Debug)]
pub struct Check {
    /// Whose limit.
    pub scope: Scope,
    /// The key id, team or model.
    pub subject: Arc<str>,
    /// What it counts.
    pub unit: Unit,
    /// The counter and its capacity.
    pub limit: Limit,
    /// What this request reserves (at least 1).
    pub amount: u64,
}

impl Check {
    /// A check of `amount` against `cap` units of `unit` per `period` for `subject`.
    pub fn new(
        scope: Scope,
        subject: &Arc<str>,
        unit: Unit,
        period: Period,
        cap: u64,
        amount: u64,
    ) -> Check {
        Check {
            scope,
            subject: subject.clone(),
            unit,
            limit: Limit {
                name: LimitKey {
                    scope,
                    subject: subject.clone(),
                    unit,
                    period,
                },
                period,
                cap,
            },
            amount: amount.max(1),
        }
    }

    /// Whether this is a budget (spend) rather than a rate.
    pub fn is_budget(&self) -> bool {
        self.unit == Unit::Usd
    }
}
